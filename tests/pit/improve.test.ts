/**
 * Self-improvement inference (src/pit/improve.ts): the gap rule reads R_PIT only while a row is
 * still improving, so skipping stopped rows changes no trajectory, stop or final response, and
 * every gap it does compute equals the one computed for all rows.
 */
import * as tf from '@tensorflow/tfjs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { WordTokenizer } from '../../src/data';
import { Gpt, RewardModel } from '../../src/models';
import { selfImprove } from '../../src/pit/improve';
import { Rng, runtime } from '../../src/runtime';

test.before(async () => {
  await runtime.ready();
});

test('the gap rule scores only rows still going, with the same trajectories, gaps and stops', () => {
  runtime.seed(3);
  const words = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];
  const tok = new WordTokenizer(words);
  const config = { vocabSize: tok.vocabSize, blockSize: 48, nLayer: 1, nHead: 2, nEmbd: 16 };
  const improver = new Gpt(config, undefined, 'test.improver');
  const rpit = new RewardModel('rpit', config);
  const xs = Array.from({ length: 24 }, (_, i) => `${words[i % 8]} ${words[(3 * i) % 8]}`);
  const y0 = xs.map((_, i) => words.slice(0, 1 + (i % 4)).join(' '));
  const run = (scoreStoppedRows: boolean) =>
    selfImprove(improver, rpit, tok, xs, y0, {
      iterations: 3,
      temperature: 1,
      maxNewTokens: 6,
      gapThreshold: 0,
      rng: new Rng(17),
      scoreStoppedRows,
    });
  const before = tf.memory().numTensors;
  const [lean, full] = [run(false), run(true)];
  assert.is(tf.memory().numTensors, before, 'no tensors leaked');
  assert.equal(lean.ys, full.ys, 'same trajectories');
  assert.equal(lean.stoppedAt, full.stoppedAt, 'same stops');
  assert.equal(lean.gapFinal, full.gapFinal, 'same final responses');
  const stoppedEarly = full.stoppedAt.filter((t) => t < 2).length;
  assert.ok(stoppedEarly > 0 && stoppedEarly < xs.length, `some rows stop early (${stoppedEarly})`);
  for (const [t, gaps] of lean.gaps.entries()) {
    for (const [row, g] of gaps.entries()) {
      const going = t <= full.stoppedAt[row]!;
      if (going) assert.ok(Math.abs(g - full.gaps[t]![row]!) < 1e-6, `t ${t} row ${row}: ${g}`);
      else assert.ok(Number.isNaN(g), `t ${t} row ${row}: skipped after its stop, got ${g}`);
    }
  }
  assert.ok(full.gaps.flat().every(Number.isFinite), 'scoreStoppedRows scores every row');
  improver.dispose();
  rpit.dispose();
});

test.run();
