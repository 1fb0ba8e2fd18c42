/**
 * Data parallelism on one machine: a worker thread with its own tfjs runtime and a replica of the
 * model computes the gradients of some of a step's micro-batches (`assignParts` balances them)
 * while the calling thread computes the others. The caller adds every part's gradients in part order and applies the update, so a
 * step is the same, bit for bit, with or without the thread (tested): each part's gradients are a
 * deterministic function of the weights and the part's rows, wherever they are computed.
 *
 *   caller ── {weights} once per step, {rows, normaliser} per part ──▶ gradient_worker.ts:
 *             partGradients(sftForward)
 *          ◀── {loss, aux, grads} (MessagePort) + Atomics.notify ──
 *
 * The caller blocks on `Atomics.wait` only after its own parts are done; `receiveMessageOnPort`
 * then reads the reply synchronously, so a training step stays a synchronous function.
 */
import path from 'node:path';
import {
  MessageChannel,
  type MessagePort,
  receiveMessageOnPort,
  Worker,
} from 'node:worker_threads';
import type * as tf from '@tensorflow/tfjs';
import type { GptConfig } from '../models';
import type { SftExample } from './batches';
import type { RemotePart } from './loop';

/**
 * What the thread is sent, in order: the weights once per step, then each SFT micro-batch it
 * computes on them (see `sftForward`).
 */
export type GradientRequest =
  | { weights: Float32Array[] }
  | { rows: readonly SftExample[]; normaliser: number };

export type GradientReply =
  | { loss: number; aux: Record<string, Float32Array>; grads: Float32Array[]; tokens: number }
  | { error: string };

/** Setup the thread receives as `workerData`. */
export interface GradientThreadInit {
  backend: string;
  model: GptConfig;
  /**
   * Names and shapes of the variables, in the order weights and gradients travel. The replica
   * finds its own by name: a model read from a file holds its parameters in the file's order.
   */
  variables: Array<{ name: string; shape: number[] }>;
  port: MessagePort;
  /** Int32 count of replies waiting to be read: the thread adds 1 per reply. */
  ready: SharedArrayBuffer;
}

/** The caller's variables with their parameter names, in the order weights and gradients travel. */
export type NamedVariables = ReadonlyArray<readonly [string, tf.Variable]>;

const ENTRY = path.join(__dirname, 'gradient_worker.ts');
/** A micro-batch takes milliseconds to seconds; minutes mean the thread is gone. */
const REPLY_TIMEOUT_MS = 300_000;

/**
 * Which worker computes each part (0: the calling thread, 1..: the threads), balancing the parts'
 * `work` by longest-processing-time-first; ties go to a thread, since the caller also sums and
 * updates. Deterministic, so a step's split never depends on timing.
 */
export function assignParts(work: readonly number[], workers: number): number[] {
  const load = new Array<number>(Math.max(1, workers)).fill(0);
  const owner = new Array<number>(work.length).fill(0);
  const order = work.map((_, i) => i).sort((a, b) => work[b]! - work[a]! || a - b);
  for (const part of order) {
    let best = load.length - 1;
    for (let w = load.length - 2; w >= 0; w--) if (load[w]! < load[best]!) best = w;
    owner[part] = best;
    load[best]! += work[part]!;
  }
  return owner;
}

/** A worker thread computing SFT micro-batches' gradients on a replica of one model. */
export class GradientThread {
  private started = false;
  /** An uncaught error of the thread (seen only when this thread's event loop turns). */
  private failure?: string;

  private constructor(
    private readonly worker: Worker,
    private readonly port: MessagePort,
    private readonly flag: Int32Array,
  ) {
    worker.on('error', (err) => {
      this.failure = err.message;
    });
  }

