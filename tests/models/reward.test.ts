/**
 * Reward models: EOS and per-token read-outs under padding, the five-constraint loss by hand,
 * learning toy preferences, saving the pooling.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { WordTokenizer } from '../../src/data';
import {
  copyTrunk,
  loadRewardModel,
  pitRankingLoss,
  RewardModel,
  rewardModelFrom,
  saveRewardModel,
} from '../../src/models';
import { Rng, runtime } from '../../src/runtime';
import {
  idsTensor,
  type Pair,
  padRight,
  rpInput,
  rpitInput,
  scoreRows,
  trainReward,
} from '../../src/train';

const TINY = { vocabSize: 20, blockSize: 24, nLayer: 2, nHead: 2, nEmbd: 32 };

test.before(async () => {
  await runtime.ready();
});

test('score at EOS is unchanged by right padding (one-hot read-out, causal trunk)', () => {
  runtime.seed(4);
  const rm = new RewardModel('rp', TINY);
  const rows = [
    [1, 7, 8, 5, 9, 2],
    [1, 7, 5, 2],
  ];
  const p = padRight(rows);
  const both = tf.tidy(
    () => rm.scores(tf.tensor2d(p.ids, [p.B, p.T], 'int32'), p.lastIndex).arraySync() as number[],
  );
  const alone = tf.tidy(
    () => rm.scores(tf.tensor2d([rows[1]!], [1, 4], 'int32'), [3]).arraySync() as number[],
  );
  assert.ok(Math.abs(both[1]! - alone[0]!) < 1e-5, `${both[1]} vs ${alone[0]}`);
  rm.dispose();
});

test('five-constraint loss equals the hand-computed sum of −log σ terms', () => {
  const s = (v: number) => tf.tensor1d([v]);
  const r = { wl: s(2), ww: s(0.5), ll: s(-0.5), lw: s(-1) };
  const nls = (d: number) => Math.log(1 + Math.exp(-d));
  const expected = nls(2 - 0.5) + nls(2 + 0.5) + nls(3) + nls(0.5 + 1) + nls(-0.5 + 1);
  const five = pitRankingLoss(r, 'five-constraints');
  const swap = pitRankingLoss(r, 'swap-only');
  assert.ok(Math.abs(five.dataSync()[0]! - expected) < 1e-5);
  assert.ok(Math.abs(swap.dataSync()[0]! - nls(3)) < 1e-6);
  tf.dispose([...Object.values(r), five, swap]);
});

/** Toy preference: responses containing word "g" beat those containing "b". */
function toyPairs(n: number, seed: number): Pair[] {
  const rng = new Rng(seed);
  const words = ['a', 'c', 'd', 'e'];
  return Array.from({ length: n }, () => {
    const x = `${rng.pick(words)} ${rng.pick(words)}`;
    const filler = rng.pick(words);
    return { prompt: x, chosen: `${filler} g`, rejected: `${filler} b` };
  });
}

test('R_PIT reads both EOS: started from R_P, r(x, y, y_ref) = R_P(x, y) − R_P-head at the end', () => {
  runtime.seed(6);
  const tok = new WordTokenizer(['a', 'c', 'd', 'e', 'g', 'b']);
  const rp = new RewardModel('rp', { ...TINY, vocabSize: tok.vocabSize });
  const rpit = new RewardModel('rpit', copyTrunk(rp.trunk), { head: rp.head });
  const row = rpitInput(tok, 'a c', 'd g', 'e b');
  assert.equal(row.slice(0, rpInput(tok, 'a c', 'd g').length), rpInput(tok, 'a c', 'd g'));
  const score = (m: RewardModel, rows: number[][]) => {
    const p = padRight(rows);
    return tf.tidy(() => m.rawScores(idsTensor(p), p.lastIndex).dataSync());
  };
  const [full, prefix] = [score(rp, [row]), score(rp, [rpInput(tok, 'a c', 'd g')])];
  const gap = score(rpit, [row]);
  assert.ok(
    Math.abs(gap[0]! - (prefix[0]! - full[0]!)) < 1e-5,
    `${gap[0]} vs ${prefix[0]! - full[0]!}`,
  );
  assert.throws(() => score(rpit, [rpInput(tok, 'a', 'c').slice(0, -1)]), /row 0 has no EOS/);
  rpit.trunk.dispose();
  rp.dispose();
});

