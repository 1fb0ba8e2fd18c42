/**
 * PPO rollouts: sample responses with the KV cache, cut them at EOS, and score them with the
 * policy, the frozen reference, the critic (when there is one) and the reward function in one
 * no-grad pass each.
 *
 * Layout ([N+] §4.2): each query is left-padded to P columns and its response right-padded to R,
 * giving [B, P+R]. Positions count real tokens only and padded keys are masked, which is exactly
 * what `sample` does, so the log-probs recomputed here match the sampler's (rlhf-practice §4.4).
 */
import * as tf from '@tensorflow/tfjs';
import type { Gpt } from '../../models';
import { sample, tokenLogProbs } from '../../models';
import type { Rng } from '../../runtime';
import { truncateAtStop } from './core';
import type { ValueModel } from './value';

/** Scores one batch: prompts and (EOS-truncated) responses as token ids → one scalar each. */
export type RewardFn = (prompts: number[][], responses: number[][]) => Float32Array;

/** A query batch packed as [left-padded query | right-padded response]. */
export interface Packed {
  B: number;
  /** Query columns (longest query). */
  P: number;
  /** Response columns (longest response, at least 1). */
  R: number;
  /** Token ids [B, P+R], padding = padId. */
  ids: Int32Array;
  /** 1 at real tokens: [B, P+R]. */
  keyMask: Float32Array;
  /** Position of each token among its row's real tokens: [B, P+R]. */
  positions: Int32Array;
  /** 1 at real response tokens (EOS included): [B, R]. */
  mask: Float32Array;
}

/** Packs queries and responses into the shared layout; pure, so it is tested directly. */
export function packBatch(
  queries: number[][],
  responses: number[][],
  padId: number,
  blockSize = Infinity,
): Packed {
  const B = queries.length;
  const P = Math.max(...queries.map((q) => q.length));
  const R = Math.max(1, ...responses.map((r) => r.length));
  const L = P + R;
  const ids = new Int32Array(B * L).fill(padId);
  const keyMask = new Float32Array(B * L);
  const positions = new Int32Array(B * L);
  const mask = new Float32Array(B * R);
  for (let b = 0; b < B; b++) {
    const q = queries[b]!;
    const r = responses[b]!;
    const off = P - q.length;
    for (let j = 0; j < L; j++)
      positions[b * L + j] = Math.min(Math.max(0, j - off), blockSize - 1);
    q.forEach((tok, i) => {
      ids[b * L + off + i] = tok;
      keyMask[b * L + off + i] = 1;
    });
    r.forEach((tok, t) => {
      ids[b * L + P + t] = tok;
      keyMask[b * L + P + t] = 1;
      mask[b * R + t] = 1;
    });
  }
  return { B, P, R, ids, keyMask, positions, mask };
}

/** Row subset of a packed batch (a minibatch), in the order of `rows`. */
export function selectRows(p: Packed, rows: readonly number[]): Packed {
  const L = p.P + p.R;
  const pick = <T extends Int32Array | Float32Array>(src: T, width: number): T => {
    const out = new (src.constructor as new (n: number) => T)(rows.length * width);
    for (const [i, r] of rows.entries())
      out.set(src.subarray(r * width, (r + 1) * width), i * width);
    return out;
  };
  return {
    B: rows.length,
    P: p.P,
    R: p.R,
    ids: pick(p.ids, L),
    keyMask: pick(p.keyMask, L),
    positions: pick(p.positions, L),
    mask: pick(p.mask, p.R),
  };
}

/** Same row subset of a flat [B, W] array. */
export function pickRows(src: Float32Array, rows: readonly number[], width: number): Float32Array {
  const out = new Float32Array(rows.length * width);
  for (const [i, r] of rows.entries()) out.set(src.subarray(r * width, (r + 1) * width), i * width);
  return out;
}

/**
 * The trunk's hidden states that predict each response token: positions P−1 … P+R−2 of the
 * packed sequence, [B, R, C]. Caller owns the result.
 */
