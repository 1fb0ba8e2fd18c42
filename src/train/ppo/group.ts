/**
 * Critic-free advantages from groups of responses to one prompt, beside PPO's learned critic:
 *
 * - RLOO (Ahmadian et al. 2024, "Back to Basics"; TRL's `RLOOTrainer`): the baseline of a sample
 *   is the mean reward of the other k−1 samples of its prompt, A_i = r_i − mean_{j≠i} r_j, with
 *   the KL penalty folded into the sequence reward r_i = score_i − β·Σ_t kl_t as TRL does.
 * - GRPO (Shao et al. 2024, DeepSeekMath §4.1.2; TRL's `GRPOTrainer`): A_i = (r_i − mean)/(std +
 *   ε) within the group, on the raw score; the KL to the reference is a loss term instead.
 *
 * A group is `groupSize` consecutive rows of the rollout (the same prompt repeated, see
 * `drawQueries`); each sequence-level advantage is applied to every token of its response.
 * Everything here is pure arithmetic on plain arrays, unit-tested on hand-computed cases.
 */
import type { Rng } from '../../runtime';
import type { AdvantageKind } from './config';
import { rowSums } from './core';

/**
 * A fixed prompt pool (sampled without replacement per batch), or a generator of batches. Either
 * is asked for batchSize/groupSize distinct prompts in the group modes (`drawQueries` repeats them).
 */
export type PromptSource =
  | number[][]
  | ((batchSize: number, rng: Rng, update: number) => number[][]);

/** ε of GRPO's (r − mean)/(std + ε), as TRL's `GRPOTrainer`. */
export const GRPO_EPS = 1e-4;

function checkGroups(n: number, groupSize: number): void {
  if (groupSize < 1 || n % groupSize !== 0)
    throw new Error(`group advantages: ${n} rewards do not split into groups of ${groupSize}`);
}

/**
 * RLOO: r_i minus the mean of the other members of its group, i.e. k/(k−1)·(r_i − group mean).
 * An unbiased baseline (it never sees r_i), so the estimate stays plain REINFORCE in expectation.
 */
export function rlooAdvantages(rewards: ArrayLike<number>, groupSize: number): Float32Array {
  checkGroups(rewards.length, groupSize);
  if (groupSize < 2)
    throw new Error('rlooAdvantages: a leave-one-out baseline needs groupSize ≥ 2');
  const out = new Float32Array(rewards.length);
  for (let g = 0; g < rewards.length; g += groupSize) {
    let sum = 0;
    for (let j = 0; j < groupSize; j++) sum += rewards[g + j]!;
    for (let j = 0; j < groupSize; j++) {
      const r = rewards[g + j]!;
      out[g + j] = r - (sum - r) / (groupSize - 1);
    }
  }
  return out;
}

/**
 * GRPO: (r_i − group mean)/(group std + ε). The std is Bessel-corrected, as torch's default
 * `std()` that TRL uses; a group of equal rewards gets advantage 0 (it carries no signal).
 */
export function grpoAdvantages(
  rewards: ArrayLike<number>,
  groupSize: number,
  eps = GRPO_EPS,
): Float32Array {
  checkGroups(rewards.length, groupSize);
  const out = new Float32Array(rewards.length);
  for (let g = 0; g < rewards.length; g += groupSize) {
    let sum = 0;
    for (let j = 0; j < groupSize; j++) sum += rewards[g + j]!;
    const mean = sum / groupSize;
    let ss = 0;
    for (let j = 0; j < groupSize; j++) ss += (rewards[g + j]! - mean) ** 2;
    const std = groupSize > 1 ? Math.sqrt(ss / (groupSize - 1)) : 0;
    for (let j = 0; j < groupSize; j++) out[g + j] = (rewards[g + j]! - mean) / (std + eps);
  }
  return out;
}

/**
 * Each response's sequence reward for a group method: RLOO's score − β·Σ_t kl_t (TRL `RLOOTrainer`:
 * `rlhf_reward = scores + non_score_reward`), or GRPO's bare score (its KL is a loss term).
 * `scores` already carry the missing-EOS penalty; `nonScore` is −β·kl per token, [B, R].
 */
export function sequenceRewards(
  kind: Exclude<AdvantageKind, 'gae'>,
  scores: Float32Array,
  nonScore: Float32Array,
  shape: [number, number],
): Float32Array {
  if (kind === 'grpo') return Float32Array.from(scores);
  const penalty = rowSums(nonScore, shape);
  return scores.map((s, b) => s + penalty[b]!);
}

/** One advantage per row copied onto every real token of that row ([B] → [B, R], 0 at padding). */
export function broadcastToTokens(
  perRow: ArrayLike<number>,
  mask: ArrayLike<number>,
  shape: [number, number],
): Float32Array {
  const [B, R] = shape;
  const out = new Float32Array(B * R);
  for (let b = 0; b < B; b++)
    for (let t = 0; t < R; t++) if (mask[b * R + t]) out[b * R + t] = perRow[b]!;
  return out;
}

/**
 * mask/|o_i| per token: used in place of the mask, a masked mean becomes GRPO's per-sequence mean
 * (1/G)·Σ_i (1/|o_i|)·Σ_t (DeepSeekMath eq. 3), so a long response weighs no more than a short one.
 */
export function sequenceWeights(mask: ArrayLike<number>, shape: [number, number]): Float32Array {
  const [B, R] = shape;
  const lengths = rowSums(mask, shape);
  const out = new Float32Array(B * R);
  for (let i = 0; i < B * R; i++) if (mask[i]) out[i] = 1 / lengths[Math.floor(i / R)]!;
  return out;
}

/** Draws `n` prompts without replacement (with replacement when the pool is smaller). */
export function drawPrompts(pool: number[][], n: number, rng: Rng): number[][] {
  if (pool.length === 0) throw new Error('trainPpo: the prompt pool is empty');
  if (pool.length < n) return Array.from({ length: n }, () => rng.pick(pool));
  const idx = Array.from({ length: pool.length }, (_, i) => i);
  return rng
    .shuffle(idx)
    .slice(0, n)
    .map((i) => pool[i]!);
}

/**
 * One rollout's queries: n/groupSize prompts from the source, each repeated `groupSize` times in
 * consecutive rows (groupSize 1 is plain PPO's draw, unchanged). The only place prompts are
 * grouped: a generator source (PIT RL's, with its sampled y_ref) is asked for distinct prompts
 * only, so every member of a group shares one query rather than resampling its reference.
 */
export function drawQueries(
  prompts: PromptSource,
  n: number,
  groupSize: number,
  rng: Rng,
  update: number,
): number[][] {
  checkGroups(n, groupSize);
  const distinct = n / groupSize;
  const drawn =
    typeof prompts === 'function'
      ? prompts(distinct, rng, update)
      : drawPrompts(prompts, distinct, rng);
  if (drawn.length !== distinct)
    throw new Error(`trainPpo: the prompt source gave ${drawn.length} prompts, ${distinct} asked`);
  if (groupSize === 1) return drawn;
  return drawn.flatMap((q) => Array.from({ length: groupSize }, () => [...q]));
}
