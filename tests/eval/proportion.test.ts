/** Wilson intervals: known values, bounds at 0 and n, bad input. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { clusteredFraction, fractionCi95, wilsonInterval } from '../../src/eval';
import { runtime } from '../../src/runtime';

const near = (a: number, b: number, tol = 5e-4) => Math.abs(a - b) < tol;

test('matches the textbook Wilson interval (k = 81 of n = 100: [0.722, 0.875])', () => {
  const [lo, hi] = wilsonInterval(81, 100);
  assert.ok(near(lo, 0.7222) && near(hi, 0.8749), `${lo}, ${hi}`);
});

test('stays inside [0, 1] at k = 0 and k = n, and narrows as n grows', () => {
  const [lo0, hi0] = wilsonInterval(0, 20);
  const [loN, hiN] = wilsonInterval(20, 20);
  assert.is(lo0, 0);
  assert.ok(hi0 > 0 && hi0 < 0.2);
  assert.is(hiN, 1);
  assert.ok(loN > 0.8 && loN < 1);
  const width = (n: number) => {
    const [lo, hi] = fractionCi95(0.8, n);
    return hi - lo;
  };
  assert.ok(width(2000) < width(200) && width(200) < width(20));
});

test('bad counts are an error naming k and n', () => {
  assert.throws(() => wilsonInterval(5, 0), /k=5, n=0/);
  assert.throws(() => wilsonInterval(7, 5), /k=7, n=5/);
});

test('clusteredFraction: unequal clusters, the ratio of hits, wider when clusters agree inside', () => {
  // 30 clusters of 1–4 rows; within a cluster every row agrees (all hits or all misses).
  const hits: number[] = [];
  const groups: number[] = [];
  for (let c = 0; c < 30; c++) {
    for (let r = 0; r < 1 + (c % 4); r++) {
      hits.push(c % 3 === 0 ? 0 : 1);
      groups.push(c);
    }
  }
  const opts = { resamples: 2000, rng: runtime.rng('test/fraction') };
  const clustered = clusteredFraction(hits, { ...opts, groups });
  const rows = clusteredFraction(hits, { ...opts, rng: runtime.rng('test/fraction') });
  const k = hits.reduce((a, b) => a + b, 0);
  assert.is(clustered.n, hits.length);
  assert.ok(Math.abs(clustered.mean - k / hits.length) < 1e-12);
  assert.ok(clustered.ci95[0] < clustered.mean && clustered.mean < clustered.ci95[1]);
  const width = (ci: [number, number]) => ci[1] - ci[0];
  assert.ok(
    width(clustered.ci95) > 1.3 * width(rows.ci95),
    `clustered ${width(clustered.ci95)} vs rows ${width(rows.ci95)}`,
  );
  // The same stream gives the same interval.
  const again = clusteredFraction(hits, { ...opts, rng: runtime.rng('test/fraction'), groups });
  assert.equal(again.ci95, clustered.ci95);
});

test('clusteredFraction: bad input names what was expected', () => {
  assert.throws(() => clusteredFraction([]), /no rows/);
  assert.throws(() => clusteredFraction([1, 0.5]), /hits\[1\] is 0.5, expected 0 or 1/);
  assert.throws(() => clusteredFraction([1, 0], { groups: [0] }), /1 labels for 2 rows/);
});

test.run();
