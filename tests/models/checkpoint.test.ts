/** Checkpoints: bit-exact round trip, atomic writes, and errors that name the tensor. */
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Gpt, loadGpt, loadSafetensors, saveGpt, saveSafetensors } from '../../src/models';
import { runtime } from '../../src/runtime';
import { readyWithTempDir } from '../helpers';

const TINY = { vocabSize: 30, blockSize: 12, nLayer: 2, nHead: 2, nEmbd: 8 };
const tmp = readyWithTempDir('pitlab-ckpt-');

test('save → load is bit-exact and gives identical logits', () => {
  runtime.seed(3);
  const model = new Gpt(TINY);
  const file = path.join(tmp.dir, 'model.safetensors');
  saveGpt(file, model, { step: '7' });
  const loaded = loadGpt(file);
  assert.equal(loaded.config, model.config);
  for (const [name, v] of model.params) {
    const a = new Uint8Array((v.dataSync() as Float32Array).buffer);
    const b = new Uint8Array((loaded.params.get(name)!.dataSync() as Float32Array).buffer);
    assert.ok(Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0, `${name} differs`);
  }
  const ids = tf.tensor2d([[1, 2, 3, 4]], [1, 4], 'int32');
  const [la, lb] = [model, loaded].map((m) => {
    const { hidden } = m.forward(ids);
    const out = m.logits(hidden).dataSync();
    hidden.dispose();
    return out;
  });
  assert.equal(Array.from(la!), Array.from(lb!));
  assert.is(loadSafetensors(file).metadata.step, '7');
  assert.equal(readdirSync(tmp.dir), ['model.safetensors'], 'no temp files left behind');
  tf.dispose(ids);
  model.dispose();
  loaded.dispose();
});

test('the same seed gives bit-identical initial weights', () => {
  runtime.seed(42);
  const a = new Gpt(TINY);
  runtime.seed(42);
  const b = new Gpt(TINY);
  runtime.seed(43);
  const c = new Gpt(TINY);
  const wte = (m: Gpt) => Array.from(m.params.get('wte')!.dataSync());
  assert.equal(wte(a), wte(b));
  assert.not.equal(wte(a), wte(c));
  [a, b, c].forEach((m) => {
    m.dispose();
  });
});

test('a shape mismatch names the tensor and both shapes', () => {
  const model = new Gpt(TINY);
  const file = path.join(tmp.dir, 'small.safetensors');
  saveGpt(file, model);
  assert.throws(
    () => loadGpt(file, { ...TINY, nEmbd: 16 }),
    (err: Error) =>
      /tensor 'wte' has shape \[30,8\] but the config expects \[30,16\]/.test(err.message),
  );
  assert.throws(() => loadGpt(file, { ...TINY, nLayer: 1 }), /unexpected tensor 'h\.1\./);
  model.dispose();
});

test('a corrupt or foreign file is a clear error naming the file', () => {
  const bad = path.join(tmp.dir, 'bad.safetensors');
  writeFileSync(bad, Buffer.from([1, 2, 3]));
  assert.throws(() => loadGpt(bad), /bad\.safetensors: not a safetensors file/);
  const foreign = path.join(tmp.dir, 'foreign.safetensors');
  saveSafetensors(
    foreign,
    new Map([['x', { dtype: 'F32', shape: [2], data: Float32Array.from([1, 2]) }]]),
  );
  assert.throws(() => loadGpt(foreign), /not a pitlab GPT checkpoint/);
  assert.ok(existsSync(foreign));
});

test.run();