  /**
   * Starts the thread without waiting for it: its runtime and replica load on its own core while
   * the caller trains, and `ready()` says when it can take parts. Synchronous, so a training loop
   * can add a thread mid-run when it is lent a core.
   */
  static spawn(backend: string, model: GptConfig, vars: NamedVariables): GradientThread {
    const { port1, port2 } = new MessageChannel();
    const ready = new SharedArrayBuffer(4);
    const init: GradientThreadInit = {
      backend,
      model,
      variables: vars.map(([name, v]) => ({ name, shape: [...v.shape] })),
      port: port2,
      ready,
    };
    // Worker threads take only .js entries; this one loads the TypeScript sources as the CLI does.
    const worker = new Worker(
      `require(${JSON.stringify(require.resolve('tsx/cjs'))}); require(${JSON.stringify(ENTRY)});`,
      { eval: true, workerData: init, transferList: [port2] },
    );
    return new GradientThread(worker, port1, new Int32Array(ready));
  }

  /** Starts the thread and waits until its runtime and replica are ready. */
  static async start(
    backend: string,
    model: GptConfig,
    vars: NamedVariables,
  ): Promise<GradientThread> {
    const thread = GradientThread.spawn(backend, model, vars);
    const crashed = new Promise<void>((resolve) => thread.worker.once('error', () => resolve()));
    await Promise.race([Atomics.waitAsync(thread.flag, 0, 0, REPLY_TIMEOUT_MS).value, crashed]);
    try {
      if (thread.failure) throw new Error(`gradient thread: ${thread.failure}`);
      if (!thread.ready()) {
        throw new Error(`gradient thread: not ready within ${REPLY_TIMEOUT_MS / 1000} s`);
      }
    } catch (err) {
      await thread.terminate();
      throw err;
    }
    return thread;
  }

  /**
   * Whether the thread has loaded its runtime and replica; never blocks. Throws (once) the
   * thread's own error if it could not start, e.g. a replica that does not match the model.
   */
  ready(): boolean {
    if (this.started) return true;
    if (this.failure) throw new Error(`gradient thread: ${this.failure}`);
    if (Atomics.load(this.flag, 0) === 0) return false;
    Atomics.sub(this.flag, 0, 1);
    const hello = receiveMessageOnPort(this.port)?.message as { error?: string } | undefined;
    if (!hello || hello.error !== undefined) {
      throw new Error(`gradient thread: ${hello?.error ?? 'signalled without a message'}`);
    }
    this.started = true;
    return true;
  }

  /** Sends the current weights (once per step, before its parts): the replica loads them. */
  load(vars: readonly tf.Variable[]): void {
    const request: GradientRequest = { weights: vars.map((v) => v.dataSync() as Float32Array) };
    this.port.postMessage(request); // copied: on 'cpu' dataSync returns the variable's storage
  }

  /** A micro-batch for `guardedStep` whose gradients this thread computes on the loaded weights. */
  part(
    rows: readonly SftExample[],
    normaliser: number,
    onTokens: (tokens: number) => void,
  ): RemotePart<string> {
    return {
      start: () => {
        const request: GradientRequest = { rows, normaliser };
        this.port.postMessage(request);
      },
      collect: () => {
        // The flag counts replies not yet read; they arrive in the order the parts were sent.
        // A thread that died cannot say so while this one blocks: give up after a generous wait.
        if (Atomics.wait(this.flag, 0, 0, REPLY_TIMEOUT_MS) === 'timed-out') {
          throw new Error(`gradient thread: no reply within ${REPLY_TIMEOUT_MS / 1000} s`);
        }
        Atomics.sub(this.flag, 0, 1);
        const reply = receiveMessageOnPort(this.port)?.message as GradientReply | undefined;
        if (!reply) throw new Error('gradient thread: signalled without a reply');
        if ('error' in reply) throw new Error(`gradient thread: ${reply.error}`);
        onTokens(reply.tokens);
        return reply;
      },
    };
  }

  async terminate(): Promise<void> {
    this.port.close();
    await this.worker.terminate();
  }
}
