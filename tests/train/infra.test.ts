/** Trainer infrastructure: config resolution, metrics JSONL, stage checkpoints, guarded steps. */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Rng, runtime } from '../../src/runtime';
import { resolveConfig } from '../../src/runtime/validate';
import {
  AdamW,
  batchAt,
  configHash,
  guardedStep,
  latestStageCheckpoint,
  loadStageCheckpoint,
  lrAt,
  MetricsLogger,
  metricsFrame,
  NonFiniteError,
  previousPath,
  readMetrics,
  restoreStageCheckpoint,
  saveStageCheckpoint,
} from '../../src/train';

let dir = '';
test.before(async () => {
  await runtime.ready();
  dir = mkdtempSync(path.join(tmpdir(), 'pitlab-infra-'));
});
test.after(() => rmSync(dir, { recursive: true, force: true }));

const DEFAULTS = { lr: 1e-3, steps: 10, loss: 'five-constraints', flags: [1, 2] };

test('resolveConfig fills defaults and names bad keys and types', () => {
  assert.equal(resolveConfig(DEFAULTS, { steps: 3 }, 'XConfig'), { ...DEFAULTS, steps: 3 });
  assert.throws(
    () => resolveConfig(DEFAULTS, { stpes: 3 } as never, 'XConfig'),
    /Unknown XConfig key 'stpes'/,
  );
  assert.throws(
    () => resolveConfig(DEFAULTS, { lr: '1e-3' } as never, 'XConfig'),
    /XConfig\.lr must be a number/,
  );
  assert.throws(
    () => resolveConfig(DEFAULTS, { flags: 1 } as never, 'XConfig'),
    /XConfig\.flags must be an array/,
  );
  assert.throws(() => resolveConfig(DEFAULTS, { lr: Number.NaN }, 'XConfig'), /finite/);
  assert.is(configHash({ a: 1, b: 2 }), configHash({ b: 2, a: 1 }));
  assert.is.not(configHash({ a: 1 }), configHash({ a: 2 }));
});

test('MetricsLogger writes JSONL, keeps rows ≤ resume step, reads back as a frame', () => {
  const file = path.join(dir, 'm.jsonl');
  const log = new MetricsLogger(file);
  for (let s = 1; s <= 4; s++) log.log({ step: s, loss: 1 / s });
  log.log({ step: 4, eval_loss: 0.5 });
  writeFileSync(
    file,
    `${readMetrics(file)
      .map((r) => JSON.stringify(r))
      .join('\n')}\n{"step": 5, "lo`,
  );
  assert.is(readMetrics(file).length, 5); // torn last line ignored
  const resumed = new MetricsLogger(file, { resumeAt: 2 });
  assert.equal(
    resumed.rows().map((r) => r.step),
    [1, 2],
  );
  resumed.log({ step: 3, loss: 0.3 });
  const df = metricsFrame(file);
  assert.equal(df.columns, ['step', 'loss']);
  assert.equal(df.shape, [3, 2]);
});

test('stage checkpoint round-trips weights, optimizer, RNG and counters; keeps .prev', () => {
  const before = tf.memory().numTensors;
  const init = tf.tensor([1, 2, 3]);
  const w = tf.variable(init);
  init.dispose();
  const opt = new AdamW([w], { lr: 0.1 });
  opt.apply([tf.tensor([1, -1, 0.5])]);
  const rng = new Rng(5);
  rng.next();
  const file = path.join(dir, 'stage.ckpt.safetensors');
  const meta = { stage: 'toy', configHash: 'abc', counters: { step: 1 } };
  saveStageCheckpoint(
    file,
    { models: { m: new Map([['w', w]]) }, optimizers: { o: opt }, rngs: { r: rng } },
    meta,
  );
  const saved = [...w.dataSync()];
  const savedRng = rng.getState();
  opt.apply([tf.tensor([1, 1, 1])]);
  rng.next();
  saveStageCheckpoint(
    file,
    { models: { m: new Map([['w', w]]) }, optimizers: { o: opt }, rngs: { r: rng } },
    { ...meta, counters: { step: 2 } },
  );
  assert.ok(existsSync(previousPath(file)));
  const prev = loadStageCheckpoint(previousPath(file), { stage: 'toy', configHash: 'abc' });
  assert.equal(prev.counters, { step: 1 });
  restoreStageCheckpoint(prev, {
    models: { m: new Map([['w', w]]) },
    optimizers: { o: opt },
    rngs: { r: rng },
  });
  assert.equal([...w.dataSync()], saved);
  assert.equal(rng.getState(), savedRng);
  assert.is(opt.step, 1);
  assert.throws(() => loadStageCheckpoint(file, { configHash: 'zzz' }), /config hash abc/);
  writeFileSync(file, 'garbage'); // a torn file falls back to .prev
  assert.equal(latestStageCheckpoint(file)?.counters, { step: 1 });
  opt.dispose();
  w.dispose();
  assert.is(tf.memory().numTensors, before);
});

