/** The evaluation's test pairs and rows: distinct prompts, each drawn `samples` times. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { evaluationPairs, evaluationRows } from '../../src/pit/experiments';

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

test.run();