test('rewardModelFrom copies trunk, head, pooling and λ; the copy trains apart from its source', () => {
  runtime.seed(6);
  const tok = new WordTokenizer(['a', 'c', 'd', 'e', 'g', 'b']);
  const rp = new RewardModel(
    'rp',
    { ...TINY, vocabSize: tok.vocabSize },
    { pooling: 'eos+loglik', loglikWeight: 1.5 },
  );
  rp.offset = 3;
  const rpit = rewardModelFrom(rp, 'rpit');
  assert.equal(
    [rpit.kind, rpit.pooling, rpit.loglikWeight, rpit.offset],
    ['rpit', 'eos+loglik', 1.5, 0],
  );
  const before = [...rp.params()].map(([name, v]) => [name, Array.from(v.dataSync())]);
  assert.equal(
    [...rpit.params()].map(([name, v]) => [name, Array.from(v.dataSync())]),
    before,
  );
  for (const v of rpit.variables()) v.assign(tf.tidy(() => v.add(1)));
  assert.equal(
    [...rp.params()].map(([name, v]) => [name, Array.from(v.dataSync())]),
    before,
  );
  rpit.dispose();
  rp.dispose();
});

/** Per-position head values head(h_t) of one unpadded row, computed outside the model. */
function headValues(rm: RewardModel, row: number[]): number[] {
  return tf.tidy(() => {
    const { hidden } = rm.trunk.forward(tf.tensor2d([row], [1, row.length], 'int32'));
    const h = hidden.reshape([row.length, rm.trunk.config.nEmbd]) as tf.Tensor2D;
    return Array.from(rm.head.apply(h).dataSync());
  });
}

const sumRange = (v: number[], from: number, to: number) =>
  v.slice(from, to + 1).reduce((a, b) => a + b, 0);

test("'tokens' pooling: R_P sums the head over y and EOS, unchanged by right padding", () => {
  runtime.seed(7);
  const tok = new WordTokenizer(['a', 'c', 'd', 'e', 'g', 'b']);
  const rm = new RewardModel('rp', { ...TINY, vocabSize: tok.vocabSize }, { pooling: 'tokens' });
  const long = rpInput(tok, 'a c d', 'e g b');
  const short = rpInput(tok, 'a', 'g');
  const p = padRight([long, short]);
  const scores = tf.tidy(() => Array.from(rm.rawScores(idsTensor(p), p.lastIndex).dataSync()));
  for (const [i, row] of [long, short].entries()) {
    const ySep = rpInput(tok, i === 0 ? 'a c d' : 'a', '').length - 2; // index of <sep>
    const expected = sumRange(headValues(rm, row), ySep + 1, row.length - 1);
    assert.ok(Math.abs(scores[i]! - expected) < 1e-4, `row ${i}: ${scores[i]} vs ${expected}`);
  }
  assert.throws(
    () => tf.tidy(() => rm.rawScores(tf.tensor2d([[1, 7, 8, 2]], [1, 4], 'int32'), [3])),
    /row 0 has no SEP/,
  );
  rm.dispose();
});

test("'tokens' pooling: R_PIT is the sum over y's tokens minus the sum over y_ref's", () => {
  runtime.seed(8);
  const tok = new WordTokenizer(['a', 'c', 'd', 'e', 'g', 'b']);
  const rp = new RewardModel('rp', { ...TINY, vocabSize: tok.vocabSize }, { pooling: 'tokens' });
  const rpit = new RewardModel('rpit', copyTrunk(rp.trunk), { head: rp.head, pooling: 'tokens' });
  const prefix = rpInput(tok, 'a c', 'd g');
  const row = rpitInput(tok, 'a c', 'd g', 'e b c');
  const v = headValues(rpit, row);
  const firstEos = prefix.length - 1;
  const ySep = firstEos - 3; // <sep> d g <eos>
  const expected = sumRange(v, ySep + 1, firstEos) - sumRange(v, firstEos + 2, row.length - 1);
  const p = padRight([row]);
  const gap = tf.tidy(() => rpit.rawScores(idsTensor(p), p.lastIndex).dataSync()[0]!);
  assert.ok(Math.abs(gap - expected) < 1e-4, `${gap} vs ${expected}`);
  // the first part is R_P(x, y) exactly: causal attention never sees y_ref from y's tokens
  const q = padRight([prefix]);
  const rpScore = tf.tidy(() => rp.rawScores(idsTensor(q), q.lastIndex).dataSync()[0]!);
  const refPart = sumRange(v, firstEos + 2, row.length - 1);
  assert.ok(Math.abs(gap - (rpScore - refPart)) < 1e-4, `${gap} vs ${rpScore} − ${refPart}`);
  rpit.trunk.dispose();
  rp.dispose();
});

