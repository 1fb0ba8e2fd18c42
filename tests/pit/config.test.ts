/**
 * The pipeline config: each profile resolves to exactly the values it had before its sections
 * became partial trainer configs (a literal copy, fields renamed: `steps` → `maxSteps`,
 * `iterations` → `totalUpdates`, and PPO's minibatches and epochs, once fixed in the stage code,
 * stated), `trainSettings` derives the schedule the stages always used, and overrides are checked
 * by the one validator with dotted paths.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  type PipelineConfig,
  PROFILES,
  profileConfig,
  resolvePipelineConfig,
  trainSettings,
} from '../../src/pit/config';
import { resolvePpoConfig } from '../../src/train/ppo/config';

// ── the values of each profile before the change (src/pit/config.ts at 8b5e0c7), renamed ──
const PPO_FIXED = { nMinibatches: 2, ppoEpochs: 2 }; // were hard-coded in the stages' ppoCfg
const SMOKE_PPO = { totalUpdates: 3, batchSize: 16, lr: 1e-4, klCoef: 0.05, temperature: 1 };
const DEFAULT_PPO = { totalUpdates: 20, batchSize: 32, lr: 3e-5, klCoef: 0.2, temperature: 1 };
const FULL_PPO = { totalUpdates: 200, batchSize: 64, lr: 1e-5, klCoef: 0.05, temperature: 1 };
const DEFAULT_IMPROVE = {
  iterations: 5,
  temperature: 0.2,
  responseTemperature: 0.4,
  samples: 8,
  gapThreshold: 0,
  maxNewTokens: 24,
  temperatures: [0.2, 0.4, 0.6, 0.8, 1.0],
  bootstrap: 2000,
};

const BEFORE: Record<string, PipelineConfig> = {
  smoke: {
    data: {
      source: 'synthetic',
      maxTrain: 400,
      synthSize: 0,
      judgeSize: 0,
      nearShare: 0,
      nearKinds: 'all',
      evalSize: 48,
    },
    model: { vocabSize: 160, blockSize: 112, nLayer: 2, nHead: 2, nEmbd: 48 },
    judgeModel: { vocabSize: 160, blockSize: 112, nLayer: 1, nHead: 2, nEmbd: 32 },
    sft: { maxSteps: 60, batchSize: 16, lr: 3e-3 },
    sftImprover: { maxSteps: 60, batchSize: 16, lr: 3e-3 },
    reward: { maxSteps: 40, batchSize: 16, lr: 3e-4, pooling: 'eos+loglik' },
    gapReward: { maxSteps: 40, batchSize: 16, lr: 1e-3 },
    judge: { maxSteps: 40, batchSize: 16, lr: 1e-3, sftSteps: 20, pooling: 'eos' },
    rlhf: { ...SMOKE_PPO, ...PPO_FIXED },
    pitRl: {
      ...SMOKE_PPO,
      ...PPO_FIXED,
      rounds: [0, 1],
      validateEvery: 1,
      patience: 0,
      selectionMargin: 0,
      validationSize: 32,
      validationDraws: 2,
    },
    improve: {
      iterations: 2,
      temperature: 0.4,
      responseTemperature: 0.6,
      samples: 2,
      gapThreshold: 0,
      maxNewTokens: 20,
      temperatures: [0.4, 1.0],
      bootstrap: 200,
    },
  },
  default: {
    data: {
      source: 'synthetic',
      maxTrain: 0,
      synthSize: 13000,
      judgeSize: 6000,
      nearShare: 0,
      nearKinds: 'all',
      evalSize: 200,
    },
    model: { vocabSize: 160, blockSize: 112, nLayer: 3, nHead: 4, nEmbd: 96 },
    judgeModel: { vocabSize: 160, blockSize: 112, nLayer: 2, nHead: 4, nEmbd: 128 },
    sft: { maxSteps: 2400, batchSize: 32, lr: 2e-3 },
    sftImprover: { maxSteps: 2400, batchSize: 32, lr: 2e-3 },
    reward: { maxSteps: 100, batchSize: 32, lr: 3e-4, pooling: 'eos+loglik' },
    gapReward: { maxSteps: 200, batchSize: 32, lr: 3e-4 },
    judge: { maxSteps: 500, batchSize: 32, lr: 1e-3, sftSteps: 300, pooling: 'eos' },
    rlhf: { ...DEFAULT_PPO, ...PPO_FIXED, totalUpdates: 100 },
    pitRl: {
      ...DEFAULT_PPO,
      ...PPO_FIXED,
      rounds: [0, 1],
      validateEvery: 4,
      patience: 2,
      selectionMargin: 2,
      validationSize: 199,
      validationDraws: 4,
    },
    improve: DEFAULT_IMPROVE,
  },
  full: {
    data: {
      source: 'synthetic',
      maxTrain: 0,
      synthSize: 40000,
      judgeSize: 20000,
      nearShare: 0,
      nearKinds: 'all',
      evalSize: 202,
    },
    model: { vocabSize: 160, blockSize: 112, nLayer: 6, nHead: 8, nEmbd: 256 },
    judgeModel: { vocabSize: 160, blockSize: 112, nLayer: 4, nHead: 4, nEmbd: 128 },
    sft: { maxSteps: 3000, batchSize: 64, lr: 1e-3 },
    sftImprover: { maxSteps: 4000, batchSize: 64, lr: 1e-3 },
    reward: { maxSteps: 2000, batchSize: 64, lr: 1e-4, pooling: 'eos+loglik' },
    gapReward: { maxSteps: 1000, batchSize: 64, lr: 3e-4 },
    judge: { maxSteps: 1500, batchSize: 64, lr: 3e-4, sftSteps: 2000, pooling: 'eos' },
    rlhf: { ...FULL_PPO, ...PPO_FIXED },
    pitRl: {
      ...FULL_PPO,
      ...PPO_FIXED,
      rounds: [0, 1],
      validateEvery: 20,
      patience: 3,
      selectionMargin: 2,
      validationSize: 199,
      validationDraws: 4,
    },
    improve: DEFAULT_IMPROVE,
  },
};

/** The stages' former `trainCfg`, verbatim but for the renamed input field. */
const oldTrainCfg = (
  s: { maxSteps: number; batchSize: number; lr: number },
  outDir: string,
  stage: string,
) => ({
  maxSteps: s.maxSteps,
  batchSize: s.batchSize,
  lr: s.lr,
  warmupSteps: Math.min(20, Math.floor(s.maxSteps / 10)),
  logEvery: Math.max(1, Math.min(10, Math.floor(s.maxSteps / 10))),
  evalEvery: 0,
  checkpointEvery:
    Math.max(1, Math.min(10, Math.floor(s.maxSteps / 10))) *
    Math.max(1, Math.round(s.maxSteps / 40)),
  outDir,
  stage,
});

