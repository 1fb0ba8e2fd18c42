/**
 * Data parallelism on one machine: SFT with gradient threads computes the same weights, bit for
 * bit, and the same logged metrics as without them, leaks nothing (also when a thread fails), and
 * refuses a thread count that leaves this thread no micro-batch or a replica that does not match.
 */
import * as tf from '@tensorflow/tfjs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Gpt } from '../../src/models';
import { runtime } from '../../src/runtime';
import {
  AdamW,
  guardedStep,
  type MetricsRow,
  type RemotePart,
  resolveSftConfig,
  trainSft,
} from '../../src/train';
import { assignParts, GradientThread } from '../../src/train/gradient_thread';
import { TINY_GPT as TINY, variedExamples } from './fixtures/toy';

test.before(async () => {
  await runtime.ready();
});

async function train(gradientThreads: number, microBatches = 3) {
  runtime.seed(5);
  const model = new Gpt(TINY);
  const rows: MetricsRow[] = [];
  await trainSft(
    { policy: model },
    { train: variedExamples(40, 2) },
    { maxSteps: 4, batchSize: 12, logEvery: 1, checkpointEvery: 0, microBatches, gradientThreads },
    { onLog: (row) => rows.push(row) },
  );
  const weights = model.variables().map((v) => Array.from(v.dataSync()));
  model.dispose();
  return { weights, rows };
}

test('SFT with gradient threads: the same weights bit for bit, the same metrics', async () => {
  const before = tf.memory().numTensors;
  const alone = await train(0);
  const one = await train(1);
  const two = await train(2, 3);
  const fourParts = await train(0, 4);
  const fourPartsThreaded = await train(1, 4); // two parts on each side
  assert.is(tf.memory().numTensors, before, 'no tensors left behind');
  for (const [run, ref] of [
    [one, alone],
    [two, alone],
    [fourPartsThreaded, fourParts],
  ] as const) {
    assert.equal(run.weights, ref.weights);
    for (const [i, row] of ref.rows.entries()) {
      for (const k of [
        'loss',
        'mean_token_accuracy',
        'entropy',
        'grad_norm',
        'num_tokens',
      ] as const)
        assert.is(run.rows[i]![k], row[k], `${k} at log ${i}`);
    }
  }
  // a different batch split is a different sum: the comparison above could fail
  const split2 = await train(0, 2);
  assert.not.equal(split2.weights, alone.weights);
});

test("a caller's model read in another parameter order (as from a file): the thread matches by name", async () => {
  const trained = async (gradientThreads: number, reorder: boolean) => {
    runtime.seed(5);
    const fresh = new Gpt(TINY);
    // A file's order: the same parameters, inserted in reverse.
    const model = reorder ? new Gpt(TINY, new Map([...fresh.params].reverse())) : fresh;
    await trainSft(
      { policy: model },
      { train: variedExamples(40, 2) },
      { maxSteps: 3, batchSize: 12, checkpointEvery: 0, microBatches: 3, gradientThreads },
    );
    const weights = Object.fromEntries(
      model.namedVariables().map(([name, v]) => [name, Array.from(v.dataSync())]),
    );
    model.dispose();
    return weights;
  };
  // Both in the file's order: on some backends the gradient norm sums in variable order, so the
  // order can be part of the trajectory. A replica matched by position refuses to start here
  // (or, unchecked, computes gradients for the wrong parameters).
  const reference = await trained(0, true);
  assert.equal(await trained(1, true), reference);
});

test('a core lent mid-run: a gradient thread joins while training goes on, and the weights are the same', async () => {
  const run = async (lendFrom?: number) => {
    runtime.seed(5);
    const model = new Gpt(TINY);
    let calls = 0;
    const pause = new Int32Array(new SharedArrayBuffer(4));
    const result = await trainSft(
      { policy: model },
      { train: variedExamples(40, 2) },
      { maxSteps: 80, batchSize: 12, logEvery: 10, checkpointEvery: 0, microBatches: 3 },
      {
        lentCores: () => {
          calls++;
          if (lendFrom === undefined || calls < lendFrom) return 0;
          Atomics.wait(pause, 0, 0, 100); // slow the steps, so the thread can load meanwhile
          return 1;
        },
      },
    );
    const weights = model.variables().map((v) => Array.from(v.dataSync()));
    model.dispose();
    return { weights, threaded: result.threadedSteps };
  };
  const before = tf.memory().numTensors;
  const alone = await run();
  const lent = await run(3);
  assert.is(tf.memory().numTensors, before, 'no tensors left behind');
  assert.is(alone.threaded, 0);
  assert.ok(lent.threaded > 0, 'the lent thread computed parts');
  assert.ok(lent.threaded < 78, `it joined mid-run, not before step 3 (${lent.threaded} steps)`);
  assert.equal(lent.weights, alone.weights);
});

test('a failing remote part: the step throws its error, updates nothing, leaks nothing', () => {
  const v = tf.variable(tf.ones([3]));
  const optimizer = new AdamW([v], { lr: 0.1 });
  const before = tf.memory().numTensors;
  let read = 0;
  const reply = { loss: 1, aux: {}, grads: [new Float32Array([1, 1, 1])] };
  const ok: RemotePart<string> = {
    start() {},
    collect() {
      read++;
      return reply;
    },
  };
  const gone: RemotePart<string> = {
    start() {},
    collect() {
      throw new Error('gradient thread: no reply');
    },
  };
  const local = () => ({ loss: v.sum() as tf.Scalar });
  assert.throws(
    () => guardedStep(optimizer, [local, gone, ok], { stage: 's', step: 1, lr: 0.1 }),
    /gradient thread: no reply/,
  );
  assert.is(read, 1, "the other thread's reply was read, not left for the next step");
  assert.is(tf.memory().numTensors, before);
  assert.equal(Array.from(v.dataSync()), [1, 1, 1]);
  optimizer.dispose();
  v.dispose();
});

test('assignParts balances work longest first, ties to a thread, deterministically', () => {
  assert.equal(assignParts([20, 23, 27, 30], 2), [1, 0, 0, 1]); // 50 / 50
  assert.equal(assignParts([5, 5], 2), [1, 0]);
  assert.equal(assignParts([9, 1, 1], 3), [2, 1, 0]);
  assert.equal(assignParts([3, 2, 1], 1), [0, 0, 0]);
});

test('gradientThreads must leave this thread a micro-batch', () => {
  assert.throws(
    () => resolveSftConfig({ microBatches: 3, gradientThreads: 3 }),
    /SftConfig\.gradientThreads: expected an integer from 0 to microBatches − 1 \(2\), got 3/,
  );
  assert.throws(() => resolveSftConfig({ gradientThreads: 1.5 }), /gradientThreads/);
  assert.is(resolveSftConfig({ microBatches: 3, gradientThreads: 2 }).gradientThreads, 2);
});

test('a thread whose replica does not match the model refuses to start, naming both', async () => {
  const model = new Gpt(TINY);
  const other = new Gpt({ ...TINY, nEmbd: 16 });
  const err = await GradientThread.start(
    runtime.backend,
    other.config,
    model.namedVariables(),
  ).catch((e: Error) => e);
  model.dispose();
  other.dispose();
  assert.instance(err, Error);
  assert.match(
    (err as Error).message,
    /gradient thread: replica's variables .* differ from the caller's/,
  );
});

test.run();
