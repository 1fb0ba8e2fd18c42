/**
 * The fused AdamW update against the composite formulation, on the cpu backend and on wasm
 * (the default): values of the parameter and both moments, with and without decay and clipping,
 * odd sizes, shape errors, and no leaked tensors.
 */
import * as tf from '@tensorflow/tfjs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ops, runtime } from '../../src/runtime';

const ATTRS: ops.AdamWUpdateAttrs = {
  lr: 3e-3,
  beta1: 0.9,
  beta2: 0.95,
  biasCorrection1: 1 - 0.9 ** 3,
  biasCorrection2: 1 - 0.95 ** 3,
  eps: 1e-8,
  weightDecay: 0,
  gradScale: 1,
};

function maxRelDiff(a: tf.Tensor, b: tf.Tensor): number {
  const x = a.dataSync();
  const y = b.dataSync();
  let scale = 1e-12;
  let diff = 0;
  for (let i = 0; i < x.length; i++) {
    scale = Math.max(scale, Math.abs(y[i]!));
    diff = Math.max(diff, Math.abs(x[i]! - y[i]!));
  }
  return diff / scale;
}

test.before(async () => {
  await runtime.ready({ backend: 'wasm' });
});

for (const backend of ['cpu', 'wasm'] as const) {
  test(`fused AdamW update matches the composite on ${backend}`, async () => {
    assert.ok(await tf.setBackend(backend), `${backend} backend unavailable`);
    const before = tf.memory().numTensors;
    for (const shape of [[7], [3, 5], [96, 288], [1, 1, 9]]) {
      for (const extra of [{}, { weightDecay: 0.1 }, { gradScale: 0.37 }]) {
        const a = { ...ATTRS, ...extra };
        const seed = shape.reduce((p, q) => p * q, 1);
        const x = tf.randomNormal(shape, 0, 1, 'float32', seed);
        const g = tf.randomNormal(shape, 0, 0.1, 'float32', seed + 1);
        const m = tf.randomNormal(shape, 0, 0.01, 'float32', seed + 2);
        const v = tf.randomUniform(shape, 0, 1e-3, 'float32', seed + 3);
        const fused = ops.adamWUpdate(x, g, m, v, a);
        const composite = ops.adamWUpdateComposite(x, g, m, v, a);
        for (const k of ['x', 'm', 'v'] as const) {
          assert.equal(fused[k].shape, shape);
          const d = maxRelDiff(fused[k], composite[k]);
          assert.ok(d < 1e-5, `${backend} ${shape} ${JSON.stringify(extra)} ${k}: ${d}`);
        }
        // the update moved x by about lr per element (Adam's normalised step)
        const moved = tf.tidy(() => fused.x.sub(x).abs().max().dataSync()[0]!);
        assert.ok(moved > 1e-4 && moved < 0.1, `step size ${moved}`);
        tf.dispose([x, g, m, v, fused.x, fused.m, fused.v, composite.x, composite.m, composite.v]);
      }
    }
    // one kernel per update, really the fused one
    const t = tf.ones([5]);
    const info = await tf.profile(() =>
      tf.dispose(Object.values(ops.adamWUpdate(t, t, t, t, ATTRS))),
    );
    assert.equal(
      info.kernels.map((k) => k.name),
      [ops.ADAMW_UPDATE],
    );
    t.dispose();
    const x = tf.zeros([4]);
    const bad = tf.zeros([2, 2]);
    assert.throws(() => ops.adamWUpdate(x, bad, x, x, ATTRS), /share x's shape \[4\]/);
    tf.dispose([x, bad]);
    assert.is(tf.memory().numTensors, before);
    await tf.setBackend('wasm');
  });
}

test.run();
