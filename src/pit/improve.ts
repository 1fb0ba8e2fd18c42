/**
 * Self-improvement inference: y_{t+1} = M_PIT(x, y_t), batched, from y_0 ~ M_P^RL.
 *
 * Two stopping rules, both reported (the paper gives none; these are ours):
 * - fixed: exactly T iterations for every row;
 * - gap: a row stops at the first proposal that R_PIT does not rate as an improvement,
 *   R_PIT(x, y_{t+1}, y_t) ≤ threshold, and keeps y_t. Because R_PIT is trained so that
 *   r(x, y, y) ≈ 0, threshold 0 reads "stop when the improver no longer improves".
 * Both rules are read off one sampled trajectory, so they see the same samples.
 */
import type { Tokenizer } from '../data';
import type { Gpt } from '../models';
import type { RewardModel } from '../models/reward';
import type { Rng } from '../runtime';
import { improveOnce, scoreGap } from './generate';

export interface ImproveOptions {
  /** Improvement steps T. @defaultValue 5 */
  iterations: number;
  /** Sampling temperature of M_PIT (the paper finds 0.4–0.6 best). @defaultValue 0.4 */
  temperature: number;
  maxNewTokens: number;
  /** Gap rule threshold on R_PIT(x, y_{t+1}, y_t). @defaultValue 0 */
  gapThreshold: number;
  rng: Rng;
}

export interface ImproveTrace {
  /** ys[t][row]: the fixed-rule trajectory, t = 0..T (ys[0] = y_0). */
  ys: string[][];
  /** gaps[t][row] = R_PIT(x, ys[t+1], ys[t]), t = 0..T-1. */
  gaps: number[][];
  /** Gap rule: the iteration each row stopped at (T when it never stopped). */
  stoppedAt: number[];
  /** Gap rule: each row's final response. */
  gapFinal: string[];
}

export function selfImprove(
  improver: Gpt,
  gapModel: RewardModel,
  tok: Tokenizer,
  xs: readonly string[],
  y0: readonly string[],
  options: ImproveOptions,
): ImproveTrace {
  const ys: string[][] = [y0.slice()];
  const gaps: number[][] = [];
  for (let t = 0; t < options.iterations; t++) {
    const prev = ys[t]!;
    const next = improveOnce(improver, tok, xs, prev, options);
    ys.push(next);
    gaps.push(Array.from(scoreGap(gapModel, tok, xs, next, prev)));
  }
  const stoppedAt = xs.map((_, row) => {
    const t = gaps.findIndex((g) => g[row]! <= options.gapThreshold);
    return t < 0 ? options.iterations : t;
  });
  const gapFinal = stoppedAt.map((t, row) => ys[t]![row]!);
  return { ys, gaps, stoppedAt, gapFinal };
}

/** The response each row holds after `t` iterations under the gap rule. */
export function gapRuleAt(trace: ImproveTrace, t: number): string[] {
  return trace.stoppedAt.map((s, row) => trace.ys[Math.min(s, t)]![row]!);
}
