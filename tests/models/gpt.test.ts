/** The GPT: shapes, causality, KV-cache equivalence, masked loss, seeding and overfitting. */
import * as tf from '@tensorflow/tfjs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  disposeCache,
  Gpt,
  lmLoss,
  maskedCrossEntropy,
  resolveGptConfig,
  sample,
  sampleToken,
} from '../../src/models';
import { Rng, runtime } from '../../src/runtime';
import { setFusedOpsEnabled } from '../../src/runtime/ops';
import { AdamW } from '../../src/train/optim';

const TINY = { vocabSize: 40, blockSize: 24, nLayer: 2, nHead: 2, nEmbd: 16 };

function ids2d(rows: number[][]): tf.Tensor2D {
  return tf.tensor2d(rows, [rows.length, rows[0]!.length], 'int32');
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

test.before(async () => {
  await runtime.ready();
  runtime.seed(1);
});

test('config: defaults, unknown keys and indivisible heads are clear errors', () => {
  assert.is(resolveGptConfig().nEmbd, 128);
  assert.throws(
    () => resolveGptConfig({ nEmbd: 30, nHead: 4 }),
    /nEmbd must be divisible by nHead \(4\), got 30/,
  );
  assert.throws(() => resolveGptConfig({ nLayers: 2 } as never), /Unknown GptConfig key 'nLayers'/);
  assert.throws(() => resolveGptConfig({ vocabSize: 0 }), /vocabSize must be a positive integer/);
});

test('forward and logits shapes; nothing leaks', () => {
  const model = new Gpt(TINY);
  const before = tf.memory().numTensors;
  const ids = ids2d([
    [1, 2, 3, 4, 5],
    [6, 7, 8, 9, 10],
  ]);
  const { hidden } = model.forward(ids);
  const logits = model.logits(hidden);
  assert.equal(hidden.shape, [2, 5, 16]);
  assert.equal(logits.shape, [2, 5, 40]);
  tf.dispose([ids, hidden, logits]);
  assert.is(tf.memory().numTensors, before);
  assert.throws(
    () => model.forward(ids2d([Array(25).fill(1)])),
    /Sequence length 25 exceeds blockSize 24/,
  );
  model.dispose();
});

test('causality: changing a future token never changes earlier logits', () => {
  const model = new Gpt(TINY);
  const a = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3];
  for (const j of [1, 5, 9]) {
    const b = a.slice();
    b[j] = (b[j]! + 7) % 40;
    const [la, lb] = [a, b].map((row) => {
      const ids = ids2d([row]);
      const { hidden } = model.forward(ids);
      const out = model.logits(hidden).arraySync() as number[][][];
      tf.dispose([ids, hidden]);
      return out[0]!;
    });
    for (let t = 0; t < j; t++)
      assert.ok(maxAbsDiff(la![t]!, lb![t]!) === 0, `position ${t} changed when token ${j} did`);
    assert.ok(maxAbsDiff(la![j]!, lb![j]!) > 0, 'the changed position itself must change');
  }
  model.dispose();
});

/** Greedy decoding by full recomputation, one unpadded row at a time: the reference. */
function greedyNoCache(
  model: Gpt,
  prompt: number[],
  steps: number,
): { tokens: number[]; logits: number[][] } {
  const seq = prompt.slice();
  const logits: number[][] = [];
  for (let s = 0; s < steps; s++) {
    const ids = ids2d([seq]);
    const { hidden } = model.forward(ids);
    const all = model.logits(hidden).arraySync() as number[][][];
    tf.dispose([ids, hidden]);
    const last = all[0]![seq.length - 1]!;
    logits.push(last);
    seq.push(last.indexOf(Math.max(...last)));
  }
  return { tokens: seq.slice(prompt.length), logits };
}