/** Mean over y's tokens and EOS of log p(token | prefix) under the trunk's LM head. */
function meanLogLik(rm: RewardModel, row: number[], sep: number): number {
  return tf.tidy(() => {
    const { hidden } = rm.trunk.forward(tf.tensor2d([row], [1, row.length], 'int32'));
    const logits = rm.trunk.logits(hidden).reshape([row.length, -1]);
    const logp = tf.logSoftmax(logits).arraySync() as number[][];
    let total = 0;
    for (let t = sep; t < row.length - 1; t++) total += logp[t]![row[t + 1]!]!;
    return total / (row.length - 1 - sep);
  });
}

/** An 'eos+loglik' model whose head is random, so both terms of its score are non-zero. */
test("scoreRows: length-sorted batches give each row its own score, in the rows' order", () => {
  runtime.seed(5);
  const rm = loglikModel('rp', 5, TINY.vocabSize);
  rm.offset = 0.25;
  const rng = new Rng(9);
  const words = (n: number) => Array.from({ length: n }, () => 6 + rng.int(10));
  // <bos> x <sep> y <eos>, x and y of varied lengths
  const rows = Array.from({ length: 23 }, () => [
    1,
    ...words(1 + rng.int(6)),
    5,
    ...words(1 + rng.int(8)),
    2,
  ]);
  const alone = rows.map((r) => rawScoresOf(rm, [r])[0]!);
  const batched = scoreRows(rm, rows, 4, true);
  for (const [i, a] of alone.entries()) {
    assert.ok(Math.abs(batched[i]! - a) < 1e-5, `row ${i}: ${batched[i]} vs ${a}`);
  }
  const offsetApplied = scoreRows(rm, rows, 4);
  for (const [i, a] of alone.entries()) {
    assert.ok(Math.abs(offsetApplied[i]! - (a - 0.25)) < 1e-5, `row ${i}`);
  }
  rm.dispose();
});

function loglikModel(kind: 'rp' | 'rpit', seed: number, vocabSize: number): RewardModel {
  const rm = new RewardModel(kind, { ...TINY, vocabSize }, { pooling: 'eos+loglik' });
  rm.head.weight.assign(tf.randomNormal([TINY.nEmbd, 1], 0, 0.3, 'float32', seed));
  return rm;
}

/** Raw scores of right-padded rows. */
function rawScoresOf(rm: RewardModel, rows: number[][]): number[] {
  const p = padRight(rows);
  return tf.tidy(() => Array.from(rm.rawScores(idsTensor(p), p.lastIndex).dataSync()));
}

test("'eos+loglik' pooling: R_P is head(EOS) + λ·mean log-likelihood of y, padding aside", () => {
  runtime.seed(10);
  const tok = new WordTokenizer(['a', 'c', 'd', 'e', 'g', 'b']);
  const rm = new RewardModel(
    'rp',
    { ...TINY, vocabSize: tok.vocabSize },
    { pooling: 'eos+loglik', loglikWeight: 1.5 },
  );
  // a fresh head is zero: the model starts as the trunk's own log-likelihood
  assert.is(Math.max(...Array.from(rm.head.weight.dataSync(), Math.abs)), 0);
  rm.head.weight.assign(tf.randomNormal([TINY.nEmbd, 1], 0, 0.3, 'float32', 3));
  const long = rpInput(tok, 'a c d', 'e g b');
  const short = rpInput(tok, 'a', 'g');
  const scores = rawScoresOf(rm, [long, short]);
  for (const [i, row] of [long, short].entries()) {
    const sep = row.indexOf(5);
    const expected = headValues(rm, row).at(-1)! + 1.5 * meanLogLik(rm, row, sep);
    assert.ok(Math.abs(scores[i]! - expected) < 1e-4, `row ${i}: ${scores[i]} vs ${expected}`);
  }
  rm.dispose();
});

test("'eos+loglik' pooling: R_PIT's log-likelihood term is y's given x minus y_ref's given x", () => {
  runtime.seed(11);
  const tok = new WordTokenizer(['a', 'c', 'd', 'e', 'g', 'b']);
  const rp = loglikModel('rp', 4, tok.vocabSize);
  const rpit = new RewardModel('rpit', copyTrunk(rp.trunk), {
    head: rp.head,
    pooling: 'eos+loglik',
  });
  const [x, y, yRef] = ['a c', 'd g', 'e b c'];
  const rows = [rpitInput(tok, x, y, yRef), rpitInput(tok, x, y, y), rpitInput(tok, 'a', 'g', 'b')];
  const gaps = rawScoresOf(rpit, rows);
  const [rpY] = rawScoresOf(rp, [rpInput(tok, x, y)]);
  const ll = (row: number[]) => 2 * meanLogLik(rpit, row, row.indexOf(5));
  const lastHead = headValues(rpit, rows[0]!).at(-1)!;
  // R_P(x, y) from the shared prefix, minus the head at the end, minus y_ref's own log-likelihood
  const expected = rpY! - lastHead - ll(rpInput(tok, x, yRef));
  assert.ok(Math.abs(gaps[0]! - expected) < 1e-4, `${gaps[0]} vs ${expected}`);
  // r(x, y, y): the log-likelihood terms cancel, only the two head reads remain
  const selfHeads = headValues(rpit, rows[1]!);
  const eos = rpInput(tok, x, y).length - 1;
  assert.ok(Math.abs(gaps[1]! - (selfHeads[eos]! - selfHeads.at(-1)!)) < 1e-4);
  assert.throws(
    () => tf.tidy(() => rpit.rawScores(tf.tensor2d([[1, 7, 5, 8, 2, 9, 2]], [1, 7], 'int32'), [6])),
    /no SEP_REF/,
  );
  rpit.trunk.dispose();
  rp.dispose();
});

