/**
 * Runs pipeline stages in worker processes, so independent stages (the SFT runs, the judge, the
 * ablations) train on separate cores. Each worker has its own tfjs runtime on the parent's
 * backend; stages seed themselves from the run's seed, so a stage computes the same numbers in a
 * worker as in the parent (tested).
 *
 *   parent ──fork──▶ stage_worker.ts ── {run: stage, ctx} ──▶ pipelineStages()[stage].run(ctx)
 *          ◀── progress · done {peakRssMb} · error {message, stack} ──
 *          ── cores lent mid-run: a small file the stage reads between training steps ──▶
 *
 * The lent cores travel in a file, not a message: a training loop is synchronous, so the worker's
 * event loop (and its IPC channel) does not turn until the stage ends.
 *
 * A worker whose parent dies (IPC channel closed) exits at once; its checkpoints stay in the
 * stage's work dir, so the next run resumes them.
 */
import { fork } from 'node:child_process';
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { StageContext, StageExecutor } from './graph';

/** What the parent sends a worker: everything of a `StageContext` except its callbacks. */
export interface WorkerRequest {
  stage: string;
  backend: string;
  ctx: Omit<StageContext<unknown>, 'progress' | 'lentCores'>;
  /** Where the parent writes the cores it lends the stage (`writeLentCores`). */
  lentCoresFile: string;
}

export type WorkerMessage =
  | { type: 'progress'; fraction: number; detail?: string }
  | { type: 'done'; peakRssMb: number }
  | { type: 'error'; message: string; stack?: string };

const WORKER = path.join(__dirname, 'stage_worker.ts');
/** How often the parent looks for new loans to pass on: a step of a training stage is ~0.1 s. */
const LOAN_POLL_MS = 250;
let workers = 0;

/** Writes the count whole (rename), so the reader never sees half a file. */
export function writeLentCores(file: string, cores: number): void {
  writeFileSync(`${file}.tmp`, String(cores));
  renameSync(`${file}.tmp`, file);
}

/** The cores the parent lends now: 0 until it has written any. */
export function readLentCores(file: string): number {
  try {
    const n = Number.parseInt(readFileSync(file, 'utf8'), 10);
    return Number.isFinite(n) && n > 0 ? n : 0;
  } catch {
    return 0;
  }
}

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
      const lentCoresFile = path.join(tmpdir(), `pitlab-lent-${process.pid}-${++workers}`);
      let passedOn = 0;
      const passOnLoans = () => {
        const lent = ctx.lentCores?.() ?? 0;
        if (lent === passedOn) return;
        passedOn = lent;
        writeLentCores(lentCoresFile, lent);
      };
      // only a stage that can put lent cores to work is told of them
      const canBorrow = (def.spareCores?.(ctx.config) ?? 0) > 0;
      const loans = canBorrow ? setInterval(passOnLoans, LOAN_POLL_MS) : undefined;
      let settled = false;
      const settle = (fn: () => void) => {
        if (settled) return;
        settled = true;
        clearInterval(loans);
        rmSync(lentCoresFile, { force: true });
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
      const { progress: _p, lentCores: _l, ...plain } = ctx;
      child.send({ stage: def.name, backend, ctx: plain, lentCoresFile } satisfies WorkerRequest);
    });
}
