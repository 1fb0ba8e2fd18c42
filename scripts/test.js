#!/usr/bin/env node
// `npm test`: formatter + linter, type check, every uvu suite under tests/ (each file in its own
// process), the model and training suites again on webgpu, the kernel under Jupyter, and the
// tutorial notebooks. Prints one closing line "Tests: N passed, N failed, N skipped" and exits
// non-zero on any failure.
//
// Nothing here can hang the run: every step streams its output as it comes (so a log shows where
// it stopped), runs in its own process group under a time limit, and is killed with everything it
// started (stage workers, kernels) when the limit passes or when it exits leaving children behind
// that still hold its output pipe. A killed step is a failure that names the file or step.
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const bin = (name) => path.join(root, 'node_modules', '.bin', name);
const only = process.argv[2]; // optional regex to run a subset of test files
const seconds = (name, fallback) => Number(process.env[name] ?? fallback);
// A uvu file takes at most ~2 min on wasm and ~4 on lavapipe; the notebooks ~5 min together.
const FILE_LIMIT_S = seconds('PITLAB_TEST_FILE_TIMEOUT_S', 600);
const STEP_LIMIT_S = seconds('PITLAB_TEST_STEP_TIMEOUT_S', 1200);
// How long a uvu process may stay alive after printing its summary.
const LINGER_S = seconds('PITLAB_TEST_LINGER_S', 30);
// The whole run stays inside CI's 90 minutes even if several things hang.
const deadline = Date.now() + seconds('PITLAB_TEST_BUDGET_S', 75 * 60) * 1000;

const totals = { passed: 0, failed: 0, skipped: 0 };
let ok = true;
const fail = (why, count = 1) => {
  console.log(`✗ ${why}`);
  totals.failed += count;
  ok = false;
};

/** Kills a process group, ignoring one that is already gone. */
function killGroup(pid) {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // already exited
  }
}

/**
 * Runs `cmd` in its own process group, echoing its output live. Resolves with its exit status
 * (null when killed) and the output, once it exited and its pipes closed, or `limitS` passed.
 */
function run(cmd, args, { env, limitS, doneMarker }) {
  return new Promise((resolve) => {
    const limit = Math.max(1, Math.min(limitS, (deadline - Date.now()) / 1000));
    const child = spawn(cmd, args, {
      cwd: root,
      env: env ? { ...process.env, ...env } : process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // its own process group, so a kill reaches what it started
    });
    let out = '';
    let status;
    let timedOut = false;
    let lingered = false;
    let lingerTimer;
    child.stdout.on('data', (b) => {
      out += b;
      process.stdout.write(b);
      // The step reported its result; a process still alive LINGER_S later only holds a handle
      // open, so it is killed there instead of at the time limit (its output names the handles).
      if (doneMarker && !lingerTimer && doneMarker.test(out)) {
        lingerTimer = setTimeout(() => {
          lingered = true;
          killGroup(child.pid);
          setTimeout(finish, 5000).unref();
        }, LINGER_S * 1000);
      }
    });
    child.stderr.on('data', (b) => {
      out += b;
      process.stderr.write(b);
    });
    const finish = () => {
      clearTimeout(timer);
      clearTimeout(grace);
      clearTimeout(lingerTimer);
      resolve({ status: timedOut || lingered ? null : status, timedOut, lingered, out, limit });
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child.pid);
      // the pipes close with the group; if something escaped it, do not wait on it
      setTimeout(finish, 5000).unref();
    }, limit * 1000);
    let grace;
    child.on('error', (err) => {
      out += String(err);
      status = 127;
      finish();
    });
    child.on('exit', (code, signal) => {
      status = code ?? (signal ? 128 : 1);
      // A child left behind (a worker, a kernel) could hold the pipes open forever.
      grace = setTimeout(() => {
        killGroup(child.pid);
        finish();
      }, 5000);
    });
    child.on('close', finish);
  });
}

/** One step: a title, a command, and a parser that adds its counts to the totals. */
async function step(title, cmd, args, { parse, env, limitS = STEP_LIMIT_S, doneMarker } = {}) {
  console.log(`\n▶ ${title}`);
  if (Date.now() >= deadline) {
    fail(`${title}: not run, the test budget is spent`);
    return;
  }
  const started = Date.now();
  const res = await run(cmd, args, { env, limitS, doneMarker });
  const took = `${Math.round((Date.now() - started) / 1000)} s`;
  if (res.timedOut) {
    fail(`${title}: no result within ${Math.round(res.limit)} s, killed with its processes`);
    return;
  }
  if (parse) parse(res.out);
  if (res.lingered) {
    // Every test ran and reported (counted above); only the process's exit is missing.
    console.log(
      `⚠ ${title}: still running ${LINGER_S} s after its summary, killed. A handle report above ` +
        'names what held it open; without one, its event loop was blocked (e.g. a native teardown)',
    );
    return;
  }
  console.log(`  (${took})`);
  if (res.status !== 0) {
    ok = false;
    if (!parse) totals.failed += 1;
    console.log(`✗ ${title} failed (exit ${res.status})`);
  } else if (!parse) {
    totals.passed += 1;
  }
}