test("'eos+loglik' R_PIT: y_ref's term read from a row whose y is y_ref equals its own pass", () => {
  runtime.seed(12);
  const tok = new WordTokenizer(['a', 'c', 'd', 'e', 'g', 'b']);
  const rm = loglikModel('rpit', 5, tok.vocabSize);
  const [x, w, l] = ['a c', 'd g', 'e b c'];
  // training's four pairings: every y_ref is some row's y, so no extra pass is needed
  const rows = [
    rpitInput(tok, x, w, l),
    rpitInput(tok, x, w, w),
    rpitInput(tok, x, l, l),
    rpitInput(tok, x, l, w),
  ];
  const together = rawScoresOf(rm, rows);
  rows.forEach((row, i) => {
    const alone = rawScoresOf(rm, [row])[0]!; // (w,l) alone: y_ref = l is no row's y, so its own pass
    assert.ok(Math.abs(together[i]! - alone) < 1e-4, `row ${i}: ${together[i]} vs ${alone}`);
  });
  rm.dispose();
});

test('a saved reward model keeps its pooling; an unknown pooling is an error', () => {
  runtime.seed(9);
  const dir = mkdtempSync(path.join(tmpdir(), 'pitlab-rm-'));
  try {
    const rm = new RewardModel('rp', TINY, { pooling: 'eos+loglik', loglikWeight: 0.5 });
    saveRewardModel(path.join(dir, 'rm.safetensors'), rm);
    const back = loadRewardModel(path.join(dir, 'rm.safetensors'));
    assert.is(back.pooling, 'eos+loglik');
    assert.is(back.loglikWeight, 0.5);
    tf.dispose([rm, back].flatMap((m) => m.variables()));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.throws(
    () => new RewardModel('rp', TINY, { pooling: 'mean' as 'eos' }),
    /pooling must be one of eos, tokens, eos\+loglik, got "mean"/,
  );
});

for (const [kind, loss, pooling] of [
  ['rp', 'rp-difference', 'eos'],
  ['rpit', 'five-constraints', 'eos'],
  ['rp', 'rp-difference', 'tokens'],
  ['rpit', 'five-constraints', 'tokens'],
  ['rp', 'rp-difference', 'eos+loglik'],
  ['rpit', 'five-constraints', 'eos+loglik'],
] as const) {
  test(`${kind} (${loss}, ${pooling} pooling) learns a toy preference, leaking nothing`, async () => {
    runtime.seed(5);
    const tok = new WordTokenizer(['a', 'c', 'd', 'e', 'g', 'b']);
    const rm = new RewardModel(kind, { ...TINY, vocabSize: tok.vocabSize }, { pooling });
    const before = tf.memory().numTensors;
    const r = await trainReward(
      { reward: rm },
      { tokenizer: tok, train: toyPairs(64, 1), eval: toyPairs(32, 2) },
      {
        maxSteps: 30,
        batchSize: 8,
        lr: 3e-3,
        warmupSteps: 0,
        logEvery: 10,
        checkpointEvery: 0,
        loss,
      },
    );
    assert.is(tf.memory().numTensors, before);
    const ev = r.lastEval!;
    assert.ok(ev.eval_accuracy! >= 0.9, `accuracy ${ev.eval_accuracy}`);
    if (kind === 'rpit') {
      assert.ok(ev['eval_pit/swap_accuracy']! >= 0.9, `swap ${ev['eval_pit/swap_accuracy']}`);
      assert.ok(
        ev['eval_pit/self_gap_abs_mean']! < ev.eval_margin! / 2,
        'self gap small after normalisation',
      );
    } else {
      assert.ok(Math.abs(r.offset) > 0 || ev.eval_mean_reward !== undefined);
    }
    rm.dispose();
  });
}

test.run();
