/**
 * Pieces every trainer loop shares: hooks, run files, a guarded gradient step (NaN/Inf stops the
 * stage naming the step, before the update touches the weights), the learning-rate schedule and
 * the per-epoch data order (a pure function of the seed and the epoch, so resume needs no cursor).
 */
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../runtime';
import type { PaddedBatch } from './batches';
import { NonFiniteError } from './checkpoint';
import type { MetricsRow } from './metrics';
import type { AdamW } from './optim';

/** Callbacks a trainer calls; all optional, all synchronous. */
export interface TrainerHooks {
  /** Every logged row, train and eval, after it is written to the metrics file. */
  onLog?(row: MetricsRow): void;
  /** After each optimizer step: steps done and total. */
  onProgress?(step: number, total: number): void;
  /** After a checkpoint is written (and renamed into place). */
  onCheckpoint?(path: string, step: number): void;
  /**
   * Cores the caller lends this trainer now, beyond its own; read before each step, it may grow
   * mid-run. SFT puts them to work as gradient threads; the other trainers ignore it.
   */
  lentCores?(): number;
  /**
   * Each micro-batch as the SFT and reward trainers feed it to the model (computed only when set):
   * `pitlab bench` replays the same batches in PyTorch.
   */
  onMicroBatch?(batch: MicroBatch): void;
}

/** One micro-batch's padded rows and what its loss reads, as `onMicroBatch` sees it. */
export interface MicroBatch extends PaddedBatch {
  /** SFT: the target positions that count [B·(T−1)], and the batch's target count it divides by. */
  lossMask?: Float32Array;
  normaliser?: number;
  /** Reward models: the pairs in the part (its rows are blocks of this many, as `rewardRows`). */
  pairs?: number;
}

/** Where a stage writes: `<dir>/<stage>.ckpt.safetensors` and `<dir>/<stage>.metrics.jsonl`. */
export function stageFiles(dir: string, stage: string): { checkpoint: string; metrics: string } {
  return {
    checkpoint: join(dir, `${stage}.ckpt.safetensors`),
    metrics: join(dir, `${stage}.metrics.jsonl`),
  };
}

export type LrSchedule = 'constant' | 'linear' | 'cosine';

/** Learning rate at 0-based `step` of `total`: linear warmup, then constant/linear/cosine decay to 0. */
export function lrAt(
  step: number,
  total: number,
  lr: number,
  schedule: LrSchedule,
  warmupSteps = 0,
): number {
  if (step < warmupSteps) return (lr * (step + 1)) / warmupSteps;
  if (schedule === 'constant') return lr;
  const progress = (step - warmupSteps) / Math.max(1, total - warmupSteps);
  if (schedule === 'linear') return lr * (1 - progress);
  return lr * 0.5 * (1 + Math.cos(Math.PI * progress));
}

/**
 * The order of `n` examples in `epoch`: a shuffle drawn from a stream forked off `rng` by the
 * epoch number. Forking does not advance `rng`, so the order is a function of (seed, epoch).
 */
export function epochOrder(rng: Rng, epoch: number, n: number): number[] {
  return rng.fork(`epoch/${epoch}`).shuffle(Array.from({ length: n }, (_, i) => i));
}

/** How `batchAt` groups rows of similar length; see there. */
export interface LengthGrouping {
  /** Length of each example (the padded dimension it adds to its batch). */
  lengths: ArrayLike<number>;
  /** Batches per length-sorted group (0 = no grouping). */
  groupBatches: number;
}

/**
 * Batches of step `step` (0-based) for `batchSize` over `n` examples; epochs drop no example.
 *
 * With `grouping`, each run of `groupBatches` batches of the epoch's shuffle is sorted by length
 * before it is cut into batches, and the epoch's batches are then shuffled (the Hugging Face
 * Trainer's `group_by_length` megabatches). Rows of one batch then have similar lengths, so
 * right-padding wastes little compute, while every example still comes once per epoch in an order
 * that is a function of (seed, epoch).
 */
