/**
 * The kernel process: reads the connection file, wires executor, handler and ZMQ transport,
 * and starts the shared tensor runtime once for every cell of this kernel.
 *
 * Interrupts: a cell's synchronous code runs under `vm` with `breakOnSigint`, so SIGINT (what
 * Jupyter sends with the kernelspec's default `interrupt_mode: "signal"`) stops even a busy
 * loop, which no message could reach on this single thread. A pending top-level await is
 * abandoned through tslab's interrupt promise. Either way the kernel state survives.
 */
import { readFileSync } from 'node:fs';
import * as ts from '@tslab/typescript-for-tslab';
import { installDataflowGlobal } from './dataflow/api';
import type { PlotlySession } from './display/plotly';
import { type CellExecutor, createCellExecutor } from './executor';
import { installGlobals } from './globals';
import { JupyterHandler } from './jupyter';
import { lendPackagesToRuntime } from './modules';
import { captureStdio, currentSink } from './output';
import type { ConnectionInfo } from './protocol';
import { ZmqServer } from './server';

const VERSION: string = require('../package.json').version;

export async function startKernel(connectionFile: string): Promise<void> {
  const conn = JSON.parse(readFileSync(connectionFile, 'utf8')) as ConnectionInfo;
  const rawStderr = process.stderr.write.bind(process.stderr);
  const log = (line: string) => rawStderr(`${line}\n`);
  const server = new ZmqServer(conn, log);
  const plotly: PlotlySession = { libraryInlined: false };

  // The sockets are bound first so kernel_info is answered while the compiler and the tensor
  // runtime load (seconds on a busy machine); cells wait for both.
  let resolveExecutor: (ex: CellExecutor) => void = () => undefined;
  const executor = new Promise<CellExecutor>((resolve) => {
    resolveExecutor = resolve;
  });
  let runtime: typeof import('../src/runtime').runtime | undefined;
  let runtimeInit: Promise<Error | undefined> = Promise.resolve(undefined);
  let runtimeReady = false;

  const handler = new JupyterHandler({
    executor,
    transport: server,
    plotly,
    versions: { kernel: VERSION, typescript: ts.version, node: process.version },
    beforeFirstCell: async () => {
      const failed = await runtimeInit;
      if (failed) {
        currentSink()?.stream(
          'stderr',
          `pitlab: the tensor runtime failed to start: ${failed.message}\n`,
        );
      }
    },
    memory: () => (runtimeReady && runtime ? runtime.tf.memory() : undefined),
    onShutdown: () => {
      setTimeout(() => {
        server.close();
        void executor.then((ex) => ex.close());
        process.exit(0);
      }, 50);
    },
  });

  captureStdio();
  await server.start((channel, msg) => handler.handle(channel, msg));
  handler.starting();

  await new Promise((r) => setImmediate(r));
  lendPackagesToRuntime();
  const ex = createCellExecutor(process.cwd());
  installGlobals(plotly);
  installDataflowGlobal(handler.dataflow);
  process.on('SIGINT', () => ex.interrupt());
  resolveExecutor(ex);
  // The one runtime of this kernel, started before the first cell so that cell rarely waits.
  runtime = (require('../src/runtime') as typeof import('../src/runtime')).runtime;
  runtimeInit = runtime.ready().then(
    () => {
      runtimeReady = true;
      return undefined;
    },
    (e: unknown) => e as Error,
  );
}

export function main(argv: string[]): void {
  const [file] = argv;
  if (!file) {
    console.error('usage: node kernel/launch.js <connection-file>');
    process.exit(2);
  }
  startKernel(file).catch((e: unknown) => {
    console.error(`pitlab kernel failed to start: ${(e as Error).stack ?? e}`);
    process.exit(1);
  });
}
