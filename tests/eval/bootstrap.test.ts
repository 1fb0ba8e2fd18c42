/** Quantiles, percentile intervals and the mean with its bootstrap CI. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { compare, meanWithCi, percentileInterval, quantile } from '../../src/eval';
import { Rng } from '../../src/runtime';

test('quantile interpolates between order statistics (Hyndman–Fan type 7)', () => {
  const xs = [1, 2, 3, 4, 5];
  assert.is(quantile(xs, 0), 1);
  assert.is(quantile(xs, 1), 5);
  assert.is(quantile(xs, 0.5), 3);
  assert.is(quantile(xs, 0.1), 1.4); // h = 0.4
  assert.is(quantile([7], 0.3), 7);
  assert.equal(percentileInterval(Float64Array.from([5, 1, 4, 2, 3]), 0.8), [1.4, 4.6]);
});

test('a constant sample has its mean as both CI ends', () => {
  const m = meanWithCi([0.5, 0.5, 0.5]);
  assert.equal(m, { n: 3, mean: 0.5, ci95: [0.5, 0.5] });
});

test('mean CI on a normal sample matches normal theory', () => {
  const rng = new Rng(11);
  const n = 400;
  const xs = Array.from({ length: n }, () => 3 + 2 * rng.normal());
  const m = meanWithCi(xs, { rng });
  const mean = xs.reduce((s, v) => s + v, 0) / n;
  const sd = Math.sqrt(xs.reduce((s, v) => s + (v - mean) ** 2, 0) / (n - 1));
  assert.ok(Math.abs(m.mean - mean) < 1e-12);
  const half = (1.96 * sd) / Math.sqrt(n);
  // Monte Carlo error of each end with 2000 resamples is ~2% of the half-width
  assert.ok(Math.abs(m.ci95[0] - (mean - half)) < 0.1 * half, `lo ${m.ci95[0]}`);
  assert.ok(Math.abs(m.ci95[1] - (mean + half)) < 0.1 * half, `hi ${m.ci95[1]}`);
});

test('mean CI covers the true mean in ≈ 95% of normal samples', () => {
  // 400 samples of n = 50 from N(3, 2²). σ of the coverage ≈ 0.011; the percentile interval of a
  // mean at n = 50 undercovers by about a point (z instead of t, 1/n variance). Accept
  // [0.95 − 3σ − 0.01, 0.95 + 3σ] ≈ [0.907, 0.983].
  const rng = new Rng(5);
  let covered = 0;
  const sims = 400;
  for (let s = 0; s < sims; s++) {
    const xs = Array.from({ length: 50 }, () => 3 + 2 * rng.normal());
    const { ci95 } = meanWithCi(xs, { resamples: 500, rng });
    if (ci95[0] <= 3 && 3 <= ci95[1]) covered++;
  }
  const coverage = covered / sims;
  assert.ok(coverage >= 0.907 && coverage <= 0.983, `coverage ${coverage}`);
});

test('level and bad input', () => {
  const rng = new Rng(1);
  const xs = Array.from({ length: 100 }, () => rng.normal());
  const w95 = meanWithCi(xs, { label: 'l' }).ci95;
  const w50 = meanWithCi(xs, { label: 'l', level: 0.5 }).ci95;
  assert.ok(w50[1] - w50[0] < w95[1] - w95[0]);
  assert.throws(() => meanWithCi([]), /`scores` is empty/);
  assert.throws(() => meanWithCi([1], { level: 1 }), /`level`/);
});

test('groups resample whole clusters: K copies of a row count as one row', () => {
  // Cluster c's K rows all equal means[c], so drawing clusters is drawing the cluster means: the
  // same stream must give the same interval as the unclustered bootstrap of the means.
  const means = Array.from({ length: 40 }, (_, c) => Math.sin(c) ** 2);
  const K = 4;
  const rows = Array.from({ length: means.length * K }, (_, i) => means[i % means.length]!);
  const groups = rows.map((_, i) => i % means.length);
  const clustered = meanWithCi(rows, { groups, rng: new Rng(3) });
  const plain = meanWithCi(means, { rng: new Rng(3) }).ci95;
  for (const k of [0, 1]) assert.ok(Math.abs(clustered.ci95[k]! - plain[k]!) < 1e-12);
  assert.is(clustered.n, rows.length);
  // Treating the copies as independent rows would narrow the interval about √K-fold.
  const naive = meanWithCi(rows, { rng: new Rng(3) });
  const width = (ci: [number, number]) => ci[1] - ci[0];
  assert.ok(width(naive.ci95) < 0.7 * width(clustered.ci95), `${naive.ci95} vs ${clustered.ci95}`);
  // compare() takes the same option.
  const cmp = compare(
    rows,
    rows.map((v) => v - 0.1 * Math.sign(v - 0.5)),
    { groups, rng: new Rng(1) },
  );
  assert.ok(cmp.ci95[0] <= cmp.delta && cmp.delta <= cmp.ci95[1]);
});

test('groups must label every row and be equally sized', () => {
  assert.throws(() => meanWithCi([1, 2, 3], { groups: [0, 1] }), /2 labels for 3 rows/);
  assert.throws(
    () => meanWithCi([1, 2, 3], { groups: [0, 0, 1] }),
    /cluster 1 has 1 rows but cluster 0 has 2/,
  );
});

test.run();
