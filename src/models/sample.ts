/**
 * Batched autoregressive sampling with a KV cache. Prompts of different lengths are left-padded
 * so every row's next token sits in the same column; padded keys are masked out and positions
 * count real tokens only, so a row's output does not depend on what it is batched with.
 */
import * as tf from '@tensorflow/tfjs';
import { type Rng, runtime } from '../runtime';
import { compactCache, disposeCache, type Gpt } from './gpt';

export interface SampleOptions {
  /** Tokens to generate at most per row. @defaultValue 32 */
  maxNewTokens?: number;
  /** Softmax temperature; 0 means greedy (argmax). @defaultValue 1 */
  temperature?: number;
  /** Keep only the k most likely tokens (0 = off). @defaultValue 0 */
  topK?: number;
  /** Nucleus sampling: smallest set with cumulative probability ≥ p (1 = off). @defaultValue 1 */
  topP?: number;
  /** A row stops after emitting this token (it is included in the output). */
  eosId?: number;
  /** Token used to left-pad prompts; never attended to. @defaultValue 0 */
  padId?: number;
  /** Random stream; defaults to `runtime.rng('sample')` (reproducible under `runtime.seed`). */
  rng?: Rng;
}

export interface SampleResult {
  /** Generated tokens per row (EOS included when emitted). */
  tokens: number[][];
  /** Whether each row emitted EOS within the budget. */
  finished: boolean[];
}

/** Draws one token from a row of logits with temperature, top-k and top-p. Pure JS on purpose: rows are small (V ≲ 1e4) and this keeps sampling bit-reproducible across backends. */
export function sampleToken(
  logits: Float32Array,
  options: { temperature: number; topK: number; topP: number },
  rng: Rng,
): number {
  const V = logits.length;
  if (options.temperature === 0) {
    let best = 0;
    for (let i = 1; i < V; i++) if (logits[i]! > logits[best]!) best = i;
    return best;
  }
  if (options.topK <= 0 && options.topP >= 1) {
    // Plain softmax sampling needs no sort: one pass for the max, one for the draw.
    let max = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < V; i++) if (logits[i]! > max) max = logits[i]!;
    const weights = new Float64Array(V);
    let total = 0;
    for (let i = 0; i < V; i++) {
      weights[i] = Math.exp((logits[i]! - max) / options.temperature);
      total += weights[i]!;
    }
    let u = rng.next() * total;
    for (let i = 0; i < V; i++) {
      u -= weights[i]!;
      if (u < 0) return i;
    }
    return V - 1;
  }
  let order = Array.from({ length: V }, (_, i) => i);
  order.sort((a, b) => logits[b]! - logits[a]! || a - b);
  if (options.topK > 0 && options.topK < V) order = order.slice(0, options.topK);
  const max = logits[order[0]!]!;
  const probs = order.map((i) => Math.exp((logits[i]! - max) / options.temperature));
  let total = probs.reduce((a, b) => a + b, 0);
  if (options.topP < 1) {
    let cum = 0;
    let keep = probs.length;
    for (let i = 0; i < probs.length; i++) {
      cum += probs[i]! / total;
      if (cum >= options.topP) {
        keep = i + 1;
        break;
      }
    }
    order = order.slice(0, keep);
    probs.length = keep;
    total = probs.reduce((a, b) => a + b, 0);
  }
  let u = rng.next() * total;
  for (let i = 0; i < order.length; i++) {
    u -= probs[i]!;
    if (u < 0) return order[i]!;
  }
  return order[order.length - 1]!;
}

