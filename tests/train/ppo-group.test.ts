/**
 * Critic-free PPO (advantage 'rloo' / 'grpo'): the group baselines on a hand-computed reward
 * matrix, the config rules, grouped prompt draws (PIT RL's sampled references included), the GAE
 * checkpoint hash kept as it was, and RLOO/GRPO raising a bandit reward without a critic.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SPECIAL_IDS } from '../../src/data';
import { Gpt } from '../../src/models';
import { resolvePipelineConfig } from '../../src/pit/config';
import { Rng, runtime } from '../../src/runtime';
import { configHash, latestStageCheckpoint } from '../../src/train';
import {
  type PitExample,
  pitPromptSource,
  splitPitQuery,
  trainPitRl,
} from '../../src/train/pit_rl';
import {
  broadcastToTokens,
  CRITIC_METRICS,
  DEFAULT_PPO_CONFIG,
  drawQueries,
  GRPO_EPS,
  grpoAdvantages,
  k3KlLoss,
  type PpoConfig,
  resolvePpoConfig,
  rlooAdvantages,
  sequenceRewards,
  sequenceWeights,
  trainPpo,
  ValueModel,
} from '../../src/train/ppo';
import { assertClose } from '../helpers';
import { PROMPTS, TARGET, targetReward, V } from './fixtures/bandit';

// Two prompts × three samples, row-major by prompt: [1, 2, 3] and [0, 0, 3].
const REWARDS = [1, 2, 3, 0, 0, 3];

test('RLOO: each sample minus the mean of the other two of its prompt', () => {
  // Prompt 0: 1 − (2+3)/2, 2 − (1+3)/2, 3 − (1+2)/2. Prompt 1: 0 − 1.5, 0 − 1.5, 3 − 0.
  assertClose(rlooAdvantages(REWARDS, 3), [-1.5, 0, 1.5, -1.5, -1.5, 3], 1e-6, 'rloo');
  assertClose(rlooAdvantages([4, 4, 4], 3), [0, 0, 0], 0, 'equal group');
  assert.throws(() => rlooAdvantages(REWARDS, 4), /6 rewards do not split into groups of 4/);
  assert.throws(() => rlooAdvantages([1, 2], 1), /needs groupSize ≥ 2/);
});

test('GRPO: (r − group mean)/(Bessel std + ε); an equal group gets 0', () => {
  // Prompt 0: mean 2, std √((1+0+1)/2) = 1. Prompt 1: mean 1, std √((1+1+4)/2) = √3.
  const s3 = Math.sqrt(3) + GRPO_EPS;
  assertClose(
    grpoAdvantages(REWARDS, 3),
    [-1 / (1 + GRPO_EPS), 0, 1 / (1 + GRPO_EPS), -1 / s3, -1 / s3, 2 / s3],
    1e-6,
    'grpo',
  );
  assertClose(grpoAdvantages([5, 5, 5], 3), [0, 0, 0], 0, 'equal group');
});

test('sequence rewards, token broadcast and GRPO per-sequence weights', () => {
  // Two responses, R = 3: lengths 3 and 1; −β·kl per token in nonScore.
  const mask = [1, 1, 1, 1, 0, 0];
  const nonScore = [-0.1, -0.2, -0.3, -0.5, 0, 0];
  const scores = Float32Array.from([1, 2]);
  assertClose(sequenceRewards('rloo', scores, Float32Array.from(nonScore), [2, 3]), [0.4, 1.5]);
  assertClose(sequenceRewards('grpo', scores, Float32Array.from(nonScore), [2, 3]), [1, 2]);
  assertClose(broadcastToTokens([0.7, -2], mask, [2, 3]), [0.7, 0.7, 0.7, -2, 0, 0]);
  assertClose(sequenceWeights(mask, [2, 3]), [1 / 3, 1 / 3, 1 / 3, 1, 0, 0]);
});

test("GRPO's k3 KL term ignores padding, where the policy's log-probs may be far below the reference's 0", () => {
  // real tokens: log r = 0 and log(2); padding (weight 0): the policy at T = 0.2 gives −300
  const logp = tf.tensor1d([-1, -1 - Math.log(2), -300, -300]);
  const ref = tf.tensor1d([-1, -1, 0, 0]);
  const weights = tf.tensor1d([0.5, 0.5, 0, 0]);
  const kl = k3KlLoss(logp, ref, weights);
  const value = kl.dataSync()[0]!;
  // k3 = e^{log r} − log r − 1: 0 for the first token, 2 − log 2 − 1 for the second
  assert.ok(Math.abs(value - (1 - Math.log(2)) / 2) < 1e-6, `k3 ${value}`);
  const grad = tf.grad((lp: tf.Tensor) => k3KlLoss(lp as tf.Tensor1D, ref, weights))(logp);
  assert.ok(Array.from(grad.dataSync()).every(Number.isFinite), 'finite gradients');
  tf.dispose([logp, ref, weights, kl, grad]);
});

test('config: advantage is checked; groupSize must divide batchSize and is left alone by GAE', () => {
  assert.is(DEFAULT_PPO_CONFIG.advantage, 'gae');
  assert.is(DEFAULT_PPO_CONFIG.groupSize, 4);
  assert.is(resolvePpoConfig({ advantage: 'rloo', batchSize: 12, groupSize: 3 }).groupSize, 3);
  const bad: Array<[Partial<PpoConfig>, RegExp]> = [
    [
      { advantage: 'rloo', batchSize: 16, groupSize: 5 },
      /^PpoConfig\.groupSize must be a divisor of batchSize \(16\), got 5$/,
    ],
    [{ advantage: 'grpo', groupSize: 1 }, /^PpoConfig\.groupSize must be at least 2 with/],
    [{ groupSize: 8 }, /^PpoConfig\.groupSize must be left at 4 with advantage 'gae'/],
    [{ advantage: 'a2c' as never }, /^PpoConfig\.advantage must be one of gae, rloo, grpo/],
    [{ advantage: 'rloo', groupSize: 2.5 }, /^PpoConfig\.groupSize must be a positive integer/],
  ];
  for (const [partial, re] of bad) assert.throws(() => resolvePpoConfig(partial), re);
  // The pipeline's PPO sections take the new fields from DEFAULT_PPO_CONFIG's keys.
  const c = resolvePipelineConfig('default', { pitRl: { advantage: 'rloo', groupSize: 4 } });
  assert.is(c.pitRl.advantage, 'rloo');
  assert.throws(
    () => resolvePipelineConfig('default', { rlhf: { advantage: 'grpo', groupSize: 5 } }),
    /^config\.rlhf\.groupSize must be a divisor of batchSize \(32\), got 5$/,
  );
});

test('drawQueries: groupSize 1 is the plain draw; groups repeat one prompt in consecutive rows', () => {
  const pool = [[1], [2], [3], [4], [5], [6]];
  const a = drawQueries(pool, 4, 1, new Rng(7), 0);
  assert.is(a.length, 4);
  const g = drawQueries(pool, 6, 3, new Rng(7), 0);
  assert.equal(g.slice(0, 3), [g[0], g[0], g[0]]);
  assert.equal(g.slice(3), [g[3], g[3], g[3]]);
  assert.not.equal(g[0], g[3], 'two distinct prompts, drawn without replacement');
  const asked: number[] = [];
  const source = (n: number) => {
    asked.push(n);
    return Array.from({ length: n }, (_, i) => [i]);
  };
  assert.equal(drawQueries(source, 8, 4, new Rng(1), 0), [[0], [0], [0], [0], [1], [1], [1], [1]]);
  assert.equal(asked, [2]);
  assert.throws(() => drawQueries(() => [[1]], 8, 4, new Rng(1), 0), /gave 1 prompts, 2 asked/);
});

const TINY = { vocabSize: V, blockSize: 16, nLayer: 1, nHead: 2, nEmbd: 16 };
const BANDIT: Partial<PpoConfig> = {
  totalUpdates: 30,
  batchSize: 32,
  nMinibatches: 2,
  responseLength: 1,
  temperature: 1,
  klCoef: 0.05,
  missingEosPenalty: 0,
  lr: 3e-3,
  sampleInterval: 0,
  groupSize: 4,
};

function toyModels(label: string) {
  return {
    policy: new Gpt(TINY, undefined, `${label}.policy`),
    ref: new Gpt(TINY, undefined, `${label}.policy`),
  };
}
const meanScore = (rows: { 'objective/scores': number }[]) =>
  rows.reduce((s, r) => s + r['objective/scores'], 0) / rows.length;

test.before(async () => {
  await runtime.ready();
  runtime.seed(11);
});

test('RLOO raises a bandit reward without a critic; no critic metrics; no tensor leaks', async () => {
  const m = toyModels('rloo');
  const counts: number[] = [];
  const before = tf.memory().numTensors;
  const res = await trainPpo(
    m,
    PROMPTS,
    targetReward,
    { ...BANDIT, advantage: 'rloo' },
    { onLog: () => counts.push(tf.memory().numTensors) },
  );
  assert.is(tf.memory().numTensors, before, 'nothing left behind by the run');
  assert.ok(new Set(counts).size === 1, `tensor count drifted: ${counts.join(',')}`);
  const first = meanScore(res.history.slice(0, 5));
  const last = meanScore(res.history.slice(-5));
  assert.ok(last > first + 0.3 && last > 0.5, `reward ${first} → ${last}`);
  for (const k of CRITIC_METRICS)
    assert.not.ok(k in res.history[0]!, `${k} logged without a critic`);
  assert.type(res.history[0]!['loss/policy_avg'], 'number');
  m.policy.dispose();
  m.ref.dispose();
});

test('GRPO raises the bandit reward too; a passed critic is left untouched', async () => {
  const m = { ...toyModels('grpo'), critic: new ValueModel(new Gpt(TINY, undefined, 'grpo.v')) };
  const w0 = m.critic.trunk.params.get('wte')!.dataSync().slice();
  const before = tf.memory().numTensors;
  const res = await trainPpo(m, PROMPTS, targetReward, { ...BANDIT, advantage: 'grpo' });
  assert.is(tf.memory().numTensors, before);
  const first = meanScore(res.history.slice(0, 5));
  const last = meanScore(res.history.slice(-5));
  assert.ok(last > first + 0.3 && last > 0.5, `reward ${first} → ${last}`);
  const w1 = m.critic.trunk.params.get('wte')!.dataSync();
  assert.ok(
    w1.every((x, i) => x === w0[i]),
    'the critic is not trained',
  );
  for (const x of Object.values(m)) x.dispose();
});

test('GAE needs a critic; its checkpoint hash ignores the group fields, so old checkpoints resume', async () => {
  const m = toyModels('gae');
  const refused = await trainPpo(m, PROMPTS, targetReward, { ...BANDIT, groupSize: 4 }).catch(
    (e: Error) => e,
  );
  assert.match(String(refused), /advantage 'gae' needs models\.critic/);
  const critic = new ValueModel(new Gpt(TINY, undefined, 'gae.v'));
  const dir = mkdtempSync(join(tmpdir(), 'pitlab-ppo-group-'));
  try {
    const config = { ...BANDIT, totalUpdates: 1, groupSize: undefined };
    const res = await trainPpo({ ...m, critic }, PROMPTS, targetReward, config, { dir });
    assert.type(res.history[0]!['loss/value_avg'], 'number');
    const { advantage: _a, groupSize: _g, ...old } = resolvePpoConfig(config);
    const ckpt = latestStageCheckpoint(join(dir, 'ppo.ckpt.safetensors'), {
      stage: 'ppo',
      configHash: configHash(old),
    });
    assert.is(ckpt?.counters.update, 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    critic.dispose();
    m.policy.dispose();
    m.ref.dispose();
  }
});

test('PIT RL round 1 with RLOO: a group shares one query and its sampled reference; no critic', async () => {
  const { eos: EOS, pad: PAD } = SPECIAL_IDS;
  const data: PitExample[] = [
    { prompt: [1, 6], rejected: [11, 11] },
    { prompt: [1, 8], rejected: [11, EOS] },
    { prompt: [1, 9], rejected: [11] },
  ];
  const sampler = new Gpt(TINY, undefined, 'pit.mp_rl');
  const options = { temperature: 1, maxNewTokens: 3, eosId: EOS, padId: PAD };
  const source = pitPromptSource(data, { reference: 'policy', updates: 1 }, sampler, options);
  const q = drawQueries(source, 8, 4, new Rng(3), 0);
  assert.equal(q.slice(0, 4), [q[0], q[0], q[0], q[0]]);
  assert.equal(q.slice(4), [q[4], q[4], q[4], q[4]]);
  const m = toyModels('pit');
  const seen: number[][][] = [];
  const gap = (_x: number[][], ys: number[][], refs: number[][]) => {
    seen.push(refs);
    return Float32Array.from(ys, (y) => Number(y[0] === TARGET));
  };
  await trainPitRl({ ...m, sampler }, data, gap, {
    rounds: [{ reference: 'policy', updates: 2 }],
    ppo: { ...BANDIT, totalUpdates: undefined, batchSize: 8, advantage: 'rloo' },
    referenceLength: 3,
  });
  assert.is(seen.length, 2);
  for (const refs of seen) {
    assert.is(refs.length, 8);
    for (let i = 0; i < 8; i++) assert.equal(refs[i], refs[i - (i % 4)], `row ${i} vs its group`);
  }
  assert.ok(splitPitQuery(q[0]!).reference.length <= 3);
  for (const x of [m.policy, m.ref, sampler]) x.dispose();
});

test.run();
