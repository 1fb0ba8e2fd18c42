/**
 * Runs pipeline stages in worker processes, so independent stages (the SFT runs, the judge, the
 * ablations) train on separate cores. Each worker has its own tfjs runtime on the parent's
 * backend; stages seed themselves from the run's seed, so a stage computes the same numbers in a
 * worker as in the parent (tested).
 *
 *   parent ──fork──▶ stage_worker.ts ── {run: stage, ctx} ──▶ pipelineStages()[stage].run(ctx)
 *          ◀── progress · done {peakRssMb} · error {message, stack} ──
 *
 * A worker whose parent dies (IPC channel closed) exits at once; its checkpoints stay in the
 * stage's work dir, so the next run resumes them.
 */
import { fork } from 'node:child_process';
import path from 'node:path';
import type { StageContext, StageExecutor } from './graph';

/** What the parent sends a worker: everything of a `StageContext` except its callbacks. */
export interface WorkerRequest {
  stage: string;
  backend: string;
  ctx: Omit<StageContext<unknown>, 'progress'>;
}

export type WorkerMessage =
  | { type: 'progress'; fraction: number; detail?: string }
  | { type: 'done'; peakRssMb: number }
  | { type: 'error'; message: string; stack?: string };

const WORKER = path.join(__dirname, 'stage_worker.ts');

/** An executor that runs each stage in a fresh worker process on `backend`. */
export function workerExecutor(backend: string): StageExecutor {
  return (def, ctx, signal) =>
    new Promise((resolve, reject) => {
      if (signal.aborted) {
        reject(new Error(`stage '${def.name}' not started: the run was aborted`));
        return;
      }
      const child = fork(WORKER, [], {
        execArgv: ['--require', require.resolve('tsx/cjs')],
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      let settled = false;
      const settle = (fn: () => void) => {
        if (settled) return;
        settled = true;
        signal.removeEventListener('abort', onAbort);
        fn();
      };
      const onAbort = () => child.kill('SIGTERM');
      signal.addEventListener('abort', onAbort);
      child.on('message', (m: WorkerMessage) => {
        if (m.type === 'progress') ctx.progress(m.fraction, m.detail);
        else if (m.type === 'done') settle(() => resolve({ peakRssMb: m.peakRssMb }));
        else {
          const err = new Error(m.message);
          if (m.stack) err.stack = m.stack;
          settle(() => reject(err));
        }
      });
      child.on('error', (err) => settle(() => reject(err)));
      child.on('exit', (code, sig) =>
        settle(() =>
          reject(
            new Error(
              signal.aborted
                ? `stage '${def.name}' stopped: another stage failed`
                : `stage '${def.name}': worker exited (${sig ?? `code ${code}`}) before finishing`,
            ),
          ),
        ),
      );
      const { progress: _p, ...plain } = ctx;
      child.send({ stage: def.name, backend, ctx: plain } satisfies WorkerRequest);
    });
}