test('every profile resolves to exactly its former values', () => {
  assert.equal([...PROFILES], ['smoke', 'default', 'full']);
  for (const profile of PROFILES) {
    assert.equal(profileConfig(profile), BEFORE[profile], profile);
    assert.equal(resolvePipelineConfig(profile), BEFORE[profile], profile);
    assert.equal(resolvePipelineConfig(profile, {}), BEFORE[profile], profile);
  }
});

test('profiles are fresh copies: changing one leaves the next untouched', () => {
  const a = profileConfig('smoke');
  a.sft.maxSteps = 1;
  a.improve.temperatures.push(2);
  a.pitRl.rounds.length = 0;
  assert.equal(profileConfig('smoke'), BEFORE.smoke);
  assert.equal(profileConfig('default'), BEFORE.default);
});

test('trainSettings derives the schedule the stages always used', () => {
  for (const maxSteps of [1, 2, 9, 10, 19, 39, 40, 59, 60, 99, 100, 201, 400, 999, 2400, 4000]) {
    const s = { maxSteps, batchSize: 8, lr: 1e-3 };
    assert.equal(trainSettings(s, '/w', 'sft'), oldTrainCfg(s, '/w', 'sft'), `${maxSteps}`);
  }
  for (const profile of PROFILES) {
    const c = resolvePipelineConfig(profile);
    for (const key of ['sft', 'sftImprover', 'gapReward'] as const) {
      assert.equal(trainSettings(c[key], 'd', key), oldTrainCfg(c[key], 'd', key));
    }
    // pooling and sftSteps are the pipeline's, never the trainer's
    for (const key of ['reward', 'judge'] as const) {
      assert.equal(trainSettings(c[key], 'd', key), oldTrainCfg(c[key], 'd', key));
    }
  }
});

