/** PPO's pure helpers on hand-computed cases: masked statistics, GAE, KL estimators, rewards, EOS. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  AdaptiveKlController,
  computeGae,
  klPerToken,
  lastTokenIndex,
  maskedMean,
  maskedVar,
  maskedWhiten,
  resolvePpoConfig,
  tokenRewards,
  truncateAtStop,
} from '../../src/train/ppo';
import { assertClose } from '../helpers';

test('maskedMean / maskedVar ignore masked entries; var is unbiased like TRL', () => {
  const v = [1, 2, 3, 100];
  const m = [1, 1, 1, 0];
  assert.is(maskedMean(v, m), 2);
  assert.is(maskedVar(v, m), 1); // ((1-2)² + 0 + (3-2)²) / (3-1)
  assert.is(maskedMean(v, [0, 0, 0, 0]), 0);
  assert.is(maskedVar([5], [1]), 0);
});

test('maskedWhiten: zero mean, unit variance on the mask, zeros elsewhere; shiftMean=false keeps the mean', () => {
  const v = [1, 2, 3, 100];
  const m = [1, 1, 1, 0];
  const w = maskedWhiten(v, m);
  assertClose(w, [-1, 0, 1, 0], 1e-4, 'whiten');
  assertClose(maskedWhiten(v, m, false), [1, 2, 3, 0], 1e-4, 'scale-only');
  const big = Array.from({ length: 50 }, (_, i) => (i * 37) % 11);
  const ones = big.map(() => 1);
  const wb = maskedWhiten(big, ones);
  assert.ok(Math.abs(maskedMean(wb, ones)) < 1e-6);
  assert.ok(Math.abs(maskedVar(wb, ones) - 1) < 1e-4);
});

test('computeGae matches a hand-computed case with a padded row', () => {
  // Row 0: three real tokens. Row 1: two real tokens, then padding with junk values/rewards.
  const rewards = [0, 0, 1, 0.5, 2, 9];
  const values = [0.5, 0.2, 0.1, 0.3, 0.4, 7];
  const mask = [1, 1, 1, 1, 1, 0];
  const { advantages, returns } = computeGae(rewards, values, mask, [2, 3], 1, 0.5);
  // Row 0 backwards, γ=1, λ=0.5:
  //   t=2: δ = 1 + 0 − 0.1 = 0.9;          A = 0.9
  //   t=1: δ = 0 + 0.1 − 0.2 = −0.1;       A = −0.1 + 0.5·0.9 = 0.35
  //   t=0: δ = 0 + 0.2 − 0.5 = −0.3;       A = −0.3 + 0.5·0.35 = −0.125
  // Row 1: t=2 is padding (ignored);
  //   t=1: δ = 2 + 0 − 0.4 = 1.6;          A = 1.6
  //   t=0: δ = 0.5 + 0.4 − 0.3 = 0.6;      A = 0.6 + 0.5·1.6 = 1.4
  assertClose(advantages, [-0.125, 0.35, 0.9, 1.4, 1.6, 0], 1e-6, 'A');
  assertClose(returns, [0.375, 0.55, 1.0, 1.7, 2.0, 0], 1e-6, 'G');
});

test('computeGae with γ=1, λ=1 gives returns equal to the reward-to-go', () => {
  const rewards = [1, 2, 3];
  const { returns } = computeGae(rewards, [0.3, -1, 4], [1, 1, 1], [1, 3], 1, 1);
  assertClose(returns, [6, 5, 3], 1e-6);
});

test('k1 and k3 on a known pair of distributions: means equal KL(p‖q); k3 is never negative', () => {
  // p = (0.7, 0.2, 0.1), q = (0.4, 0.4, 0.2); exact expectations under p.
  const p = [0.7, 0.2, 0.1];
  const q = [0.4, 0.4, 0.2];
  const kl = p.reduce((s, pi, i) => s + pi * Math.log(pi / q[i]!), 0);
  const lp = p.map(Math.log);
  const lq = q.map(Math.log);
  const k1 = klPerToken(lp, lq, 'k1');
  const k3 = klPerToken(lp, lq, 'k3');
  const expect = (k: ArrayLike<number>) => p.reduce((s, pi, i) => s + pi * k[i]!, 0);
  assert.ok(Math.abs(expect(k1) - kl) < 1e-6, `E[k1] ${expect(k1)} vs KL ${kl}`);
  assert.ok(Math.abs(expect(k3) - kl) < 1e-6, `E[k3] ${expect(k3)} vs KL ${kl}`);
  assert.ok(k1[1]! < 0, 'k1 is negative where q > p');
  for (const v of k3) assert.ok(v >= 0);
  assertClose(klPerToken([0.3], [0.3], 'k3'), [0]);
});

test('adaptive KL controller: β grows above target, shrinks below, error clipped at ±0.2', () => {
  const ctl = new AdaptiveKlController(0.1, 6, 1000);
  ctl.update(12, 100); // error = min(1, 0.2) = 0.2 → β·(1 + 0.2·0.1)
  assert.ok(Math.abs(ctl.value - 0.102) < 1e-9);
  ctl.update(3, 100); // error = −0.5 → −0.2 → ·(1 − 0.02)
  assert.ok(Math.abs(ctl.value - 0.102 * 0.98) < 1e-9);
  ctl.update(6, 100);
  assert.ok(Math.abs(ctl.value - 0.102 * 0.98) < 1e-9, 'no change at target');
});

test('EOS: responses that end early are cut after EOS; those that never end are capped', () => {
  const EOS = 2;
  const { responses, finished } = truncateAtStop(
    [
      [7, 2, 9, 9],
      [7, 8, 9, 9],
      [2, 5],
    ],
    EOS,
    3,
  );
  assert.equal(responses, [[7, 2], [7, 8, 9], [2]]);
  assert.equal(finished, [true, false, true]);
  // EOS beyond the cap does not count as finished.
  assert.equal(truncateAtStop([[1, 1, 1, 2]], EOS, 3), {
    responses: [[1, 1, 1]],
    finished: [false],
  });
});

test('tokenRewards: −β·KL on every real token, score at EOS or last token, missing-EOS penalty', () => {
  // Row 0 ended at t=1 (EOS), row 1 never ended (3 tokens, cap 3).
  const mask = [1, 1, 0, 1, 1, 1];
  const kl = [0.5, 1, 0, 0.2, 0, -0.4];
  const r = tokenRewards(kl, [2, 3], mask, [true, false], [2, 3], {
    klCoef: 0.1,
    missingEosPenalty: 1,
  });
  assertClose(r.scores, [2, 2], 1e-6, 'scores');
  assertClose(r.nonScore, [-0.05, -0.1, 0, -0.02, 0, 0.04], 1e-6, 'nonScore');
  assertClose(r.rewards, [-0.05, 1.9, 0, -0.02, 0, 2.04], 1e-6, 'rewards');
  assert.equal([...lastTokenIndex(mask, [2, 3])], [1, 2]);
});

test('config: unknown keys, bad estimators, PAD = EOS and indivisible minibatches are rejected', () => {
  assert.is(resolvePpoConfig().clipRange, 0.2);
  assert.throws(
    () => resolvePpoConfig({ cliprange: 0.1 } as never),
    /Unknown PpoConfig key 'cliprange'/,
  );
  assert.throws(
    () => resolvePpoConfig({ klEstimator: 'k2' as never }),
    /klEstimator must be one of k1, k3/,
  );
  assert.throws(() => resolvePpoConfig({ padId: 2 }), /padId must be different from eosId/);
  assert.throws(
    () => resolvePpoConfig({ batchSize: 6, nMinibatches: 4 }),
    /batchSize must be divisible by nMinibatches/,
  );
});

test.run();