export function batchAt(
  rng: Rng,
  step: number,
  n: number,
  batchSize: number,
  grouping?: LengthGrouping,
): { epoch: number; rows: number[] } {
  const perEpoch = Math.ceil(n / batchSize);
  const epoch = Math.floor(step / perEpoch);
  const k = step % perEpoch;
  const order = epochOrder(rng, epoch, n);
  if (!grouping || grouping.groupBatches <= 0) {
    return { epoch, rows: order.slice(k * batchSize, (k + 1) * batchSize) };
  }
  return { epoch, rows: lengthGroupedBatches(rng, epoch, order, batchSize, grouping)[k]! };
}

function lengthGroupedBatches(
  rng: Rng,
  epoch: number,
  order: number[],
  batchSize: number,
  { lengths, groupBatches }: LengthGrouping,
): number[][] {
  if (lengths.length !== order.length) {
    throw new Error(`batchAt: ${lengths.length} lengths for ${order.length} examples`);
  }
  const group = groupBatches * batchSize;
  const batches: number[][] = [];
  for (let start = 0; start < order.length; start += group) {
    // longest first; ties keep the shuffled order (Array.prototype.sort is stable)
    const rows = order.slice(start, start + group).sort((a, b) => lengths[b]! - lengths[a]!);
    for (let i = 0; i < rows.length; i += batchSize) batches.push(rows.slice(i, i + batchSize));
  }
  return rng.fork(`epoch/${epoch}/batches`).shuffle(batches);
}

/**
 * The rows of one batch as at most `parts` micro-batches of rows of similar length (positions
 * into `lengths`, shortest first): padded one by one, each only to its own longest row.
 */
export function lengthSortedParts(lengths: readonly number[], parts: number): number[][] {
  const order = lengths.map((_, i) => i).sort((a, b) => lengths[a]! - lengths[b]! || a - b);
  const size = Math.ceil(order.length / Math.max(1, parts));
  const out: number[][] = [];
  for (let i = 0; i < order.length; i += size) out.push(order.slice(i, i + size));
  return out;
}

export interface StepResult<K extends string> {
  /** The batch loss: the sum of the parts' losses. */
  loss: number;
  gradNorm: number;
  /** Host copies of the auxiliary tensors, each the parts' values concatenated in part order. */
  aux: Record<K, Float32Array>;
}

/** One micro-batch: its share of the batch loss, and auxiliary tensors from the same pass. */
export type LossPart<K extends string> = () => { loss: tf.Scalar; aux?: Record<K, tf.Tensor> };

/**
 * A micro-batch whose gradients another thread computes (see gradient_thread.ts): `start` sends it
 * off before the local parts run, `collect` waits for its loss, host aux and gradients.
 */
export interface RemotePart<K extends string> {
  start(): void;
  collect(): { loss: number; aux: Record<K, Float32Array>; grads: Float32Array[] };
}

export type PartGradients<K extends string> = {
  loss: number;
  aux: Record<K, Float32Array>;
  grads: tf.Tensor[];
};

/**
 * Loss, host aux and gradients (in `vars` order) of one part; leaves only the gradients. The
 * gradient threads compute their parts with it too.
 */
export function partGradients<K extends string>(
  vars: tf.Variable[],
  part: LossPart<K>,
): PartGradients<K> {
  let auxT: Record<string, tf.Tensor> = {};
  const { value, grads } = tf.variableGrads(() => {
    const out = part();
    auxT = Object.fromEntries(
      Object.entries(out.aux ?? {}).map(([k, t]) => [k, tf.keep(t as tf.Tensor)]),
    );
    return out.loss;
  }, vars);
  const loss = value.dataSync()[0]!;
  value.dispose();
  const aux = Object.fromEntries(
    Object.entries(auxT).map(([k, t]) => [k, t.dataSync() as Float32Array]),
  ) as Record<K, Float32Array>;
  tf.dispose(Object.values(auxT));
  // variables the loss does not reach get no entry; a zero gradient keeps the order aligned
  return { loss, aux, grads: vars.map((v) => grads[v.name] ?? tf.zerosLike(v)) };
}

/** A remote part's result with its gradients as tensors of the variables' shapes. */
function remoteGradients<K extends string>(
  vars: tf.Variable[],
  part: RemotePart<K>,
): PartGradients<K> {
  const r = part.collect();
  return { ...r, grads: vars.map((v, i) => tf.tensor(r.grads[i]!, v.shape)) };
}

