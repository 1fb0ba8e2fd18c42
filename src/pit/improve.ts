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
  /**
   * Also score R_PIT's gap for rows the gap rule has already stopped, to inspect every step; by
   * default those rows are skipped (their gaps are NaN), since the rule never reads them and
   * two R_PIT passes per row and step are most of the inference cost. @defaultValue false
   */
  scoreStoppedRows?: boolean;
}

export interface ImproveTrace {
  /** ys[t][row]: the fixed-rule trajectory, t = 0..T (ys[0] = y_0). */
  ys: string[][];
  /**
   * gaps[t][row] = R_PIT(x, ys[t+1], ys[t]), t = 0..T-1; NaN (null in JSON) after the row's
   * gap-rule stop unless `scoreStoppedRows`. gaps[0] is always complete.
   */
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
  const going = xs.map(() => true); // rows the gap rule has not stopped yet
  for (let t = 0; t < options.iterations; t++) {
    const prev = ys[t]!;
    const next = improveOnce(improver, tok, xs, prev, options);
    ys.push(next);
    const rows = xs.flatMap((_, row) => (going[row] || options.scoreStoppedRows ? [row] : []));
    const pick = (v: readonly string[]) => rows.map((row) => v[row]!);
    const scored = scoreGap(gapModel, tok, pick(xs), pick(next), pick(prev));
    const gap = xs.map(() => Number.NaN);
    rows.forEach((row, i) => {
      gap[row] = scored[i]!;
      if (scored[i]! <= options.gapThreshold) going[row] = false;
    });
    gaps.push(gap);
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