/** Adds uvu's closing "Total: N / Passed: N / Skipped: N" to the totals. */
function uvuCounts(out) {
  const num = (re) => Number((out.match(re) ?? [])[1] ?? 0);
  const total = num(/Total:\s+(\d+)/);
  const passed = num(/Passed:\s+(\d+)/);
  const skipped = num(/Skipped:\s+(\d+)/);
  totals.passed += passed;
  totals.skipped += skipped;
  totals.failed += Math.max(0, total - passed - skipped);
  if (total === 0) fail('no uvu test ran');
}

/** Test files under tests/ (paths relative to it) whose path matches `pattern`. */
function testFiles(pattern) {
  const re = new RegExp(pattern, 'i');
  const walk = (dir) =>
    fs
      .readdirSync(path.join(root, 'tests', dir), { withFileTypes: true })
      .flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]));
  return walk('')
    .filter((f) => /\.test\.ts$/.test(f) && re.test(f))
    .sort();
}

/** Each matching uvu file in its own process, so a hang or crash names its file. */
async function uvuFiles(title, pattern, env) {
  const files = testFiles(pattern);
  if (files.length === 0) fail(`${title}: no test file matches ${pattern}`);
  for (const file of files) {
    const exact = `^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`;
    const args = ['tests', exact, '-r', 'tsx/cjs', '-r', path.join(__dirname, 'test-handles.js')];
    await step(`${title}: ${file}`, bin('uvu'), args, {
      parse: uvuCounts,
      env,
      limitS: FILE_LIMIT_S,
      doneMarker: /Duration:\s+[\d.]+m?s/,
    });
  }
}

/** Installs the pitlab kernelspec into a temp prefix; returns its JUPYTER_PATH, or undefined. */
function installKernelspec(what) {
  const prefix = fs.mkdtempSync(path.join(os.tmpdir(), 'pitlab-jupyter-'));
  const install = spawnSync(
    process.execPath,
    [path.join(root, 'bin', 'pitlab.js'), 'install', '--prefix', prefix],
    { cwd: root, encoding: 'utf8', timeout: 120_000 },
  );
  if (install.status !== 0) {
    fail(`${what}: pitlab install failed: ${install.stderr}`);
    fs.rmSync(prefix, { recursive: true, force: true });
    return undefined;
  }
  return prefix;
}

const python = fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
const pythonHas = (modules) =>
  spawnSync(python, ['-c', `import ${modules}`], { encoding: 'utf8', timeout: 60_000 });

