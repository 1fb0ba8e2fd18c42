/** Confidence intervals for a proportion (e.g. a reward model's accuracy on n held-out pairs). */
import {
  type BootstrapOptions,
  bootstrapSettings,
  type MeanCi,
  percentileInterval,
  streamFor,
} from './bootstrap';

/**
 * Wilson score interval for k successes in n trials at 95% (z = 1.96). Unlike the normal
 * approximation it stays inside [0, 1] and is usable near 0 or 1 and for small n.
 */
export function wilsonInterval(k: number, n: number, z = 1.96): [number, number] {
  if (!(Number.isInteger(n) && n > 0) || !(k >= 0 && k <= n)) {
    throw new Error(`wilsonInterval: need 0 ≤ k ≤ n and n a positive integer, got k=${k}, n=${n}`);
  }
  const p = k / n;
  const z2 = z * z;
  const centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const half = (z / (1 + z2 / n)) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}

/** The Wilson interval of an observed fraction `p` of `n` (k = round(p·n)). */
export function fractionCi95(p: number, n: number): [number, number] {
  return wilsonInterval(Math.round(p * n), n);
}

/**
 * A fraction of 0/1 `hits` with a cluster-bootstrap interval for clusters of *any* size (the
 * edits that changed a judge's score, or pairs sharing a prompt): whole clusters are drawn with
 * replacement and the statistic is Σ hits / Σ rows of the draw, the ratio estimator (Davison &
 * Hinkley 1997 §3.8). Without `groups` every row is its own cluster.
 */
export function clusteredFraction(hits: ArrayLike<number>, opts: BootstrapOptions = {}): MeanCi {
  const n = hits.length;
  if (n === 0) throw new Error('clusteredFraction: no rows');
  const groups = opts.groups ?? Int32Array.from({ length: n }, (_, i) => i);
  if (groups.length !== n)
    throw new Error(`clusteredFraction: \`groups\` has ${groups.length} labels for ${n} rows`);
  const sums = new Map<number, [number, number]>();
  for (let i = 0; i < n; i++) {
    const h = hits[i]!;
    if (h !== 0 && h !== 1)
      throw new Error(`clusteredFraction: hits[${i}] is ${h}, expected 0 or 1`);
    const s = sums.get(groups[i]!) ?? [0, 0];
    sums.set(groups[i]!, [s[0] + h, s[1] + 1]);
  }
  const clusters = [...sums.values()];
  const [resamples, level] = bootstrapSettings(opts, 'clusteredFraction');
  const rng = streamFor(opts, 'eval/fraction');
  const reps = new Float64Array(resamples);
  for (let b = 0; b < resamples; b++) {
    let [k, m] = [0, 0];
    for (let c = 0; c < clusters.length; c++) {
      const [ck, cm] = clusters[rng.int(clusters.length)]!;
      k += ck;
      m += cm;
    }
    reps[b] = k / m;
  }
  let total = 0;
  for (let i = 0; i < n; i++) total += hits[i]!;
  return { n, mean: total / n, ci95: percentileInterval(reps, level) };
}