for (const inPlace of [true, false]) {
  test(`KV-cache sampling matches full recomputation, mixed-length left-padded prompts (${inPlace ? 'in-place decode kernel' : 'composite cache'})`, () => {
    setFusedOpsEnabled(inPlace);
    try {
      const model = new Gpt(TINY);
      // The decode kernel exists on wasm and cpu; other backends always run the composite cache.
      const expected = inPlace && ['wasm', 'cpu'].includes(tf.getBackend());
      assert.is(model.emptyCache(1).inPlace, expected, 'cache mode follows the fused-ops switch');
      const prompts = [[5], [7, 8, 9, 10, 11], [12, 13, 3]];
      const before = tf.memory().numTensors;
      const cached = sample(model, prompts, { maxNewTokens: 8, temperature: 0 });
      assert.is(tf.memory().numTensors, before, 'sampling leaks no tensors');
      prompts.forEach((p, b) => {
        const ref = greedyNoCache(model, p, 8);
        assert.equal(cached.tokens[b], ref.tokens, `row ${b}`);
      });
      // Logit-level equivalence: two incremental steps against the full forward.
      const full = greedyNoCache(model, [7, 8, 9], 3);
      const cache = model.emptyCache(1, 6);
      model.forward(ids2d([[7, 8, 9]]), { cache }).hidden.dispose();
      for (let t = 0; t < 2; t++) {
        const step = model.forward(ids2d([[full.tokens[t]!]]), { cache });
        const inc = (model.logits(step.hidden).arraySync() as number[][][])[0]![0]!;
        step.hidden.dispose();
        assert.ok(
          maxAbsDiff(inc, full.logits[t + 1]!) < 1e-4,
          `step ${t}: cache logits differ by ${maxAbsDiff(inc, full.logits[t + 1]!)}`,
        );
      }
      assert.is(cache.length, 5);
      assert.throws(
        () => model.forward(ids2d([[1, 2]]), { cache }),
        /Sequence length 7 exceeds the cache's capacity 6/,
      );
      disposeCache(cache);
      model.dispose();
    } finally {
      setFusedOpsEnabled(true);
    }
  });
}

test('finished rows leave the batch: greedy samples with EOS match each row sampled alone', () => {
  const model = new Gpt(TINY);
  const prompts = Array.from({ length: 8 }, (_, b) => [1 + b, 2 + ((3 * b) % 7), 30 - b]);
  const free = prompts.map((p) => greedyNoCache(model, p, 10).tokens);
  // An EOS that ends between a quarter and all but one of the rows within 4 tokens, so the batch
  // shrinks at least once.
  const endsEarly = (tok: number) => free.filter((row) => row.slice(0, 4).includes(tok)).length;
  const eos = [...new Set(free.flat())].find((tok) => endsEarly(tok) >= 2 && endsEarly(tok) < 8);
  assert.ok(eos !== undefined, 'some token ends part of the batch early');
  const widths: number[] = [];
  const forward = model.forward.bind(model);
  model.forward = (ids, options) => {
    widths.push(ids.shape[0]);
    return forward(ids, options);
  };
  const before = tf.memory().numTensors;
  const batched = sample(model, prompts, { maxNewTokens: 10, temperature: 0, eosId: eos });
  assert.is(tf.memory().numTensors, before, 'no tensors leaked');
  assert.ok(Math.min(...widths) < prompts.length, `batch shrank: widths ${widths}`);
  free.forEach((row, b) => {
    const end = row.indexOf(eos!);
    assert.equal(batched.tokens[b], end < 0 ? row : row.slice(0, end + 1), `row ${b}`);
    assert.is(batched.finished[b], end >= 0, `row ${b} finished`);
  });
  model.dispose();
});

test('sampling: EOS stops a row, maxNewTokens caps it, same seed gives identical samples', () => {
  const model = new Gpt(TINY);
  const prompts = [[1, 2], [3], [4, 5, 6]];
  const draw = (seed: number) =>
    sample(model, prompts, { maxNewTokens: 10, temperature: 1, rng: new Rng(seed) });
  assert.equal(draw(11), draw(11));
  assert.not.equal(draw(11).tokens, draw(12).tokens);
  runtime.seed(5);
  const viaRuntime = sample(model, prompts, { maxNewTokens: 10 });
  assert.equal(sample(model, prompts, { maxNewTokens: 10 }), viaRuntime);
  const eos = viaRuntime.tokens[0]![2]!;
  const stopped = sample(model, prompts, { maxNewTokens: 10, eosId: eos });
  assert.ok(stopped.finished[0]);
  assert.is(stopped.tokens[0]!.at(-1), eos);
  assert.is(stopped.tokens[0]!.indexOf(eos), stopped.tokens[0]!.length - 1);
  for (const row of viaRuntime.tokens) assert.is(row.length, 10);
  model.dispose();
});

