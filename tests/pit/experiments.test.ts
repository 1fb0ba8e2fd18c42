/** The evaluation rows: draws of each test prompt, clustered by the prompt's text. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { evaluationRows } from '../../src/pit/experiments';

test('rows repeat the prompts draw-major; a repeated prompt is one cluster', () => {
  const { xs, groups } = evaluationRows(['a', 'b', 'a', 'c'], 2);
  assert.equal(xs, ['a', 'b', 'a', 'c', 'a', 'b', 'a', 'c']);
  assert.equal(Array.from(groups), [0, 1, 0, 2, 0, 1, 0, 2]);
  assert.is(new Set(groups).size, 3, 'three distinct prompts');
});

test.run();
