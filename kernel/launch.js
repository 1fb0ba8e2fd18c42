#!/usr/bin/env node
// The kernel command named in kernel.json. It starts the kernel in a process group of its own and
// forwards signals to it: jupyter_client interrupts by sending SIGINT to the whole process group,
// which would also kill the esbuild service that tsx uses to load .ts files, so imports after the
// first interrupt would fail with "The service is no longer running".
const { spawn } = require('node:child_process');
const { Worker } = require('node:worker_threads');

const CHILD_FLAG = 'PITLAB_KERNEL_CHILD';

if (process.env[CHILD_FLAG] !== '1') {
  const child = spawn(process.execPath, [__filename, ...process.argv.slice(2)], {
    detached: true,
    stdio: 'inherit',
    env: { ...process.env, [CHILD_FLAG]: '1' },
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(sig, () => child.kill(sig));
  }
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
} else {
  // If the launcher dies (even by SIGKILL), end this process too, busy or not: a worker thread
  // keeps watching while the main thread may be stuck in a cell.
  const watchdog = new Worker(
    `const { workerData } = require('node:worker_threads');
     setInterval(() => {
       try { process.kill(workerData.ppid, 0); } catch { process.kill(process.pid, 'SIGKILL'); }
     }, 1000);`,
    { eval: true, workerData: { ppid: process.ppid } },
  );
  watchdog.unref();
  // TypeScript's compiler is loaded before tsx's require hook so the hook never looks at it;
  // after that, pitlab's .ts sources load without a build.
  require('tslab/dist/converter');
  require('tsx/cjs');
  require('./main.ts').main(process.argv.slice(2));
}