async function main() {
  if (!only) {
    await step('format + lint (biome)', bin('biome'), ['check', '.']);
    await step('type check (tsc --strict)', bin('tsc'), ['--noEmit', '-p', '.']);
  }
  await uvuFiles('unit tests (uvu)', only ?? '\\.test\\.ts$');

  // The model, reward-model and training suites again on the webgpu backend (Dawn; lavapipe on
  // CI), in their own processes because the runtime holds one backend per process. No adapter: a
  // loud skip, except under CI=true where .ci/run installs lavapipe and a skip would hide a
  // broken install.
  if (!only || process.env.PITLAB_WEBGPU_PASS) {
    const probe = spawnSync(
      process.execPath,
      [
        '-r',
        'tsx/cjs',
        '-e',
        "process.stdout.write(JSON.stringify(require('./src/runtime/webgpu').probeWebgpuAdapter()))",
      ],
      { cwd: root, encoding: 'utf8', timeout: 120_000 },
    );
    let adapter;
    try {
      adapter = JSON.parse(probe.stdout.trim().split('\n').pop());
    } catch {
      adapter = { ok: false, reason: `probe failed: ${(probe.stderr ?? '').slice(-300)}` };
    }
    const suites = process.env.PITLAB_WEBGPU_SUITES ?? '^(models|train)/.*\\.test\\.ts$';
    if (adapter.ok) {
      console.log(`\n▶ webgpu pass on ${adapter.adapter.description}`);
      await uvuFiles('unit tests on webgpu (PITLAB_BACKEND=webgpu)', suites, {
        PITLAB_BACKEND: 'webgpu',
      });
    } else if (process.env.CI === 'true') {
      fail(`webgpu pass: no adapter under CI (${adapter.reason})`);
    } else {
      console.log(`\n⚠ webgpu pass SKIPPED: no WebGPU adapter (${adapter.reason}).`);
      console.log(
        '  Install Mesa lavapipe (mesa-vulkan-drivers >= 23, Debian bookworm-backports) to run it.',
      );
      totals.skipped += 1;
    }
  }

  // The kernel under Jupyter itself: jupyter_kernel_test's conformance suite (tests/kernel/
  // test_kernel.py) and a plotly notebook exported by nbconvert and screenshotted in headless
  // Chromium (test_notebook_render.py), against a kernelspec installed into a temp prefix. No
  // Jupyter: a loud skip, a failure under CI=true (CI must never pass without running them).
  if (!only || /kernel/.test(only)) {
    const files = ['test_kernel', 'test_notebook_render'];
    const probe = pythonHas('jupyter_kernel_test, nbconvert, nbclient');
    const jupyter = spawnSync('jupyter', ['nbconvert', '--version'], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    if (probe.status === 0 && jupyter.status === 0) {
      const prefix = installKernelspec('kernel tests');
      if (prefix) {
        await step(
          'kernel under Jupyter (jupyter_kernel_test, nbconvert + Chromium)',
          python,
          [
            '-m',
            'unittest',
            'discover',
            '-v',
            '-s',
            path.join('tests', 'kernel'),
            '-p',
            'test_*.py',
          ],
          {
            // unittest closes with "Ran N tests" and "OK (skipped=S)" or "FAILED (failures=F, ...)"
            parse: (out) => {
              const ran = Number((out.match(/^Ran (\d+) tests?/m) ?? [])[1] ?? 0);
              const count = (key) => Number((out.match(new RegExp(`${key}=(\\d+)`)) ?? [])[1] ?? 0);
              const failed = count('failures') + count('errors') + count('unexpected successes');
              const skipped = count('skipped');
              totals.passed += Math.max(0, ran - failed - skipped);
              totals.failed += failed;
              totals.skipped += skipped;
              if (ran === 0) fail('no kernel test ran');
            },
            env: { JUPYTER_PATH: path.join(prefix, 'share', 'jupyter') },
          },
        );
        fs.rmSync(prefix, { recursive: true, force: true });
      }
    } else if (process.env.CI === 'true') {
      fail(
        `kernel tests: Jupyter not found under CI: ${(probe.stderr ?? '').trim()}`,
        files.length,
      );
    } else {
      console.log('\n⚠⚠⚠ kernel tests under Jupyter SKIPPED: Jupyter is not installed. ⚠⚠⚠');
      console.log(
        '  Install: sudo apt-get install jupyter-nbconvert python3-nbclient python3-jupyter-kernel-test chromium',
      );
      totals.skipped += files.length;
    }
  }

  // The tutorial notebooks, run top to bottom by nbclient under the pitlab kernel (installed into
  // a temp prefix) on the smoke profile, all sharing the stage cache: tests/notebooks/execute.py
  // fails a notebook on any error output (type errors included) or without a plotly figure and an
  // HTML table, and prints each one's run time. No Jupyter: a loud skip, a failure under CI=true.
  if (!only || /notebooks/.test(only)) {
    const probe = pythonHas('nbclient, nbformat, jupyter_client');
    if (probe.status === 0) {
      const prefix = installKernelspec('notebooks');
      const notebooks = fs
        .readdirSync(path.join(root, 'notebooks'))
        .filter((f) => /^\d\d-.*\.ipynb$/.test(f))
        .sort()
        .map((f) => path.join('notebooks', f));
      if (prefix) {
        await step(
          'tutorial notebooks (nbclient, pitlab kernel, PITLAB_PROFILE=smoke)',
          python,
          [path.join('tests', 'notebooks', 'execute.py'), ...notebooks],
          {
            parse: (out) => {
              const m = out.match(/Notebooks: (\d+) passed, (\d+) failed/);
              if (!m) return fail('notebooks: the runner did not report');
              totals.passed += Number(m[1]);
              totals.failed += Number(m[2]);
            },
            env: { JUPYTER_PATH: path.join(prefix, 'share', 'jupyter'), PITLAB_PROFILE: 'smoke' },
          },
        );
        fs.rmSync(prefix, { recursive: true, force: true });
      }
    } else if (process.env.CI === 'true') {
      fail(`notebooks: Jupyter (nbclient) not found under CI: ${(probe.stderr ?? '').trim()}`);
    } else {
      console.log('\n⚠ tutorial notebooks SKIPPED: Jupyter is not installed (python3 nbclient).');
      console.log('  Install it with: sudo apt-get install jupyter-nbconvert python3-nbclient');
      totals.skipped += 1;
    }
  }

  console.log(
    `\nTests: ${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`,
  );
  process.exit(ok && totals.failed === 0 ? 0 : 1);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