/** Samples continuations of `prompts` (token ids, each non-empty). Leaves no tensors behind. */
export function sample(model: Gpt, prompts: number[][], options: SampleOptions = {}): SampleResult {
  const maxNewTokens = options.maxNewTokens ?? 32;
  const pick = {
    temperature: options.temperature ?? 1,
    topK: options.topK ?? 0,
    topP: options.topP ?? 1,
  };
  const padId = options.padId ?? 0;
  const rng = options.rng ?? runtime.rng('sample');
  const B = prompts.length;
  if (B === 0) return { tokens: [], finished: [] };
  const P = Math.max(...prompts.map((p) => p.length));
  if (prompts.some((p) => p.length === 0)) throw new Error('sample: every prompt needs ≥ 1 token');
  const total = Math.min(P + maxNewTokens, model.config.blockSize);
  if (P >= model.config.blockSize) {
    throw new Error(
      `sample: prompt length ${P} leaves no room in blockSize ${model.config.blockSize}`,
    );
  }

  const { ids, positions, keyMask } = leftPad(prompts, P, total, padId);
  const tokens: number[][] = prompts.map(() => []);
  const finished = prompts.map(() => false);
  const cache = model.emptyCache(B, total);
  // The rows still in the batch, by index into `prompts`, ascending: finished rows are dropped
  // from the batch and its cache once a quarter of it has finished (`compactCache`), so short
  // answers stop paying for long ones. Rows draw from `rng` in index order either way.
  let rows = prompts.map((_, b) => b);
  let step = { ids, positions, width: P };
  // Step t feeds `step.width` columns (the whole prompt at t = 0, then the previous token) and
  // samples the token of column P + t.
  for (let t = 0; P + t < total; t++) {
    const column = P + t;
    const n = rows.length;
    const logits = tf.tidy(() => {
      const mask = tf.tensor2d(maskColumns(keyMask, rows, total, column), [n, column]);
      const out = model.forward(tf.tensor2d(step.ids, [n, step.width], 'int32'), {
        cache,
        keyMask: mask,
        positions: tf.tensor2d(step.positions, [n, step.width], 'int32'),
      });
      const last = out.hidden.slice([0, step.width - 1, 0], [n, 1, model.config.nEmbd]);
      return model.logits(last).reshape([n, model.config.vocabSize]);
    });
    const data = logits.dataSync() as Float32Array;
    logits.dispose();
    const V = model.config.vocabSize;
    const newIds = new Int32Array(n).fill(padId); // finished rows feed padding, masked out
    const newPos = new Int32Array(n);
    rows.forEach((b, i) => {
      if (finished[b]) return;
      const tok = sampleToken(data.subarray(i * V, (i + 1) * V), pick, rng);
      newPos[i] = prompts[b]!.length + tokens[b]!.length;
      tokens[b]!.push(tok);
      newIds[i] = tok;
      keyMask[b * total + column] = 1;
      if (tok === options.eosId) finished[b] = true;
    });
    if (finished.every(Boolean)) break;
    step = { ids: newIds, positions: newPos, width: 1 };
    const live = rows.flatMap((b, i) => (finished[b] ? [] : [i]));
    if (live.length <= 0.75 * n) {
      compactCache(cache, live, model.config.nHead);
      rows = live.map((i) => rows[i]!);
      step = { ids: pick32(newIds, live), positions: pick32(newPos, live), width: 1 };
    }
  }
  disposeCache(cache);
  return { tokens, finished };
}

/**
 * Prompts left-padded to width P, so row b's real tokens occupy columns P-len..P-1: ids and
 * positions [B, P], and the key mask [B, total] that grows column by column as tokens are added.
 */
function leftPad(prompts: number[][], P: number, total: number, padId: number) {
  const B = prompts.length;
  const ids = new Int32Array(B * P).fill(padId);
  const positions = new Int32Array(B * P);
  const keyMask = new Float32Array(B * total);
  prompts.forEach((p, b) => {
    const offset = P - p.length;
    p.forEach((tok, i) => {
      ids[b * P + offset + i] = tok;
      positions[b * P + offset + i] = i;
      keyMask[b * total + offset + i] = 1;
    });
  });
  return { ids, positions, keyMask };
}

/** Columns 0..cols-1 of the listed rows of a row-major [*, stride] matrix. */
function maskColumns(m: Float32Array, rows: number[], stride: number, cols: number): Float32Array {
  const out = new Float32Array(rows.length * cols);
  rows.forEach((r, i) => {
    out.set(m.subarray(r * stride, r * stride + cols), i * cols);
  });
  return out;
}

function pick32(values: Int32Array, at: number[]): Int32Array {
  return Int32Array.from(at, (i) => values[i]!);
}
