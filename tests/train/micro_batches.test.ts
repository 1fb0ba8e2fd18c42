/**
 * Length-sorted micro-batches: a step split into parts gives the loss, metrics and gradient norm
 * of the same step as one padded batch (SFT, R_P and R_PIT), and `lengthSortedParts` partitions a
 * batch by length.
 */
import * as tf from '@tensorflow/tfjs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { WordTokenizer } from '../../src/data';
import { Gpt, RewardModel } from '../../src/models';
import { Rng, runtime } from '../../src/runtime';
import {
  lengthSortedParts,
  type MetricsRow,
  type Pair,
  trainReward,
  trainSft,
} from '../../src/train';
import { TINY_GPT as TINY, variedExamples } from './fixtures/toy';

test.before(async () => {
  await runtime.ready();
});

test('lengthSortedParts: every row once, shortest first, at most `parts` parts', () => {
  const lengths = [5, 3, 9, 3, 7, 1, 8];
  const parts = lengthSortedParts(lengths, 3);
  assert.is(parts.length, 3);
  assert.equal(
    parts.flat().sort((a, b) => a - b),
    [0, 1, 2, 3, 4, 5, 6],
  );
  const flat = parts.flat().map((i) => lengths[i]!);
  assert.equal(
    flat,
    [...flat].sort((a, b) => a - b),
  );
  assert.equal(lengthSortedParts(lengths, 1), [[5, 1, 3, 0, 4, 6, 2]]);
  assert.is(lengthSortedParts([4, 2], 5).length, 2); // no empty parts
});

function close(a: number, b: number, tol: number, label: string): void {
  assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${label}: ${a} vs ${b}`);
}

test('SFT: a step in 3 length-sorted micro-batches equals the one-batch step', async () => {
  const firstRow = async (microBatches: number) => {
    runtime.seed(3);
    const model = new Gpt(TINY);
    const rows: MetricsRow[] = [];
    await trainSft(
      { policy: model },
      { train: variedExamples(24, 1) },
      { maxSteps: 2, batchSize: 12, logEvery: 1, checkpointEvery: 0, microBatches },
      { onLog: (row) => rows.push(row) },
    );
    model.dispose();
    return rows;
  };
  const before = tf.memory().numTensors;
  const [one, three] = [await firstRow(1), await firstRow(3)];
  assert.is(tf.memory().numTensors, before);
  for (const k of ['loss', 'mean_token_accuracy', 'entropy', 'grad_norm'] as const) {
    close(three[0]![k]!, one[0]![k]!, 1e-5, k);
  }
  assert.is(three[0]!.num_tokens, one[0]!.num_tokens);
  close(three[1]!.loss!, one[1]!.loss!, 1e-4, 'loss after one update');
});

function variedPairs(n: number, seed: number): Pair[] {
  const rng = new Rng(seed);
  const words = ['a', 'c', 'd', 'e'];
  const text = (k: number) => Array.from({ length: k }, () => rng.pick(words)).join(' ');
  return Array.from({ length: n }, () => {
    const y = text(1 + rng.int(4));
    return {
      prompt: text(1 + rng.int(4)),
      chosen: `${y} g`,
      rejected: `${y} b ${text(rng.int(3))}`,
    };
  });
}

for (const [kind, loss] of [
  ['rp', 'rp-difference'],
  ['rpit', 'five-constraints'],
] as const) {
  test(`${kind}: a step in 3 length-sorted micro-batches equals the one-batch step`, async () => {
    const tok = new WordTokenizer(['a', 'c', 'd', 'e', 'g', 'b']);
    const firstRow = async (microBatches: number) => {
      runtime.seed(5);
      const rm = new RewardModel(kind, { ...TINY, vocabSize: tok.vocabSize });
      const rows: MetricsRow[] = [];
      await trainReward(
        { reward: rm },
        { tokenizer: tok, train: variedPairs(20, 2) },
        {
          maxSteps: 1,
          batchSize: 10,
          logEvery: 1,
          checkpointEvery: 0,
          loss,
          centerRewardsCoefficient: 0.01,
          microBatches,
        },
        { onLog: (row) => rows.push(row) },
      );
      rm.dispose();
      return rows[0]!;
    };
    const [one, three] = [await firstRow(1), await firstRow(3)];
    for (const k of Object.keys(one).filter((k) => k !== 'step' && k !== 'epoch')) {
      close(three[k as 'loss']!, one[k as 'loss']!, 1e-5, k);
    }
    assert.ok(Object.keys(one).includes('accuracy'), Object.keys(one).join());
  });
}

test.run();
