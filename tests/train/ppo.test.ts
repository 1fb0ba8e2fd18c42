/**
 * PPO end to end on tiny models: losses and their gradients, the rollout layout, a toy with a
 * known KL-regularised optimum, per-update tensor hygiene and checkpoint resume.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Gpt, sequenceLogProbs } from '../../src/models';
import { runtime } from '../../src/runtime';
import { latestStageCheckpoint, NonFiniteError, readMetrics } from '../../src/train';
import {
  beatsKept,
  clippedPolicyLoss,
  clippedValueLoss,
  entropyFromLogits,
  type PpoConfig,
  type PpoMetrics,
  packBatch,
  responseLogits,
  responseLogprobs,
  trainPpo,
  ValueModel,
} from '../../src/train/ppo';
import { PROMPTS, TARGET, targetReward, V } from './fixtures/bandit';

const TINY = { vocabSize: V, blockSize: 8, nLayer: 1, nHead: 2, nEmbd: 16 };

function toyModels(label = 'toy') {
  const policy = new Gpt(TINY, undefined, `${label}.policy`);
  const ref = new Gpt(TINY, undefined, `${label}.policy`); // identical weights, never trained
  const critic = new ValueModel(new Gpt(TINY, undefined, `${label}.critic`));
  return { policy, ref, critic };
}

const disposeAll = (m: ReturnType<typeof toyModels>) => {
  m.policy.dispose();
  m.ref.dispose();
  m.critic.dispose();
};

test.before(async () => {
  await runtime.ready();
  runtime.seed(3);
});

test('masked tokens get exactly zero gradient in the policy and value losses', () => {
  const mask = tf.tensor1d([1, 1, 0, 0]);
  const old = tf.tensor1d([-1, -2, -3, -4]);
  const adv = tf.tensor1d([1, -1, 5, 5]);
  const g = tf.grad(
    (lp: tf.Tensor) => clippedPolicyLoss(lp as tf.Tensor1D, old, adv, mask, 0.2).loss,
  )(tf.tensor1d([-0.9, -2.1, -1, -9]));
  const gp = g.arraySync() as number[];
  assert.is(gp[2], 0);
  assert.is(gp[3], 0);
  assert.ok(gp[0] !== 0 && gp[1] !== 0, 'real tokens inside the clip range get gradient');
  const ret = tf.tensor1d([1, 1, 9, 9]);
  const gv = tf.grad(
    (v: tf.Tensor) => clippedValueLoss(v as tf.Tensor1D, old, ret, mask, 0.2).loss,
  )(tf.tensor1d([-1, -2, 0, 0]));
  const gva = gv.arraySync() as number[];
  assert.is(gva[2], 0);
  assert.is(gva[3], 0);
  tf.dispose([mask, old, adv, g, ret, gv]);
});

test('policy loss clips the ratio: outside [1−ε, 1+ε] in the advantage direction, no gradient', () => {
  const mask = tf.tensor1d([1, 1]);
  const old = tf.tensor1d([0, 0]);
  const adv = tf.tensor1d([1, -1]);
  const lp = tf.tensor1d([Math.log(1.5), Math.log(0.5)]); // ratio 1.5 with A>0, 0.5 with A<0
  const g = tf.grad(
    (x: tf.Tensor) => clippedPolicyLoss(x as tf.Tensor1D, old, adv, mask, 0.2).loss,
  )(lp);
  assert.equal(g.arraySync(), [0, 0]);
  const r = clippedPolicyLoss(lp, old, adv, mask, 0.2);
  assert.ok(Math.abs(r.loss.dataSync()[0]! - (-1.2 + 0.8) / 2) < 1e-6);
  assert.is(r.clipfrac.dataSync()[0], 1);
  assert.ok(Math.abs(r.ratio.dataSync()[0]! - 1) < 1e-6);
  tf.dispose([mask, old, adv, lp, g, r.loss, r.clipfrac, r.approxkl, r.ratio]);
});

test('value loss clips: a prediction moved beyond ε_v from the old value is held at the clipped error', () => {
  const mask = tf.tensor1d([1, 1]);
  const old = tf.tensor1d([0, 0]);
  const ret = tf.tensor1d([-1, 1]);
  // Row 0 moved +0.5 away from its return: the unclipped error (0.5+1)² = 2.25 exceeds the clipped
  // (0.2+1)² = 1.44, so it counts and has gradient. Row 1 moved +0.5 toward its return: the clipped
  // error (0.2−1)² = 0.64 exceeds the unclipped 0.25, so the loss uses the clip and gives no gradient.
  const v = tf.tensor1d([0.5, 0.5]);
  const r = clippedValueLoss(v, old, ret, mask, 0.2);
  assert.ok(Math.abs(r.loss.dataSync()[0]! - 0.5 * ((2.25 + 0.64) / 2)) < 1e-6);
  assert.is(r.clipfrac.dataSync()[0], 0.5);
  const g = tf.grad((x: tf.Tensor) => clippedValueLoss(x as tf.Tensor1D, old, ret, mask, 0.2).loss)(
    v,
  );
  const ga = g.arraySync() as number[];
  assert.ok(Math.abs(ga[0]! - 0.5 * 1.5) < 1e-6, `unclipped row gradient ${ga[0]}`);
  assert.is(ga[1], 0);
  tf.dispose([mask, old, ret, v, g, r.loss, r.clipfrac]);
});

test('entropyFromLogits: log V for uniform logits, ≈ 0 for a peaked row', () => {
  const h = entropyFromLogits(
    tf.tensor2d([
      [0, 0, 0, 0],
      [50, 0, 0, 0],
    ]),
  );
  const [u, p] = h.arraySync() as number[];
  assert.ok(Math.abs(u! - Math.log(4)) < 1e-5);
  assert.ok(p! < 1e-6);
  h.dispose();
});

test('packBatch: left-padded queries, right-padded responses, masks for early and unended rows', () => {
  const p = packBatch(
    [
      [1, 6],
      [1, 9, 10],
    ],
    [
      [7, 2],
      [7, 7, 7],
    ],
    0,
  );
  assert.is(p.P, 3);
  assert.is(p.R, 3);
  assert.equal([...p.ids], [0, 1, 6, 7, 2, 0, 1, 9, 10, 7, 7, 7]);
  assert.equal([...p.keyMask], [0, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1]);
  assert.equal([...p.positions].slice(0, 5), [0, 0, 1, 2, 3]);
  assert.equal([...p.mask], [1, 1, 0, 1, 1, 1]);
});

test('rollout log-probs of a left-padded batch equal each row scored alone', () => {
  const { policy, ref, critic } = toyModels('layout');
  const queries = [
    [1, 6],
    [1, 9, 10, 4],
  ];
  const responses = [[7, 3, 2], [5]];
  const batched = responseLogprobs(policy, packBatch(queries, responses, 0), 0.7);
  const R = 3;
  queries.forEach((q, b) => {
    const ids = tf.tensor2d([[...q, ...responses[b]!]], undefined, 'int32');
    const alone = sequenceLogProbs(policy, ids, { temperature: 0.7 });
    const row = (alone.arraySync() as number[][])[0]!.slice(q.length - 1);
    responses[b]!.forEach((_, t) => {
      assert.ok(Math.abs(batched[b * R + t]! - row[t]!) < 1e-4, `row ${b} token ${t}`);
    });
    tf.dispose([ids, alone]);
  });
  assert.is(batched[1 * R + 1], 0, 'padding carries 0');
  disposeAll({ policy, ref, critic });
});

test('critic from a reward model: copied weights (not shared), offset folded into the bias', () => {
  const trunk = new Gpt(TINY, undefined, 'rm.trunk');
  const w = tf.fill([TINY.nEmbd, 1], 0.5);
  const b = tf.tensor1d([2]);
  const before = tf.memory().numTensors;
  const critic = ValueModel.fromTrunk({ trunk, headWeight: w, headBias: b, offset: 1.5 });
  assert.is(
    tf.memory().numTensors - before,
    trunk.variables().length + 2,
    'only the copies are new',
  );
  assert.ok(Math.abs(critic.headBias.dataSync()[0]! - 0.5) < 1e-6);
  const zeros = tf.zeros([V, TINY.nEmbd]);
  trunk.params.get('wte')!.assign(zeros);
  assert.ok(
    critic.trunk.params
      .get('wte')!
      .dataSync()
      .some((x) => x !== 0),
    'trunk is a copy',
  );
  tf.dispose([w, b, zeros]);
  trunk.dispose();
  critic.dispose();
});

const TOY_CONFIG: Partial<PpoConfig> = {
  totalUpdates: 30,
  batchSize: 32,
  nMinibatches: 2,
  responseLength: 1,
  temperature: 1,
  klCoef: 0.25,
  missingEosPenalty: 0,
  lr: 3e-3,
  sampleInterval: 10,
};

test('toy: PPO reaches the KL-regularised optimum π* ∝ π_ref·exp(r/β) with matching KL; no per-update leaks', async () => {
  const models = toyModels();
  const counts: number[] = [];
  const tables: number[] = [];
  const res = await trainPpo(models, PROMPTS, targetReward, TOY_CONFIG, {
    onLog: () => counts.push(tf.memory().numTensors),
    onSamples: (rows, step) => tables.push(step, rows.length),
  });
  assert.is(res.updates, 30);
  assert.equal(tables, [10, 4, 20, 4, 30, 4]);
  assert.ok(new Set(counts.slice(1)).size === 1, `tensor count drifted: ${counts.join(',')}`);
  const beta = TOY_CONFIG.klCoef!;
  for (const q of PROMPTS) {
    const pk = packBatch([q], [[TARGET]], 0);
    const [pPol, pRef] = [models.policy, models.ref].map((m) =>
      tf.tidy(() => tf.softmax(responseLogits(m, pk, 1).logits).dataSync()),
    );
    const w = Array.from(pRef!, (p, i) => p * Math.exp((i === TARGET ? 1 : 0) / beta));
    const z = w.reduce((a, b) => a + b);
    const opt = w.map((x) => x / z);
    const kl = (a: ArrayLike<number>) =>
      Array.from(a).reduce((s, p, i) => s + p * Math.log(p / pRef![i]!), 0);
    const p = pPol![TARGET]!;
    assert.ok(Math.abs(p - opt[TARGET]!) < 0.06, `p(target | ${q}) = ${p}, optimum ${opt[TARGET]}`);
    assert.ok(Math.abs(kl(pPol!) - kl(opt)) < 0.25, `KL ${kl(pPol!)} vs optimum ${kl(opt)}`);
  }
  const last = res.history.at(-1)!;
  assert.ok(last['objective/kl'] < 2.5, `objective/kl ${last['objective/kl']}`);
  disposeAll(models);
});

test('resume: a run killed after update 3 restarts from its update-2 checkpoint and ends as an uninterrupted run', async () => {
  const config = { ...TOY_CONFIG, totalUpdates: 4, saveInterval: 2 };
  const straight = toyModels('resume');
  const a = await trainPpo(straight, PROMPTS, targetReward, config);
  const dir = mkdtempSync(join(tmpdir(), 'pitlab-ppo-'));
  try {
    // The first run dies right after update 3 (past its checkpoint at 2), as a crash would.
    const first = toyModels('resume');
    const crash = (step: number) => {
      if (step === 3) throw new Error('simulated crash');
    };
    await trainPpo(first, PROMPTS, targetReward, config, { dir, onProgress: crash }).catch(
      () => {},
    );
    disposeAll(first);
    const second = toyModels('resume');
    const b = await trainPpo(second, PROMPTS, targetReward, config, { dir });
    assert.is(b.history.length, 2, 'the resumed run does only the remaining updates');
    const keys: (keyof PpoMetrics)[] = [
      'objective/scores',
      'objective/kl',
      'loss/policy_avg',
      'loss/value_avg',
    ];
    for (const k of keys) {
      assert.ok(
        Math.abs(a.history[3]![k] - b.history[1]![k]) < 1e-5,
        `${k}: ${a.history[3]![k]} vs ${b.history[1]![k]}`,
      );
    }
    const logged = readMetrics(join(dir, 'ppo.metrics.jsonl'));
    assert.equal(
      logged.map((r) => r.step),
      [1, 2, 3, 4],
      'the metrics file holds each update once',
    );
    const w1 = straight.policy.params.get('wte')!.dataSync();
    const w2 = second.policy.params.get('wte')!.dataSync();
    assert.ok(
      w1.every((x, i) => Math.abs(x - w2[i]!) < 1e-6),
      'final weights match',
    );
    disposeAll(second);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    disposeAll(straight);
  }
});

test('held-out selection: the best-scoring policy is kept; patience stops a run the check disagrees with', async () => {
  const pTarget = (m: Gpt) =>
    tf.tidy(() => {
      const pk = packBatch([PROMPTS[0]!], [[TARGET]], 0);
      return tf.softmax(responseLogits(m, pk, 1).logits).dataSync()[TARGET]!;
    });
  // Reward hacking in miniature: the training reward wants TARGET, the held-out check does not.
  const hacked = toyModels('select');
  const start = hacked.policy.params.get('wte')!.dataSync().slice();
  const before = tf.memory().numTensors;
  const res = await trainPpo(
    hacked,
    PROMPTS,
    targetReward,
    { ...TOY_CONFIG, totalUpdates: 12, validateEvery: 2, patience: 2 },
    { validate: () => -pTarget(hacked.policy) },
  );
  assert.equal(res.best?.update, 0, 'the starting policy scored best');
  assert.ok(res.stoppedEarly);
  assert.is(res.updates, 4, 'checks at 0, 2, 4: two misses in a row stop the run');
  const end = hacked.policy.params.get('wte')!.dataSync();
  assert.ok(
    end.every((x, i) => x === start[i]),
    'the starting weights are restored',
  );
  assert.is(tf.memory().numTensors, before, 'the snapshot is freed');
  disposeAll(hacked);

  // When the check agrees with the reward, the last check wins and nothing stops early.
  const agreed = toyModels('select2');
  const ok = await trainPpo(
    agreed,
    PROMPTS,
    targetReward,
    { ...TOY_CONFIG, totalUpdates: 6, validateEvery: 3, patience: 2 },
    { validate: () => pTarget(agreed.policy) },
  );
  assert.equal(ok.best?.update, 6);
  assert.not.ok(ok.stoppedEarly);
  const refused = await trainPpo(agreed, PROMPTS, targetReward, {
    ...TOY_CONFIG,
    validateEvery: 2,
  }).catch((e: Error) => e);
  assert.match(String(refused), /validateEvery is 2 but no validate function/);
  disposeAll(agreed);
});

test('beatsKept: a paired gain must clear the margin in standard errors', () => {
  const kept = [0, 0, 0, 0, 0, 0, 0, 0];
  const noisy = [1, -1, 1.2, -0.8, 1, -1, 1, -0.9]; // mean gain 0.0625, SE ≈ 0.37
  const clear = [1, 0.9, 1.1, 1, 0.8, 1.2, 1, 1]; // mean gain 1, SE ≈ 0.04
  assert.ok(beatsKept(noisy, kept, 0), 'margin 0: any higher mean');
  assert.not.ok(beatsKept(noisy, kept, 2), 'a gain inside the noise is not kept');
  assert.ok(beatsKept(clear, kept, 2));
  assert.not.ok(beatsKept(kept, kept, 0), 'equal scores do not replace the kept policy');
  assert.ok(beatsKept(0.3, 0.2, 0), 'single numbers compare by value');
  assert.throws(() => beatsKept(0.3, 0.2, 1), /selectionMargin 1 needs per-prompt scores/);
  assert.throws(() => beatsKept([1, 2], [1], 0), /scored 1 and then 2 prompts/);
});

test('selectionMargin keeps the starting policy when later checks gain only noise', async () => {
  // Per-prompt held-out scores by check: the third check's mean is highest but within noise,
  // the fourth stands clear of the kept policy.
  const checks = [
    [0, 0, 0, 0, 0, 0],
    [0.5, -0.5, 0.4, -0.6, 0.5, -0.4],
    [1, -0.8, 1, -0.9, 1, -0.7],
    [0.9, 1, 1.1, 1, 0.9, 1],
  ];
  const run = async (selectionMargin: number, totalUpdates: number, label: string) => {
    const models = toyModels(label);
    let call = 0;
    const res = await trainPpo(
      models,
      PROMPTS,
      targetReward,
      { ...TOY_CONFIG, totalUpdates, validateEvery: 1, selectionMargin },
      { validate: () => checks[call++]! },
    );
    disposeAll(models);
    return res.best?.update;
  };
  assert.is(await run(0, 2, 'margin0'), 2, 'a plain maximum takes the noisy third check');
  assert.is(await run(2, 2, 'margin2'), 0, 'with a margin the noise is not kept');
  assert.is(await run(2, 3, 'margin2b'), 3, 'a clear gain is kept');
});

test('a NaN reward stops PPO naming the update; the last checkpoint stays loadable', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pitlab-ppo-nan-'));
  const models = toyModels('nan');
  let calls = 0;
  const reward = (q: number[][], r: number[][]) => {
    calls += 1;
    return calls === 3 ? new Float32Array(q.length).fill(Number.NaN) : targetReward(q, r);
  };
  try {
    const run = trainPpo(
      models,
      PROMPTS,
      reward,
      { ...TOY_CONFIG, totalUpdates: 4, saveInterval: 1 },
      { dir },
    );
    const err = await run.then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.instance(err, NonFiniteError);
    assert.match((err as Error).message, /ppo: non-finite loss \(NaN\) at step 3/);
    const ckpt = latestStageCheckpoint(join(dir, 'ppo.ckpt.safetensors'), { stage: 'ppo' });
    assert.is(ckpt?.counters.update, 2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    disposeAll(models);
  }
});

test.run();