export function responseHidden(model: Gpt, p: Packed): tf.Tensor3D {
  return tf.tidy(() => {
    const L = p.P + p.R;
    const { hidden } = model.forward(tf.tensor2d(p.ids, [p.B, L], 'int32'), {
      keyMask: tf.tensor2d(p.keyMask, [p.B, L]),
      positions: tf.tensor2d(p.positions, [p.B, L], 'int32'),
    });
    return hidden.slice([0, p.P - 1, 0], [p.B, p.R, model.config.nEmbd]); // [B, R, C]
  });
}

/**
 * Logits for each response token divided by the sampling temperature, [B*R, V], and the
 * response tokens as targets [B*R]. Dividing here, in both rollout and update, is what keeps
 * ratios and KL honest when sampling at T ≠ 1 ([N] detail; TRL #4).
 */
export function responseLogits(
  model: Gpt,
  p: Packed,
  temperature: number,
): { logits: tf.Tensor2D; targets: tf.Tensor1D } {
  return tf.tidy(() => {
    const h = responseHidden(model, p);
    const V = model.config.vocabSize;
    const logits = model
      .logits(h)
      .reshape([p.B * p.R, V])
      .div(temperature) as tf.Tensor2D;
    const targets = tf
      .tensor2d(p.ids, [p.B, p.P + p.R], 'int32')
      .slice([0, p.P], [p.B, p.R])
      .reshape([p.B * p.R]) as tf.Tensor1D; // [B*R]
    return { logits, targets };
  });
}

/** log π(y_t | x, y_<t) at temperature for every response column: [B*R] as a Float32Array. */
export function responseLogprobs(model: Gpt, p: Packed, temperature: number): Float32Array {
  const out = tf.tidy(() => {
    // The update's own function, so that π/π_old is exactly 1 before the first step.
    const { logits, targets } = responseLogits(model, p, temperature);
    return tokenLogProbs(logits, targets);
  });
  const data = out.dataSync() as Float32Array;
  out.dispose();
  return data.map((v, i) => (p.mask[i] ? v : 0));
}

/** V(s_t) before each response token: [B*R] (0 at padding, as TRL fills masked values). */
export function responseValues(critic: ValueModel, p: Packed): Float32Array {
  const out = tf.tidy(() => critic.head(responseHidden(critic.trunk, p)));
  const data = out.dataSync() as Float32Array;
  out.dispose();
  return data.map((v, i) => (p.mask[i] ? v : 0));
}

export interface Rollout {
  queries: number[][];
  responses: number[][];
  finished: boolean[];
  packed: Packed;
  logprobs: Float32Array; // [B, R]
  refLogprobs: Float32Array; // [B, R]
  /** The critic's V(s_t), [B, R]; absent when the rollout ran without a critic. */
  values?: Float32Array;
  scores: Float32Array; // [B], raw reward-model scores
  timings: { generate: number; score: number };
}

export interface RolloutOptions {
  responseLength: number;
  temperature: number;
  eosId: number;
  padId: number;
  rng: Rng;
}

/**
 * Phases 1–3 of a PPO update: generate, truncate at EOS, score and evaluate log-probs/values
 * (values only with a critic: the group advantages need none).
 */
export function collectRollout(
  models: { policy: Gpt; ref: Gpt; critic?: ValueModel },
  queries: number[][],
  reward: RewardFn,
  o: RolloutOptions,
): Rollout {
  const t0 = performance.now();
  const gen = sample(models.policy, queries, {
    maxNewTokens: o.responseLength,
    temperature: o.temperature,
    eosId: o.eosId,
    padId: o.padId,
    rng: o.rng,
  });
  const { responses, finished } = truncateAtStop(gen.tokens, o.eosId, o.responseLength);
  const packed = packBatch(queries, responses, o.padId, models.policy.config.blockSize);
  const t1 = performance.now();
  const scores = reward(queries, responses);
  return {
    queries,
    responses,
    finished,
    packed,
    logprobs: responseLogprobs(models.policy, packed, o.temperature),
    refLogprobs: responseLogprobs(models.ref, packed, o.temperature),
    ...(models.critic ? { values: responseValues(models.critic, packed) } : {}),
    scores,
    timings: { generate: t1 - t0, score: performance.now() - t1 },
  };
}
