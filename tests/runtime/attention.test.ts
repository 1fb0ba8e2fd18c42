/**
 * Fused whole-sequence attention against the composite formulation (the one models/gpt.ts runs on
 * other backends), on cpu and wasm: outputs and the gradient with respect to qkv, at edge shapes
 * (one token, head size not a multiple of 4, one head, a shared and a per-row bias with padding,
 * a fully padded sequence, whose outputs are unspecified but finite); the fused kernels are the ones dispatched, bad shapes are named
 * errors, and nothing leaks.
 */
import * as tf from '@tensorflow/tfjs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ops, Rng, runtime } from '../../src/runtime';

const NEG = -1e9;

/** The composite: split heads, scaled scores plus bias, softmax, weighted sum, merge heads. */
function composite(qkv: tf.Tensor2D, bias: tf.Tensor, H: number): tf.Tensor2D {
  return tf.tidy(() => {
    const T = bias.shape[2]!;
    const C = qkv.shape[1] / 3;
    const D = C / H;
    const B = qkv.shape[0] / T;
    const heads = qkv.reshape([B, T, 3, H, D]).transpose([2, 0, 3, 1, 4]);
    const [q, k, v] = tf.unstack(heads).map((t) => t.reshape([B * H, T, D]) as tf.Tensor3D);
    const scores = tf.matMul(q!, k!, false, true).mul(1 / Math.sqrt(D));
    const att = tf.softmax(scores.reshape([B, H, T, T]).add(bias)).reshape([B * H, T, T]);
    const y = tf.matMul(att as tf.Tensor3D, v!);
    return y
      .reshape([B, H, T, D])
      .transpose([0, 2, 1, 3])
      .reshape([B * T, C]) as tf.Tensor2D;
  });
}

/** Causal bias [1, 1, T, T], or [B, 1, T, T] with `pad[b]` trailing keys hidden. */
function biasOf(T: number, pad?: number[]): tf.Tensor {
  const rows = pad ?? [0];
  const values = new Float32Array(rows.length * T * T);
  rows.forEach((p, b) => {
    for (let i = 0; i < T; i++) {
      for (let j = 0; j < T; j++) {
        const hidden = j > i || j >= T - p;
        values[(b * T + i) * T + j] = (j > i ? NEG : 0) + (j >= T - p ? NEG : 0);
        if (!hidden) values[(b * T + i) * T + j] = 0;
      }
    }
  });
  return tf.tensor4d(values, [rows.length, 1, T, T]);
}

interface Case {
  B: number;
  T: number;
  H: number;
  D: number;
  pad?: number[];
}

const CASES: Case[] = [
  { B: 2, T: 5, H: 2, D: 8 },
  { B: 1, T: 1, H: 1, D: 4 },
  { B: 3, T: 7, H: 3, D: 3 }, // D not a multiple of 4: the JS path on wasm too
  { B: 2, T: 6, H: 2, D: 4, pad: [0, 2] },
  { B: 2, T: 4, H: 1, D: 12, pad: [4, 1] }, // row 0 fully padded: every query sees only masks
  { B: 4, T: 33, H: 4, D: 24 }, // the stages' shape class
];

function randomQkv(c: Case, rng: Rng): tf.Tensor2D {
  const n = c.B * c.T * 3 * c.H * c.D;
  return tf.tensor2d(
    Float32Array.from({ length: n }, () => 2 * rng.next() - 1),
    [c.B * c.T, 3 * c.H * c.D],
  );
}

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => a.sub(b).abs().max().dataSync()[0]!);
}

test.before(async () => {
  await runtime.ready({ backend: 'wasm' });
});

for (const backend of ['cpu', 'wasm'] as const) {
  test(`fused attention: values and qkv gradients match the composite on ${backend}`, async () => {
    assert.ok(await tf.setBackend(backend), `${backend} backend unavailable`);
    assert.ok(ops.fusedAttentionAvailable());
    const rng = new Rng(11);
    const before = tf.memory().numTensors;
    for (const c of CASES) {
      const label = `${backend} ${JSON.stringify(c)}`;
      const qkv = randomQkv(c, rng);
      const bias = biasOf(c.T, c.pad);
      // Rows of a fully padded sequence see no real key: their output is unspecified (never
      // read by the model), so they get no cotangent and are not compared.
      const seen = tf.tensor2d(
        Array.from({ length: c.B * c.T }, (_, r) =>
          (c.pad?.[Math.floor(r / c.T)] ?? 0) < c.T ? 1 : 0,
        ),
        [c.B * c.T, 1],
      );
      const cot = tf.tidy(() =>
        tf.randomNormal([c.B * c.T, c.H * c.D], 0, 1, 'float32', 3).mul(seen),
      );
      const loss = (f: typeof composite) => (x: tf.Tensor) =>
        f(x as tf.Tensor2D, bias, c.H)
          .mul(cot)
          .sum();
      let fusedY: tf.Tensor | undefined;
      let fusedG: tf.Tensor | undefined;
      const info = await tf.profile(() => {
        fusedY = ops.fusedAttention(qkv, bias, c.H);
        fusedG = tf.grad(loss(ops.fusedAttention))(qkv);
      });
      const names = new Set(info.kernels.map((k) => k.name));
      assert.ok(names.has(ops.ATTENTION) && names.has(ops.ATTENTION_GRAD), `${label}: not fused`);
      assert.ok(
        tf.tidy(() => tf.all(tf.isFinite(fusedY!)).dataSync()[0] === 1),
        `${label}: not finite`,
      );
      const wantY = tf.tidy(() => composite(qkv, bias, c.H).mul(seen));
      const gotY = fusedY!.mul(seen);
      fusedY!.dispose();
      fusedY = gotY;
      const wantG = tf.grad(loss(composite))(qkv);
      assert.ok(maxAbsDiff(fusedY!, wantY) < 2e-5, `${label} y: ${maxAbsDiff(fusedY!, wantY)}`);
      assert.ok(maxAbsDiff(fusedG!, wantG) < 1e-4, `${label} dqkv: ${maxAbsDiff(fusedG!, wantG)}`);
      tf.dispose([qkv, bias, seen, cot, fusedY!, fusedG!, wantY, wantG]);
    }
    assert.is(tf.memory().numTensors, before, 'leaked tensors');
    await tf.setBackend('wasm');
  });
}

test('fused attention: bad shapes are named errors', () => {
  const qkv = tf.zeros([6, 12]) as tf.Tensor2D;
  const bias = biasOf(4);
  assert.throws(
    () => ops.fusedAttention(qkv, bias, 2),
    /6 qkv rows do not split into bias rows 1 of T = 4/,
  );
  const square = tf.zeros([1, 1, 3, 4]);
  assert.throws(
    () => ops.fusedAttention(qkv, square, 2),
    /bias \[1,1,3,4\] is not \[B\|1, 1, T, T\]/,
  );
  assert.throws(() => ops.fusedAttention(qkv, biasOf(3), 5), /qkv \[6,12\] is not \[B·T, 3·H·D\]/);
  tf.dispose([qkv, bias, square]);
});

test.run();