test('guardedStep stops on a NaN loss naming the step, leaving weights untouched', () => {
  const w = tf.variable(tf.tensor([1, 2]));
  const opt = new AdamW([w]);
  const before = tf.memory().numTensors;
  const r = guardedStep(
    opt,
    () => ({ loss: w.square().sum() as tf.Scalar, aux: { w2: w.mul(2) } }),
    { stage: 's', step: 1, lr: 0.1 },
  );
  assert.is(r.loss, 5);
  assert.equal([...r.aux.w2], [2, 4]);
  const kept = [...w.dataSync()];
  try {
    guardedStep(opt, () => ({ loss: w.sum().mul(Number.NaN) as tf.Scalar }), {
      stage: 's',
      step: 2,
      lr: 0.1,
    });
    assert.unreachable();
  } catch (err) {
    assert.instance(err, NonFiniteError);
    assert.match((err as Error).message, /at step 2/);
  }
  assert.equal([...w.dataSync()], kept);
  assert.is(opt.step, 1);
  assert.is(tf.memory().numTensors, before);
  opt.dispose();
  w.dispose();
});

test('schedules and batch order', () => {
  assert.is(lrAt(0, 10, 1, 'constant', 2), 0.5);
  assert.is(lrAt(5, 10, 1, 'constant', 2), 1);
  assert.ok(Math.abs(lrAt(10, 10, 1, 'cosine')) < 1e-12);
  const rng = new Rng(1);
  const a = batchAt(rng, 3, 10, 4); // epoch 1 (3 batches per epoch), first batch
  assert.is(a.epoch, 1);
  assert.equal(a.rows, batchAt(new Rng(1), 3, 10, 4).rows);
  const all = [0, 1, 2].flatMap((s) => batchAt(rng, s, 10, 4).rows).sort((x, y) => x - y);
  assert.equal(all, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
});

test('length-grouped batches: every example once per epoch, little padding, seeded order', () => {
  const n = 203; // 12 full batches of 16 and one of 11
  const B = 16;
  const lenRng = new Rng(7);
  const lengths = Array.from({ length: n }, () => 5 + lenRng.int(40));
  const grouping = { lengths, groupBatches: 4 };
  const padded = (g?: typeof grouping) => {
    let tokens = 0;
    for (let s = 0; s < 13; s++) {
      const rows = batchAt(new Rng(3), s, n, B, g).rows;
      tokens += rows.length * Math.max(...rows.map((i) => lengths[i]!));
    }
    return tokens;
  };
  for (const epoch of [0, 1]) {
    const steps = Array.from({ length: 13 }, (_, k) => epoch * 13 + k);
    const batches = steps.map((s) => batchAt(new Rng(3), s, n, B, grouping));
    assert.ok(batches.every((b) => b.epoch === epoch));
    const all = batches.flatMap((b) => b.rows).sort((x, y) => x - y);
    assert.equal(
      all,
      Array.from({ length: n }, (_, i) => i),
    );
    assert.is(batches.filter((b) => b.rows.length < B).length, 1);
  }
  const real = lengths.reduce((a, b) => a + b, 0);
  const grouped = padded(grouping);
  assert.ok(grouped < padded() * 0.85, `grouped ${grouped} vs shuffled ${padded()}`);
  assert.ok(grouped / real < 1.3 && padded() / real > 1.5, `padding ${grouped / real}`);
  // grouping 0 is the plain shuffle; the order depends on the seed and the epoch only
  assert.equal(
    batchAt(new Rng(3), 5, n, B, { lengths, groupBatches: 0 }),
    batchAt(new Rng(3), 5, n, B),
  );
  assert.equal(batchAt(new Rng(3), 5, n, B, grouping), batchAt(new Rng(3), 5, n, B, grouping));
  assert.not.equal(
    batchAt(new Rng(4), 5, n, B, grouping).rows,
    batchAt(new Rng(3), 5, n, B, grouping).rows,
  );
  assert.throws(
    () => batchAt(new Rng(3), 0, n, B, { lengths: [1, 2], groupBatches: 4 }),
    /2 lengths for 203/,
  );
});

test.run();
