/**
 * Sequence layouts shared by SFT, the reward models and PPO, and right-padded batches of them.
 *
 *   M_P  policy:   <bos> x <sep>                 → y <eos>
 *   M_PIT policy:  <bos> x <sep_ref> y_ref <sep> → y <eos>
 *   R_P(x, y):            <bos> x <sep> y <eos>                        read at <eos>
 *   R_PIT(x, y, y_ref):   <bos> x <sep> y <eos> <sep_ref> y_ref <eos>  read at both <eos>
 *
 * R_P reads exactly M_P's query ⊕ response (rlhf-practice §4.1), so a value head initialised from
 * it sees the same layout in PPO. R_PIT instead starts with R_P's input (see `rpitInput`), so its
 * first part is R_P's when started from R_P; PIT RL's critic reads M_PIT's own layout.
 */
import * as tf from '@tensorflow/tfjs';
import { SPECIAL_IDS, type Tokenizer } from '../data';

/** Query of M_P (no reference) or M_PIT (with `yRef`). */
export function policyPrompt(tok: Tokenizer, x: string, yRef?: string): number[] {
  const ids = [SPECIAL_IDS.bos, ...tok.encode(x)];
  if (yRef !== undefined) ids.push(SPECIAL_IDS.sepRef, ...tok.encode(yRef));
  ids.push(SPECIAL_IDS.sep);
  return ids;
}

/** A response as the policy emits it: its tokens then EOS. */
export function responseIds(tok: Tokenizer, y: string): number[] {
  return [...tok.encode(y), SPECIAL_IDS.eos];
}

/** R_P input [x y]: the M_P query followed by the response. */
export function rpInput(tok: Tokenizer, x: string, y: string): number[] {
  return [...policyPrompt(tok, x), ...responseIds(tok, y)];
}

/**
 * R_PIT input for "how much better is `y` than `yRef`": [x SEP y EOS SEP_REF y_ref EOS], the
 * issue's [x SEP y1 SEP y2]. It starts with R_P's whole input for y, so a trunk initialised from
 * R_P computes R_P(x, y) at the first EOS unchanged (causal attention); `RewardModel` reads both
 * EOS positions (see there).
 */
export function rpitInput(tok: Tokenizer, x: string, y: string, yRef: string): number[] {
  return [...rpInput(tok, x, y), SPECIAL_IDS.sepRef, ...responseIds(tok, yRef)];
}

/** Right-padded rows: ids [B, T] and the index of each row's last real token. */
export interface PaddedBatch {
  B: number;
  T: number;
  ids: Int32Array;
  /** 1 at real tokens, 0 at padding: [B, T]. */
  mask: Float32Array;
  lastIndex: number[];
}

/** Right-pads `rows` with PAD; rows longer than `blockSize` are an error naming the row. */
export function padRight(rows: readonly number[][], blockSize = Infinity): PaddedBatch {
  const B = rows.length;
  const T = Math.max(1, ...rows.map((r) => r.length));
  if (T > blockSize) {
    const i = rows.findIndex((r) => r.length > blockSize);
    throw new Error(
      `padRight: row ${i} has ${rows[i]!.length} tokens, more than blockSize ${blockSize}`,
    );
  }
  const ids = new Int32Array(B * T).fill(SPECIAL_IDS.pad);
  const mask = new Float32Array(B * T);
  rows.forEach((r, b) => {
    ids.set(r, b * T);
    mask.fill(1, b * T, b * T + r.length);
  });
  return { B, T, ids, mask, lastIndex: rows.map((r) => r.length - 1) };
}

/** The ids of a padded batch as an int32 tensor [B, T]; caller disposes. */
export function idsTensor(p: PaddedBatch): tf.Tensor2D {
  return tf.tensor2d(p.ids, [p.B, p.T], 'int32');
}

/** One SFT example: query tokens (not trained on) and response tokens (trained on). */
export interface SftExample {
  prompt: number[];
  response: number[];
}

/**
 * SFT batch: ids [B, T] of prompt ⊕ response, right-padded, and the loss mask [B, T-1] over
 * next-token targets, 1 where the target is a response token (EOS included).
 */
export function sftBatch(
  examples: readonly SftExample[],
  blockSize = Infinity,
): PaddedBatch & { lossMask: Float32Array } {
  const p = padRight(
    examples.map((e) => [...e.prompt, ...e.response]),
    blockSize,
  );
  const lossMask = new Float32Array(p.B * (p.T - 1));
  examples.forEach((e, b) => {
    // target t+1 is a response token when t+1 ≥ prompt length
    const start = e.prompt.length - 1;
    const end = e.prompt.length + e.response.length - 1;
    lossMask.fill(1, b * (p.T - 1) + start, b * (p.T - 1) + end);
  });
  return { ...p, lossMask };
}
