import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Rng, runtime } from '../../src/runtime';

test('ready() picks a backend once and info() reports it', async () => {
  const name = await runtime.ready();
  assert.is(await runtime.ready(), name);
  const info = runtime.info();
  assert.is(info.backend, name);
  assert.ok(info.available.includes('cpu'));
  assert.match(info.tfjsVersion, /^\d+\.\d+\.\d+/);
  assert.type(info.numTensors, 'number');
});

test('asking for another backend after init is a clear error', async () => {
  const name = await runtime.ready();
  const other = name === 'cpu' ? 'wasm' : 'cpu';
  try {
    await runtime.ready({ backend: other });
    assert.unreachable('should have thrown');
  } catch (err) {
    assert.match((err as Error).message, /cannot switch/);
  }
});

test('same seed and label give the same stream; labels are independent', () => {
  // the first five draws of a fresh `runtime.rng(label)` stream
  const draws = (label: string) => {
    const r = runtime.rng(label);
    return Array.from({ length: 5 }, () => r.next());
  };
  runtime.seed(7);
  const a = draws('x');
  const b = draws('x');
  const c = draws('y');
  assert.equal(a, b);
  assert.not.equal(a, c);
  runtime.seed(8);
  const d = draws('x');
  assert.not.equal(a, d);
  runtime.seed(0);
});

test('Rng state round-trips, so a checkpoint resumes the same stream', () => {
  const r = new Rng(42);
  r.next();
  const state = r.getState();
  const first = [r.next(), r.next()];
  r.setState(state);
  assert.equal([r.next(), r.next()], first);
  const counts = new Array(4).fill(0);
  for (let i = 0; i < 4000; i++) counts[r.int(4)]++;
  for (const c of counts) assert.ok(c > 850 && c < 1150, `uniform ints: ${counts}`);
});

test.run();
