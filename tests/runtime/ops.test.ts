/**
 * Fused LayerNorm and GELU (src/runtime/ops) against their composite tfjs formulations: values
 * and gradients on random shapes (N = 1, C = 1, odd sizes, rank 3) and large magnitudes, on the
 * `cpu` backend and, where it loads, on `wasm`; the fused kernels are really the ones dispatched;
 * `tf.variableGrads` works; nothing leaks.
 *
 * Tolerance: |fused − composite| ≤ 1e-4 · max(1, max|composite|) per output tensor. The fused
 * kernels compute in float64; the composite chains ~10 float32 ops (relative error ~6e-8 each)
 * and its weight/bias gradients are float32 sums over N ≤ 32 rows (error ≲ N·6e-8·Σ|terms| ≈
 * 2e-6 of the scale), so 1e-4 is ≥ 25× the expected float32 error while any formula slip (a
 * wrong term in a gradient) shows up at order 1. Inputs offset far from zero (mean 300, spread
 * 1) lose a further log2(300) bits in the composite's x − mean, so those cases use 1e-3.
 */
import * as tf from '@tensorflow/tfjs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  GELU,
  GELU_GRAD,
  gelu,
  geluComposite,
  LAYER_NORM,
  LAYER_NORM_GRAD,
  layerNorm,
  layerNormComposite,
} from '../../src/runtime/ops';
import { ensureWasm, onBackend } from '../helpers';

let seed = 7;
function rand(): number {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  return seed / 2 ** 32;
}
const sizeOf = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
const randArray = (shape: number[], scale = 1, offset = 0) =>
  Float32Array.from({ length: sizeOf(shape) }, () => offset + scale * (rand() * 2 - 1));

type Case = { label: string; arrays: Array<{ values: Float32Array; shape: number[] }> };
type Fn = (xs: tf.Tensor[]) => tf.Tensor[];

function run(c: Case, fn: Fn): number[][] {
  return tf.tidy(() => {
    const xs = c.arrays.map((a) => tf.tensor(a.values, a.shape, 'float32'));
    return fn(xs).map((t) => Array.from(t.dataSync()));
  });
}

function assertClose(label: string, got: number[][], want: number[][], tol: number): void {
  assert.is(got.length, want.length, label);
  got.forEach((g, i) => {
    const w = want[i]!;
    assert.is(g.length, w.length, `${label} [${i}] size`);
    const scale = Math.max(1, ...w.map(Math.abs));
    g.forEach((v, j) => {
      if (!(Math.abs(v - w[j]!) <= tol * scale)) {
        assert.unreachable(`${label} [${i}] at ${j}: fused ${v} vs composite ${w[j]}`);
      }
    });
  });
}

/** Values and all input gradients of `f`, through a random cotangent (so dx is not trivially 0). */
function valueAndGrads(f: (...xs: tf.Tensor[]) => tf.Tensor): Fn {
  return (xs) => {
    const y = f(...xs);
    const r = tf.tensor(randArray(y.shape), y.shape);
    const grads = tf.grads((...args: tf.Tensor[]) =>
      f(...args)
        .mul(r)
        .sum(),
    )(xs);
    return [y, ...grads];
  };
}

/** Fused vs composite on the active backend, checking leaks and that the fused kernels ran. */
async function compare(
  c: Case,
  fused: (...xs: tf.Tensor[]) => tf.Tensor,
  composite: (...xs: tf.Tensor[]) => tf.Tensor,
  kernels: string[],
  tol: number,
): Promise<void> {
  const label = `${tf.getBackend()} ${c.label}`;
  const seedBefore = seed;
  const before = tf.memory().numTensors;
  let got: number[][] = [];
  const profile = await tf.profile(() => {
    got = run(c, valueAndGrads(fused));
  });
  assert.is(tf.memory().numTensors, before, `${label}: leaked tensors`);
  const names = new Set(profile.kernels.map((k) => k.name));
  for (const k of kernels) assert.ok(names.has(k), `${label}: ${k} was not dispatched`);
  seed = seedBefore; // same cotangent for the reference
  const want = run(c, valueAndGrads(composite));
  assertClose(label, got, want, tol);
}

