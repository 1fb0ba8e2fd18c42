/**
 * Pairwise comparison of two systems under one judge: win / tie / lose fractions and
 * Δ = win − lose with a percentile-bootstrap 95% CI, the PIT paper's headline metric.
 *
 * Tie rule: row i is a tie when |a_i − b_i| ≤ tieEps, a win for A when a_i − b_i > tieEps and a
 * loss otherwise. The default tieEps = 1e-6 only absorbs float rounding (the exact synthetic
 * judge gives fractions k/m stored as float32, so equal fractions compare equal anyway); pass a
 * larger tieEps for a noisy judge such as a reward model, where tiny gaps are not preferences.
 *
 * Δ is the mean of the per-row outcome o_i ∈ {+1, 0, −1}, so its bootstrap is the bootstrap of a
 * mean over rows (Efron 1979): resample rows with replacement, recompute Δ, take percentiles.
 */
import {
  type BootstrapOptions,
  bootstrapSettings,
  type Interval,
  meanCiOf,
  streamFor,
  toScores,
} from './bootstrap';

/** Default tie threshold on score differences: float rounding only. */
export const DEFAULT_TIE_EPS = 1e-6;

export interface CompareOptions extends BootstrapOptions {
  /** Rows with |a − b| ≤ tieEps are ties. @defaultValue {@link DEFAULT_TIE_EPS} */
  tieEps?: number;
}

/** Outcome of A against B over n rows; fractions in [0, 1], delta and its CI in [−1, 1]. */
export interface Comparison {
  n: number;
  win: number;
  tie: number;
  lose: number;
  /** win − lose. */
  delta: number;
  /** Percentile-bootstrap interval of delta over rows. */
  ci95: Interval;
  /**
   * P(A beats B) with ties counted half: win + tie/2 = (1 + delta)/2, so its interval is the
   * same map of `ci95` and excludes 0.5 exactly when delta's excludes 0.
   */
  winRate: number;
  winRateCi95: Interval;
}

/** Per-row outcome of A against B: +1 win, 0 tie, −1 loss (the tie rule in the header). */
export function outcomes(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  tieEps = DEFAULT_TIE_EPS,
): Int8Array {
  const sa = toScores(a, 'a', 'compare');
  const sb = toScores(b, 'b', 'compare');
  if (sa.length !== sb.length) {
    throw new Error(
      `compare: \`a\` has ${sa.length} rows but \`b\` has ${sb.length}; scores must be paired by row`,
    );
  }
  if (!(tieEps >= 0)) throw new Error(`compare: \`tieEps\` must be ≥ 0, got ${tieEps}`);
  const out = new Int8Array(sa.length);
  for (let i = 0; i < sa.length; i++) {
    const d = sa[i]! - sb[i]!;
    out[i] = d > tieEps ? 1 : d < -tieEps ? -1 : 0;
  }
  return out;
}

/**
 * Compares per-row scores of system A with those of system B under one judge.
 *
 * @param a - A's score on each row.
 * @param b - B's score on the same rows, in the same order.
 * @param opts - `tieEps` (default 1e-6), bootstrap `resamples` (default 2000), `level` (0.95)
 *   and the random stream (`label` defaults to `'eval/compare'`).
 * @example
 * compare([1, 0.5, 0.2], [0.5, 0.5, 0.8]) // win 1/3, tie 1/3, lose 1/3, delta 0
 */
export function compare(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  opts: CompareOptions = {},
): Comparison {
  const o = outcomes(a, b, opts.tieEps ?? DEFAULT_TIE_EPS);
  const [resamples, level] = bootstrapSettings(opts, 'compare');
  const n = o.length;
  let win = 0;
  let lose = 0;
  for (const v of o) {
    if (v > 0) win++;
    else if (v < 0) lose++;
  }
  // Δ is the mean of the outcomes, so its interval is the mean's
  const ci95 = meanCiOf(o, resamples, level, streamFor(opts, 'eval/compare'), opts.groups);
  return {
    n,
    win: win / n,
    tie: (n - win - lose) / n,
    lose: lose / n,
    delta: (win - lose) / n,
    ci95,
    winRate: (1 + (win - lose) / n) / 2,
    winRateCi95: [(1 + ci95[0]) / 2, (1 + ci95[1]) / 2],
  };
}
