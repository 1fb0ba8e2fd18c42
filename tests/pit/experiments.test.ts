/**
 * The evaluation's test pairs and rows (distinct prompts, each drawn `samples` times), and y_0:
 * every stage that samples it gets the same responses.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { WordTokenizer } from '../../src/data';
import { Gpt } from '../../src/models';
import { profileConfig } from '../../src/pit/config';
import {
  type ExperimentContext,
  evaluationPairs,
  evaluationRows,
  sampleOriginal,
} from '../../src/pit/experiments';
import { runtime } from '../../src/runtime';

test('a prompt the test split repeats is evaluated once', () => {
  const rows = ['a', 'b', 'a', 'c', 'b', 'd'].map((prompt, i) => ({ prompt, chosen: `${i}` }));
  assert.equal(
    evaluationPairs(rows, 3).map((r) => [r.prompt, r.chosen]),
    [
      ['a', '0'],
      ['b', '1'],
      ['c', '3'],
    ],
  );
  assert.is(evaluationPairs(rows, 10).length, 4, 'at most the distinct prompts');
});

test("rows repeat the prompts draw-major, each draw in its prompt's cluster", () => {
  const { xs, groups } = evaluationRows(['a', 'b', 'c'], 2);
  assert.equal(xs, ['a', 'b', 'c', 'a', 'b', 'c']);
  assert.equal(Array.from(groups), [0, 1, 2, 0, 1, 2]);
});

test('y_0 is a function of the seed: two stages sampling it get the same responses', async () => {
  await runtime.ready();
  runtime.seed(7);
  const tok = WordTokenizer.synthetic();
  const policy = new Gpt({
    vocabSize: tok.vocabSize,
    blockSize: 48,
    nLayer: 1,
    nHead: 2,
    nEmbd: 16,
  });
  const context = (): ExperimentContext => ({
    tok,
    ...evaluationRows(['list three fruits', 'name two colours'], 3),
    judges: [],
    config: { ...profileConfig('smoke').improve, maxNewTokens: 8 },
    rng: (label) => runtime.rng(`eval/${label}`),
  });
  const first = sampleOriginal(policy, context());
  assert.is(first.length, 6);
  assert.equal(sampleOriginal(policy, context()), first);
  // the stream is the seed's: another seed gives other responses
  runtime.seed(8);
  assert.not.equal(sampleOriginal(policy, context()), first);
  policy.dispose();
});

test.run();
