/** Pairwise win / tie / lose, Δ and its bootstrap CI: hand-computed cases and coverage. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { compare, outcomes } from '../../src/eval';
import { Rng, runtime } from '../../src/runtime';

const close = (x: number, y: number, eps = 1e-12) =>
  assert.ok(Math.abs(x - y) <= eps, `expected ${y}, got ${x}`);

test('win / tie / lose / Δ on a hand-computed case', () => {
  // rows: A wins, tie, A loses, A wins
  const c = compare([1, 0.5, 0.2, 0.9], [0.5, 0.5, 0.8, 0.1]);
  assert.is(c.n, 4);
  close(c.win, 0.5);
  close(c.tie, 0.25);
  close(c.lose, 0.25);
  close(c.delta, 0.25);
  assert.ok(c.ci95[0] <= c.delta && c.delta <= c.ci95[1]);
  assert.ok(c.ci95[0] >= -1 && c.ci95[1] <= 1);
  // the bootstrap of a mean of {+1, 0, −1} over 4 rows takes only multiples of 1/4
  for (const end of c.ci95) close(end * 4, Math.round(end * 4), 1e-9);
});

test('the tie rule: |a − b| ≤ tieEps is a tie, float rounding ties by default', () => {
  assert.equal(Array.from(outcomes([0.5, 0.5, 0.5], [0.45, 0.4, 0.6], 0.05)), [0, 1, -1]);
  const third = Float32Array.from([2 / 3]);
  assert.equal(Array.from(outcomes(third, [2 / 3])), [0]); // float32 vs float64 of the same k/m
  assert.equal(Array.from(outcomes([0.5], [0.5 + 1e-3])), [-1]);
});

test('a clean sweep has Δ = 1 with a degenerate CI, and swapping sides negates everything', () => {
  const a = [1, 1, 0.9, 0.8];
  const b = [0, 0.2, 0.1, 0.3];
  const ab = compare(a, b);
  assert.equal(
    { win: ab.win, tie: ab.tie, lose: ab.lose, delta: ab.delta },
    {
      win: 1,
      tie: 0,
      lose: 0,
      delta: 1,
    },
  );
  assert.equal(ab.ci95, [1, 1]);
  const x = [0.3, 0.9, 0.1, 0.5, 0.5, 0.7];
  const y = [0.2, 0.4, 0.6, 0.5, 0.9, 0.1];
  const p = compare(x, y, { label: 'swap' });
  const q = compare(y, x, { label: 'swap' });
  close(p.delta, -q.delta);
  close(p.ci95[0], -q.ci95[1]);
  close(p.ci95[1], -q.ci95[0]);
});

test('deterministic by seed and label; a different label or seed resamples differently', () => {
  const r = new Rng(3);
  const a = Array.from({ length: 60 }, () => r.next());
  const b = Array.from({ length: 60 }, () => r.next());
  runtime.seed(7);
  const one = compare(a, b, { label: 'x' });
  assert.equal(compare(a, b, { label: 'x' }), one);
  assert.not.equal(compare(a, b, { label: 'y' }).ci95, one.ci95);
  runtime.seed(8);
  assert.not.equal(compare(a, b, { label: 'x' }).ci95, one.ci95);
  runtime.seed(0);
});

test('bad input names the argument', () => {
  assert.throws(() => compare([1, 2], [1]), /`a` has 2 rows but `b` has 1/);
  assert.throws(() => compare([], []), /`a` is empty/);
  assert.throws(() => compare([1, Number.NaN], [0, 0]), /`a`\[1\] is NaN/);
  assert.throws(() => compare([1], [0], { resamples: 0 }), /`resamples`/);
  assert.throws(() => compare([1], [0], { tieEps: -1 }), /`tieEps`/);
});

test('95% CI of Δ covers the true Δ in ≈ 95% of simulated experiments', () => {
  // Rows are i.i.d. with P(win) = 0.45, P(tie) = 0.2, P(lose) = 0.35, so the true Δ = 0.10.
  // 1000 experiments of 100 rows, 500 resamples each. Binomial noise on the coverage is
  // σ = √(0.95·0.05/1000) ≈ 0.0069; percentile intervals also undercover by O(1/n) (Hall 1988),
  // about a point at n = 100. Accept [0.95 − 3σ − 0.01, 0.95 + 3.5σ] ≈ [0.92, 0.975]:
  // an interval that is ~15% too narrow or too wide falls outside it.
  const rng = new Rng(2024);
  const sims = 1000;
  const n = 100;
  let covered = 0;
  let width = 0;
  for (let s = 0; s < sims; s++) {
    const a = new Float64Array(n);
    const b = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const u = rng.next();
      a[i] = u < 0.45 ? 1 : u < 0.65 ? 0.5 : 0;
      b[i] = 0.5;
    }
    const c = compare(a, b, { resamples: 500, rng });
    if (c.ci95[0] <= 0.1 && 0.1 <= c.ci95[1]) covered++;
    width += (c.ci95[1] - c.ci95[0]) / sims;
  }
  const coverage = covered / sims;
  assert.ok(coverage >= 0.92 && coverage <= 0.975, `coverage ${coverage}`);
  // normal-theory width: 2·1.96·sd/√n with sd² = E[o²] − Δ² = 0.8 − 0.01
  const expected = (2 * 1.96 * Math.sqrt(0.79)) / Math.sqrt(n);
  assert.ok(Math.abs(width / expected - 1) < 0.05, `mean width ${width} vs ${expected}`);
});

test.run();