test('PPO sections are the trainer configs the stages built before', () => {
  for (const profile of PROFILES) {
    const c = resolvePipelineConfig(profile);
    const old = BEFORE[profile]!;
    assert.equal(resolvePpoConfig(c.rlhf), resolvePpoConfig(old.rlhf));
    // PIT RL: each round runs `totalUpdates`; the rest is the PPO config of every round
    const { rounds: _r, validationSize: _v, validationDraws: _d, ...ppo } = c.pitRl;
    const formerPpo = {
      ...PPO_FIXED,
      batchSize: old.pitRl.batchSize,
      lr: old.pitRl.lr,
      klCoef: old.pitRl.klCoef,
      temperature: old.pitRl.temperature,
      validateEvery: old.pitRl.validateEvery,
      patience: old.pitRl.patience,
      selectionMargin: old.pitRl.selectionMargin,
    };
    assert.equal(
      resolvePpoConfig({ ...ppo, totalUpdates: 1 }),
      resolvePpoConfig({ ...formerPpo, totalUpdates: 1 }),
    );
  }
});

test('overrides: any trainer field, never the pipeline-owned ones', () => {
  const c = resolvePipelineConfig('smoke', {
    sft: { weightDecay: 0.1, logEvery: 3 },
    reward: { normalise: false },
    rlhf: { clipRange: 0.1 },
    pitRl: { rounds: [1] },
    model: { mlpRatio: 2 },
    data: { format: 'hh' },
  });
  assert.equal(c.sft, { maxSteps: 60, batchSize: 16, lr: 3e-3, weightDecay: 0.1, logEvery: 3 });
  const t = trainSettings(c.sft, 'o', 'sft');
  assert.equal([t.weightDecay, t.logEvery, t.checkpointEvery], [0.1, 3, 6]);
  assert.is(c.reward.normalise, false);
  assert.is(resolvePpoConfig(c.rlhf).clipRange, 0.1);
  assert.equal(c.pitRl.rounds, [1]);
  assert.is(c.model.mlpRatio, 2);
  assert.is(c.data.format, 'hh');
  const bad: Array<[unknown, RegExp]> = [
    [{ sft: { stpes: 3 } }, /^Unknown config\.sft key 'stpes'\. Known: maxSteps, batchSize, lr,/],
    [{ sft: { outDir: 'x' } }, /Unknown config\.sft key 'outDir'/],
    [{ reward: { loss: 'swap-only' } }, /Unknown config\.reward key 'loss'/],
    [{ rlhf: { padId: 1 } }, /Unknown config\.rlhf key 'padId'/],
    [{ rlhf: { validateEvery: 1 } }, /Unknown config\.rlhf key 'validateEvery'/],
    [{ sft: { maxSteps: 'x' } }, /^config\.sft\.maxSteps must be a number, got "x"$/],
    [{ sft: { maxSteps: -1 } }, /^config\.sft\.maxSteps must be a positive integer, got -1$/],
    [{ sft: 3 }, /^config\.sft must be an object, got 3$/],
    [{ judge: { sftSteps: 0 } }, /^config\.judge\.sftSteps must be a positive integer, got 0$/],
    [{ rlhf: { totalUpdates: 0 } }, /^config\.rlhf\.totalUpdates must be a positive integer/],
    [{ rlhf: { nMinibatches: 3 } }, /^config\.rlhf\.batchSize must be divisible by nMinibatches/],
    [{ pitRl: { rounds: [] } }, /^config\.pitRl\.rounds must be a non-empty list/],
    [{ pitRl: { rounds: [0, 2] } }, /^config\.pitRl\.rounds .*, got \[0,2\]$/],
    [{ improve: { temperatures: [0.4, 3] } }, /^config\.improve\.temperatures\[1\] must be in/],
    [{ improve: { temperature: 0 } }, /^config\.improve\.temperature must be in \(0, 2\], got 0$/],
    [{ model: { nHead: 5 } }, /^config\.model\.nEmbd must be divisible by nHead \(5\), got 48$/],
    [{ judge: { pooling: 'mean' } }, /^config\.judge\.pooling must be one of eos, tokens/],
    [{ data: { evalSize: 0 } }, /^config\.data\.evalSize must be a positive integer, got 0$/],
    [{ nope: 1 }, /^Unknown config key 'nope'\. Known: data, model,/],
  ];
  for (const [overrides, message] of bad) {
    assert.throws(
      () => resolvePipelineConfig('smoke', overrides),
      message,
      JSON.stringify(overrides),
    );
  }
});

test.run();
