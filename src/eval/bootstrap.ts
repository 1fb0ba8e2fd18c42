/**
 * Nonparametric bootstrap over rows: resampling, percentile intervals and the mean with its CI.
 *
 * Every interval in `src/eval` is a percentile bootstrap (Efron 1979, "Bootstrap methods: another
 * look at the jackknife"; Efron & Tibshirani 1993, *An Introduction to the Bootstrap*, ch. 13):
 * draw `resamples` sets of n row indices with replacement, recompute the statistic on each, and
 * take the 2.5% and 97.5% quantiles. Rows (prompts) are the unit of resampling because they are
 * what is independent; scores of several systems on one row are correlated and stay together.
 * Randomness comes from a named `runtime.rng(label)` stream, so the same seed gives the same CI.
 */
import type { Rng } from '../runtime/rng';
import { runtime } from '../runtime/runtime';

/**
 * Default number of bootstrap resamples. At 2000 the Monte Carlo error of a 2.5% quantile is
 * small next to the sampling error it measures (Efron & Tibshirani 1993 §19.3 suggest ≥ 1000
 * for percentile intervals), and one resample of 10k rows costs well under a millisecond.
 */
export const DEFAULT_RESAMPLES = 2000;

/** Options shared by every bootstrapped statistic. */
export interface BootstrapOptions {
  /** Number of bootstrap resamples. @defaultValue {@link DEFAULT_RESAMPLES} */
  resamples?: number;
  /** Confidence level of the interval. @defaultValue 0.95 */
  level?: number;
  /**
   * Random stream for the resampling. @defaultValue `runtime.rng(label)`: determined by the
   * root seed and the label, so the same call gives the same interval.
   */
  rng?: Rng;
  /** Name of the `runtime.rng` stream when `rng` is not given. Each caller has its own default. */
  label?: string;
  /**
   * Cluster of each row, for rows that are not independent (several samples of one prompt):
   * resampling then draws whole clusters, so the interval reflects the number of clusters, not of
   * rows. Clusters must be equally sized. @defaultValue every row its own cluster
   */
  groups?: ArrayLike<number>;
}

/** A confidence interval [low, high]. */
export type Interval = [number, number];

/** Mean of per-row scores with its percentile-bootstrap interval. */
export interface MeanCi {
  n: number;
  mean: number;
  /** Percentile-bootstrap interval at `level` (95% unless told otherwise). */
  ci95: Interval;
}

/** The stream an option bag asks for, or the named default stream of the runtime. */
export function streamFor(opts: BootstrapOptions, fallback: string): Rng {
  return opts.rng ?? runtime.rng(opts.label ?? fallback);
}

/** Validates and returns the resample count and level of an option bag. */
export function bootstrapSettings(opts: BootstrapOptions, fn: string): [number, number] {
  const resamples = opts.resamples ?? DEFAULT_RESAMPLES;
  const level = opts.level ?? 0.95;
  if (!Number.isInteger(resamples) || resamples < 1) {
    throw new Error(`${fn}: \`resamples\` must be a positive integer, got ${resamples}`);
  }
  if (!(level > 0 && level < 1)) {
    throw new Error(`${fn}: \`level\` must lie strictly between 0 and 1, got ${level}`);
  }
  return [resamples, level];
}

/** Copies scores to a Float64Array, rejecting empty input and non-finite values by row. */
export function toScores(values: ArrayLike<number>, name: string, fn: string): Float64Array {
  if (values.length === 0) throw new Error(`${fn}: \`${name}\` is empty; need at least one row`);
  const out = Float64Array.from(values);
  const bad = out.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) throw new Error(`${fn}: \`${name}\`[${bad}] is ${out[bad]}, expected a number`);
  return out;
}

/**
 * Quantile `q` of an ascending-sorted sample by linear interpolation between order statistics
 * (Hyndman & Fan 1996, definition 7; the default of R and NumPy).
 */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) throw new Error('quantile: empty sample');
  const h = (n - 1) * Math.min(1, Math.max(0, q));
  const lo = Math.floor(h);
  const hi = Math.min(n - 1, lo + 1);
  return sorted[lo]! + (h - lo) * (sorted[hi]! - sorted[lo]!);
}

