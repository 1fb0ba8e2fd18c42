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
import { runtime } from '../src/runtime';
import type { PlotlySession } from './display/plotly';
import { createCellExecutor } from './executor';
import { installGlobals } from './globals';
import { JupyterHandler } from './jupyter';
import { captureStdio, currentSink } from './output';
import type { ConnectionInfo } from './protocol';
import { ZmqServer } from './server';

const VERSION: string = require('../package.json').version;

export async function startKernel(connectionFile: string): Promise<void> {
  const conn = JSON.parse(readFileSync(connectionFile, 'utf8')) as ConnectionInfo;
  const rawStderr = process.stderr.write.bind(process.stderr);
  const log = (line: string) => rawStderr(`${line}\n`);

  const executor = createCellExecutor(process.cwd());
  const plotly: PlotlySession = { libraryInlined: false };
  installGlobals(plotly);
  const server = new ZmqServer(conn, log);

  // Started now so the first cell rarely waits; awaited before that cell runs.
  let runtimeReady = false;
  const runtimeInit = runtime.ready().then(
    () => {
      runtimeReady = true;
    },
    (e: unknown) => e as Error,
  );

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
    memory: () => (runtimeReady ? runtime.tf.memory() : undefined),
    onShutdown: () => {
      setTimeout(() => {
        server.close();
        executor.close();
        process.exit(0);
      }, 50);
    },
  });

  captureStdio();
  process.on('SIGINT', () => executor.interrupt());
  await server.start((channel, msg) => handler.handle(channel, msg));
  handler.starting();
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
