/** SFT: prompt masking, a smoke run (metrics, weights move, no leaked tensors), NaN stop, SIGKILL resume. */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Gpt } from '../../src/models';
import { runtime } from '../../src/runtime';
import {
  loadStageCheckpoint,
  type MetricsRow,
  maskedTokenStats,
  NonFiniteError,
  readMetrics,
  sftBatch,
  stageFiles,
  trainSft,
} from '../../src/train';
import { readyWithTempDir } from '../helpers';
import { toyExamples } from './fixtures/toy';

const TINY = { vocabSize: 20, blockSize: 16, nLayer: 2, nHead: 2, nEmbd: 32 };
const tmp = readyWithTempDir('pitlab-sft-');

test('sftBatch masks prompt targets and padding; masked logits get zero gradient', () => {
  const b = sftBatch([
    { prompt: [1, 7, 5], response: [8, 2] },
    { prompt: [1, 5], response: [9, 9, 2] },
  ]);
  assert.is(b.T, 5);
  // targets are ids[1..]: row 0 → 7 5 8 2 pad, row 1 → 5 9 9 2 pad
  assert.equal([...b.lossMask], [0, 0, 1, 1, 0, 1, 1, 1]);
  const logits = tf.randomNormal([8, 20], 0, 1, 'float32', 3) as tf.Tensor2D;
  const targets = tf.tensor1d(
    Array.from(b.ids).filter((_, i) => i % 5 !== 0),
    'int32',
  );
  const mask = tf.tensor1d(b.lossMask);
  const g = tf.grad((l: tf.Tensor) => maskedTokenStats(l as tf.Tensor2D, targets, mask).loss)(
    logits,
  );
  const rows = g.abs().sum(1).arraySync() as number[];
  rows.forEach((v, i) => {
    if (b.lossMask[i] === 0) assert.is(v, 0, `masked row ${i} has gradient ${v}`);
    else assert.ok(v > 0, `unmasked row ${i} has no gradient`);
  });
  tf.dispose([logits, targets, mask, g]);
});

test('trainSft logs TRL metrics, moves every weight and leaks no tensors', async () => {
  runtime.seed(1);
  const model = new Gpt(TINY);
  const before = tf.memory().numTensors;
  const initial = new Map([...model.params].map(([k, v]) => [k, v.dataSync().slice()]));
  const rows: MetricsRow[] = [];
  const { train, eval: held } = toyExamples();
  const r = await trainSft(
    { policy: model },
    { train, eval: held },
    { maxSteps: 20, batchSize: 4, lr: 3e-3, logEvery: 5, checkpointEvery: 0 },
    { onLog: (row) => rows.push(row) },
  );
  assert.is(tf.memory().numTensors, before);
  for (const key of [
    'loss',
    'mean_token_accuracy',
    'entropy',
    'num_tokens',
    'grad_norm',
    'learning_rate',
  ]) {
    assert.ok(Number.isFinite(r.lastTrain?.[key as 'loss']), `missing ${key}`);
  }
  assert.ok(
    r.lastEval?.eval_loss !== undefined && r.lastEval.eval_mean_token_accuracy !== undefined,
  );
  assert.ok(rows[0]!.loss! > r.lastTrain!.loss!, 'loss fell');
  for (const [k, v] of model.params) {
    const a = initial.get(k)!;
    assert.ok(
      v.dataSync().some((x, i) => x !== a[i]),
      `${k} unchanged`,
    );
  }
  model.dispose();
});

test('a NaN loss stops the stage naming the step; the last checkpoint stays loadable', async () => {
  runtime.seed(2);
  const model = new Gpt(TINY);
  const out = path.join(tmp.dir, 'nan');
  const { train } = toyExamples();
  const poison = (step: number) => {
    if (step === 4) model.params.get('ln_f.bias')!.assign(tf.fill([TINY.nEmbd], Number.NaN));
  };
  let error: unknown;
  try {
    await trainSft(
      { policy: model },
      { train },
      { maxSteps: 10, batchSize: 4, logEvery: 2, checkpointEvery: 4, outDir: out },
      { onCheckpoint: (_p, s) => poison(s) },
    );
  } catch (err) {
    error = err;
  }
  assert.instance(error, NonFiniteError);
  assert.match((error as Error).message, /non-finite loss \(NaN\) at step 5/);
  const ckpt = loadStageCheckpoint(stageFiles(out, 'sft').checkpoint, { stage: 'sft' });
  assert.is(ckpt.counters.step, 4);
  for (const [name, t] of ckpt.tensors)
    assert.ok(t.data.every(Number.isFinite), `${name} not finite`);
  model.dispose();
});

test('SIGKILL mid-stage, rerun: resumes and ends with the metrics of an uninterrupted run', () => {
  const child = path.join(__dirname, 'fixtures', 'resume-child.ts');
  const run = (out: string, kill?: number) =>
    spawnSync(process.execPath, ['--import', 'tsx', child, out, ...(kill ? [String(kill)] : [])], {
      encoding: 'utf8',
      cwd: path.join(__dirname, '..', '..'),
      timeout: 300_000,
    });
  const a = path.join(tmp.dir, 'uninterrupted');
  const b = path.join(tmp.dir, 'killed');
  const full = run(a);
  assert.is(full.status, 0, full.stderr);
  const killed = run(b, 10); // last checkpoint at step 8; steps 9–10 ran and are lost
  assert.is(killed.signal, 'SIGKILL');
  const resumed = run(b);
  assert.is(resumed.status, 0, resumed.stderr);
  const last = (s: string) => JSON.parse(s.trim().split('\n').pop()!);
  const x = last(full.stdout);
  const y = last(resumed.stdout);
  assert.is(y.resumedFrom, 8);
  assert.equal(y.train, x.train);
  assert.equal(y.eval, x.eval);
  assert.equal(
    readMetrics(stageFiles(b, 'sft').metrics),
    readMetrics(stageFiles(a, 'sft').metrics),
  );
  assert.ok(readFileSync(stageFiles(b, 'sft').metrics, 'utf8').length > 0);
});

test.run();