function lnCases(): Array<Case & { tol: number }> {
  const cases: Array<Case & { tol: number }> = [];
  const shapes = [
    [1, 1],
    [1, 5],
    [4, 1],
    [1, 128],
    [3, 7],
    [32, 128],
    [2, 5, 16],
  ];
  for (const shape of shapes) {
    const C = shape[shape.length - 1]!;
    for (const [scale, offset, tol] of [
      [1, 0, 1e-4],
      [1e3, 0, 1e-4],
      [1, 300, 1e-3],
    ] as const) {
      cases.push({
        label: `layerNorm [${shape}] scale ${scale} offset ${offset}`,
        tol,
        arrays: [
          { values: randArray(shape, scale, offset), shape },
          { values: randArray([C], 2), shape: [C] },
          { values: randArray([C], 2), shape: [C] },
        ],
      });
    }
  }
  return cases;
}

function geluCases(): Array<Case & { tol: number }> {
  const shapes = [[1], [1, 1], [3, 7], [16, 256], [48, 256], [2, 3, 5]];
  return shapes.flatMap((shape) =>
    [1, 4, 1e3].map((scale) => ({
      label: `gelu [${shape}] scale ${scale}`,
      tol: 1e-4,
      arrays: [{ values: randArray(shape, scale), shape }],
    })),
  );
}

for (const backend of ['cpu', 'wasm']) {
  test(`layerNorm: values and gradients match the composite on ${backend}`, async () => {
    if (!(await ensureWasm('ops.test')) && backend === 'wasm') return;
    const ran = await onBackend(backend, async () => {
      for (const c of lnCases()) {
        await compare(
          c,
          (x, w, b) => layerNorm(x!, w!, b!),
          (x, w, b) => layerNormComposite(x!, w!, b!),
          [LAYER_NORM, LAYER_NORM_GRAD],
          c.tol,
        );
      }
    });
    assert.ok(ran || backend === 'wasm', `${backend} backend unavailable`);
  });

  test(`gelu: values and gradients match the composite on ${backend}`, async () => {
    if (!(await ensureWasm('ops.test')) && backend === 'wasm') return;
    const ran = await onBackend(backend, async () => {
      for (const c of geluCases()) {
        await compare(
          c,
          (x) => gelu(x!),
          (x) => geluComposite(x!),
          [GELU, GELU_GRAD],
          c.tol,
        );
      }
    });
    assert.ok(ran || backend === 'wasm', `${backend} backend unavailable`);
  });
}

test('gelu: far tails are exact (0 below, x above) with gradients 0 and 1', async () => {
  await onBackend('cpu', async () => {
    const x = tf.tensor1d([-1e4, -50, 50, 1e4]);
    const y = Array.from(gelu(x).dataSync());
    const dx = Array.from(
      tf
        .grad((t: tf.Tensor) => gelu(t).sum())(x)
        .dataSync(),
    );
    assert.equal(y.map(Math.abs), [0, 0, 50, 1e4]);
    assert.equal(dx, [0, 0, 1, 1]);
    tf.dispose(x);
  });
});

test('layerNorm: tf.variableGrads reaches weight and bias; bad shapes are clear errors', async () => {
  await onBackend('cpu', async () => {
    const w = tf.variable(tf.tensor1d([1, 2, 3]));
    const b = tf.variable(tf.tensor1d([0, 0, 1]));
    const x = tf.tensor2d([
      [1, 2, 4],
      [0, -1, 3],
    ]);
    const { value, grads } = tf.variableGrads(() => layerNorm(x, w, b).square().sum() as tf.Scalar);
    assert.ok(Number.isFinite(value.dataSync()[0]));
    const want = tf.variableGrads(
      () => layerNormComposite(x, w, b).square().sum() as tf.Scalar,
    ).grads;
    for (const v of [w, b]) {
      const g = Array.from(grads[v.name]!.dataSync());
      const r = Array.from(want[v.name]!.dataSync());
      for (const [i, gi] of g.entries()) {
        assert.ok(Math.abs(gi - r[i]!) < 1e-4, `${v.name}: ${gi} vs ${r[i]}`);
      }
    }
    const wrong = tf.ones([4]);
    assert.throws(() => layerNorm(x, wrong, b), /weight and bias of shape \[3\]/);
    tf.dispose([w, b, x, wrong, value, grads, want]);
  });
});

test.run();