/**
 * Reads the replies of started remote parts after an error, so that none is left for the next
 * step to read; their own errors are dropped (the first error is the one reported).
 */
function drainRemote<K extends string>(parts: readonly (LossPart<K> | RemotePart<K>)[]): void {
  for (const part of parts) {
    if (typeof part === 'function') continue;
    try {
      part.collect();
    } catch {
      // reported by the caller's first error
    }
  }
}

function concatAux<K extends string>(parts: Record<K, Float32Array>[]): Record<K, Float32Array> {
  if (parts.length === 1) return parts[0]!;
  const keys = Object.keys(parts[0] ?? {}) as K[];
  return Object.fromEntries(
    keys.map((k) => {
      const out = new Float32Array(parts.reduce((n, p) => n + p[k].length, 0));
      let at = 0;
      for (const p of parts) {
        out.set(p[k], at);
        at += p[k].length;
      }
      return [k, out];
    }),
  ) as Record<K, Float32Array>;
}

/**
 * One optimizer step on the summed loss of `parts` (one loss function, or several micro-batches
 * whose gradients are added before the update; each returns its share of the batch loss). A
 * function may also return auxiliary tensors (accuracies, scores) computed in the same forward
 * pass; they carry no gradient. A non-finite loss or gradient norm throws
 * `NonFiniteError(stage, step)` before any weight changes. `step` is the 1-based number of this
 * update. Leaves no tensors behind.
 */
export function guardedStep<K extends string>(
  optimizer: AdamW,
  parts: LossPart<K> | readonly (LossPart<K> | RemotePart<K>)[],
  ctx: { stage: string; step: number; lr: number },
): StepResult<K> {
  const list = typeof parts === 'function' ? [parts] : parts;
  const vars = optimizer.vars;
  for (const part of list) if (typeof part !== 'function') part.start();
  // Local parts run while remote ones are computed elsewhere; the sum then goes in part order,
  // so the step does not depend on where a part ran.
  const local: (PartGradients<K> | null)[] = [];
  try {
    for (const part of list)
      local.push(typeof part === 'function' ? partGradients(vars, part) : null);
  } catch (err) {
    tf.dispose(local.flatMap((r) => r?.grads ?? []));
    drainRemote(list);
    throw err;
  }
  let loss = 0;
  let summed: tf.Tensor[] | undefined;
  const auxParts: Record<K, Float32Array>[] = [];
  for (const [i, part] of list.entries()) {
    let r: PartGradients<K>;
    try {
      r = local[i] ?? remoteGradients(vars, part as RemotePart<K>);
    } catch (err) {
      // a thread's error: free what this step holds, and read the other threads' replies
      tf.dispose([...(summed ?? []), ...local.slice(i).flatMap((p) => p?.grads ?? [])]);
      drainRemote(list.slice(i + 1));
      throw err;
    }
    loss += r.loss;
    auxParts.push(r.aux);
    if (!summed) {
      summed = r.grads;
    } else {
      const next = summed.map((g, i) => g.add(r.grads[i]!));
      tf.dispose([...summed, ...r.grads]);
      summed = next;
    }
  }
  if (!summed) throw new Error('guardedStep: no loss parts');
  const aux = concatAux(auxParts);
  if (!Number.isFinite(loss)) {
    tf.dispose(summed);
    throw new NonFiniteError(ctx.stage, ctx.step, 'loss', loss);
  }
  const before = optimizer.step;
  try {
    const { gradNorm } = optimizer.apply(summed, ctx.lr);
    return { loss, gradNorm, aux };
  } catch (err) {
    optimizer.step = before; // AdamW counted the refused step
    const m = /non-finite gradient norm \(([^)]*)\)/.exec((err as Error).message);
    if (m) throw new NonFiniteError(ctx.stage, ctx.step, 'gradient norm', Number(m[1]));
    throw err;
  }
}

/** Mean of an array (0 for an empty one). */
export function meanOf(xs: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i]!;
  return xs.length > 0 ? s / xs.length : 0;
}

/** Population standard deviation (0 for an empty list). */
export function stdOf(xs: ArrayLike<number>): number {
  const m = meanOf(xs);
  return Math.sqrt(meanOf(Array.from(xs, (x) => (x - m) ** 2)));
}
