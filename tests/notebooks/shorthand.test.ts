/** The kernel's rewrite of shorthand properties, which tslab's cross-cell references miss. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { expandShorthandProperties } from '../../kernel/converter';

test('shorthand properties become explicit, other code is untouched', () => {
  assert.is(expandShorthandProperties('f({ mapping, x: 1 })'), 'f({ mapping: mapping, x: 1 })');
  assert.is(expandShorthandProperties('({ a = 1 } = o)'), '({ a: a = 1 } = o)');
  assert.is(expandShorthandProperties('const { a, b: c } = o;'), 'const { a, b: c } = o;');
  assert.is(
    expandShorthandProperties('const g = () => ({ x, y: { z } });'),
    'const g = () => ({ x: x, y: { z: z } });',
  );
  assert.is(expandShorthandProperties('const s = "{ a }";'), 'const s = "{ a }";');
});

test.run();
