/** Wilson intervals: known values, bounds at 0 and n, bad input. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fractionCi95, wilsonInterval } from '../../src/eval';

const near = (a: number, b: number, tol = 5e-4) => Math.abs(a - b) < tol;

test('matches the textbook Wilson interval (k = 81 of n = 100: [0.722, 0.875])', () => {
  const [lo, hi] = wilsonInterval(81, 100);
  assert.ok(near(lo, 0.7222) && near(hi, 0.8749), `${lo}, ${hi}`);
});

test('stays inside [0, 1] at k = 0 and k = n, and narrows as n grows', () => {
  const [lo0, hi0] = wilsonInterval(0, 20);
  const [loN, hiN] = wilsonInterval(20, 20);
  assert.is(lo0, 0);
  assert.ok(hi0 > 0 && hi0 < 0.2);
  assert.is(hiN, 1);
  assert.ok(loN > 0.8 && loN < 1);
  const width = (n: number) => {
    const [lo, hi] = fractionCi95(0.8, n);
    return hi - lo;
  };
  assert.ok(width(2000) < width(200) && width(200) < width(20));
});

test('bad counts are an error naming k and n', () => {
  assert.throws(() => wilsonInterval(5, 0), /k=5, n=0/);
  assert.throws(() => wilsonInterval(7, 5), /k=7, n=5/);
});

test.run();