/** Equal-tailed percentile interval of bootstrap replicates (sorts `replicates` in place). */
export function percentileInterval(replicates: Float64Array, level = 0.95): Interval {
  replicates.sort();
  const tail = (1 - level) / 2;
  return [quantile(replicates, tail), quantile(replicates, 1 - tail)];
}

/**
 * Rows of each cluster, in cluster order; throws unless `groups` labels each of the n rows and
 * every cluster has the same size (so a resample of clusters always holds n rows).
 */
export function clusterRows(groups: ArrayLike<number>, n: number, fn: string): Int32Array[] {
  if (groups.length !== n) {
    throw new Error(
      `${fn}: \`groups\` has ${groups.length} labels for ${n} rows; need one per row`,
    );
  }
  const byLabel = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    const g = groups[i]!;
    if (!byLabel.has(g)) byLabel.set(g, []);
    byLabel.get(g)!.push(i);
  }
  const [labels, clusters] = [[...byLabel.keys()], [...byLabel.values()]];
  const size = clusters[0]?.length ?? 0;
  const odd = clusters.findIndex((c) => c.length !== size);
  if (odd >= 0) {
    throw new Error(
      `${fn}: cluster ${labels[odd]} has ${clusters[odd]!.length} rows but cluster ${labels[0]} has ${size}; clusters must be equally sized`,
    );
  }
  return clusters.map((c) => Int32Array.from(c));
}

/**
 * Bootstrap replicates of a statistic over n rows. `statistic` receives the resampled row
 * indices (a reused buffer of n entries: read it, do not keep it) and returns one number. With
 * `groups`, whole clusters are drawn with replacement (the cluster bootstrap, Davison & Hinkley
 * 1997 §3.8), since rows of one cluster are not independent draws.
 */
export function bootstrapReplicates(
  n: number,
  statistic: (rows: Int32Array) => number,
  resamples: number,
  rng: Rng,
  groups?: ArrayLike<number>,
): Float64Array {
  const rows = new Int32Array(n);
  const out = new Float64Array(resamples);
  const clusters = groups ? clusterRows(groups, n, 'bootstrap') : undefined;
  for (let b = 0; b < resamples; b++) {
    if (clusters) {
      let at = 0;
      for (let c = 0; c < clusters.length; c++) {
        const drawn = clusters[rng.int(clusters.length)]!;
        rows.set(drawn, at);
        at += drawn.length;
      }
    } else {
      for (let i = 0; i < n; i++) rows[i] = rng.int(n);
    }
    out[b] = statistic(rows);
  }
  return out;
}

/** Percentile-bootstrap CI of the mean of `values` (rows, or `groups`' clusters, resampled with replacement). */
export function meanCiOf(
  values: ArrayLike<number>,
  resamples: number,
  level: number,
  rng: Rng,
  groups?: ArrayLike<number>,
): Interval {
  const n = values.length;
  const reps = bootstrapReplicates(
    n,
    (rows) => {
      let s = 0;
      for (let i = 0; i < n; i++) s += values[rows[i]!]!;
      return s / n;
    },
    resamples,
    rng,
    groups,
  );
  return percentileInterval(reps, level);
}

/**
 * Mean per-row score with a percentile-bootstrap CI.
 *
 * @param scores - one judge score per row (prompt).
 * @param opts - resample count (default 2000), level (0.95), and the stream (`label` defaults
 *   to `'eval/mean'`).
 */
export function meanWithCi(scores: ArrayLike<number>, opts: BootstrapOptions = {}): MeanCi {
  const values = toScores(scores, 'scores', 'meanWithCi');
  const [resamples, level] = bootstrapSettings(opts, 'meanWithCi');
  let s = 0;
  for (const v of values) s += v;
  const ci95 = meanCiOf(values, resamples, level, streamFor(opts, 'eval/mean'), opts.groups);
  return { n: values.length, mean: s / values.length, ci95 };
}