test('sampleToken: temperature 0, top-k 1 and a tiny top-p are all greedy', () => {
  const logits = Float32Array.from([0.1, 2.5, -1, 2.4, 0]);
  const rng = new Rng(3);
  for (let i = 0; i < 20; i++) {
    assert.is(sampleToken(logits, { temperature: 0, topK: 0, topP: 1 }, rng), 1);
    assert.is(sampleToken(logits, { temperature: 1, topK: 1, topP: 1 }, rng), 1);
    assert.is(sampleToken(logits, { temperature: 1, topK: 0, topP: 0.01 }, rng), 1);
    assert.ok([1, 3].includes(sampleToken(logits, { temperature: 1, topK: 2, topP: 1 }, rng)));
  }
});

test('masked loss: masked positions contribute nothing, and get zero gradient', () => {
  const logits = tf.randomNormal([4, 6], 0, 1, 'float32', 3) as tf.Tensor2D;
  const mask = tf.tensor1d([1, 0, 1, 0]);
  const lossOf = (targets: number[]) => {
    const t = tf.tensor1d(targets, 'int32');
    const g = tf.grad((l: tf.Tensor) => maskedCrossEntropy(l as tf.Tensor2D, t, mask))(logits);
    const loss = maskedCrossEntropy(logits, t, mask).dataSync()[0]!;
    const grad = g.arraySync() as number[][];
    tf.dispose([t, g]);
    return { loss, grad };
  };
  const a = lossOf([0, 1, 2, 3]);
  const b = lossOf([0, 5, 2, 4]); // differs only where the mask is 0
  assert.is(a.loss, b.loss);
  assert.equal(a.grad[1], [0, 0, 0, 0, 0, 0]);
  assert.equal(a.grad[3], [0, 0, 0, 0, 0, 0]);
  assert.ok(a.grad[0]!.some((x) => x !== 0));
  tf.dispose([logits, mask]);
});

test('a tiny model memorises a tiny corpus', () => {
  // Four 16-token sequences; each is fixed once its first token is known, and that first token
  // is excluded from the loss, so a perfect model reaches 0. Threshold 0.05 nats per token means
  // ≥ 95% probability on every target token: memorised, not merely "learning".
  const rng = new Rng(9);
  const corpus = [0, 1, 2, 3].map((i) => [
    1,
    10 + i,
    ...Array.from({ length: 14 }, () => 2 + rng.int(38)),
  ]);
  const model = new Gpt({ ...TINY, nEmbd: 32 });
  const opt = new AdamW(model.variables(), { lr: 3e-3, beta2: 0.99 });
  const ids = ids2d(corpus);
  const maskRows = corpus.map(() => [0, ...Array(14).fill(1)]);
  const mask = tf.tensor2d(maskRows);
  const before = tf.memory().numTensors;
  let loss = Number.POSITIVE_INFINITY;
  for (let step = 0; step < 300 && loss > 0.05; step++) {
    const { value, grads } = tf.variableGrads(() => lmLoss(model, ids, mask), model.variables());
    loss = value.dataSync()[0]!;
    value.dispose();
    opt.apply(model.variables().map((v) => grads[v.name]!));
  }
  assert.is(tf.memory().numTensors, before, 'training steps leak no tensors');
  assert.ok(loss < 0.05, `loss ${loss}`);
  const greedy = sample(
    model,
    corpus.map((c) => c.slice(0, 2)),
    { maxNewTokens: 14, temperature: 0 },
  );
  assert.equal(
    greedy.tokens,
    corpus.map((c) => c.slice(2)),
  );
  tf.dispose([ids, mask]);
  opt.dispose();
  model.dispose();
});

test.run();
