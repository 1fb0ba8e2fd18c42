/** The one validator: every message names the dotted path, the rule and the value it got. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  check,
  checkNonNegative,
  checkOneOf,
  checkPositiveInt,
  mergeConfig,
  resolveConfig,
  show,
} from '../../src/runtime/validate';

test('values are shown as JSON, with NaN, ±Infinity and undefined spelled out', () => {
  assert.equal(
    [show('x'), show(-1), show(Number.NaN), show(-Infinity), show(undefined), show([0, 2])],
    ['"x"', '-1', 'NaN', '-Infinity', 'undefined', '[0,2]'],
  );
  assert.ok(show('y'.repeat(500)).length <= 120);
});

test('checks share one form', () => {
  assert.throws(() => check(false, 'A.b', '> 0', 0), /^A\.b must be > 0, got 0$/);
  assert.throws(() => checkPositiveInt('A.n', 1.5), /^A\.n must be a positive integer, got 1\.5$/);
  assert.throws(
    () => checkNonNegative('A.m', Number.NaN),
    /^A\.m must be a finite number ≥ 0, got NaN$/,
  );
  assert.throws(
    () => checkOneOf('A.k', 'k2', ['k1', 'k3']),
    /^A\.k must be one of k1, k3, got "k2"$/,
  );
  check(true, 'A.b', '> 0', 1);
});

test('resolveConfig is one level deep; mergeConfig follows the shape at every depth', () => {
  const defaults = { n: 1, o: { a: 1 } as Record<string, number> };
  assert.equal(resolveConfig(defaults, { o: { z: 2 } }, 'X'), { n: 1, o: { z: 2 } });
  assert.equal(resolveConfig(defaults, { n: undefined }, 'X'), defaults);
  const shape = { n: 0, o: { a: 0, b: '' } };
  const base = { n: 1, o: { a: 1 } };
  const merged = mergeConfig(base, { o: { b: 'x' } }, shape, 'config');
  assert.equal(merged, { n: 1, o: { a: 1, b: 'x' } });
  assert.equal(base, { n: 1, o: { a: 1 } }, 'the base is not changed');
  assert.throws(
    () => mergeConfig(base, { o: { c: 1 } }, shape, 'config'),
    /^Unknown config\.o key 'c'\. Known: a, b$/,
  );
  assert.throws(
    () => mergeConfig(base, { o: { a: [1] } }, shape, 'config'),
    /^config\.o\.a must be a number, got \[1\]$/,
  );
  assert.throws(
    () => mergeConfig(base, [], shape, 'config'),
    /^config must be an object, got \[\]$/,
  );
});

test.run();
