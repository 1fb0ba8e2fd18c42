/**
 * The in-place decode-attention kernel (src/runtime/ops/decode_attention.ts) on `wasm` (SIMD
 * WebAssembly) and `cpu` (JS) against a float64 reference written here from the definition:
 * outputs, the cache rows it writes and the rows it must leave alone, at edge shapes (D not a
 * multiple of 4, one key, masked keys, a fully masked row, B = 1), its shape errors, leaks, and
 * that the committed wasm bytes are built from the committed .wat source.
 *
 * Tolerance 1e-5 · max(1, |reference|): the kernels sum ≤ 64 float32 products per dot product and
 * ≤ 9 weighted rows (relative error ≲ 64 · 6e-8 ≈ 4e-6), while an indexing slip (wrong head,
 * row or lane) moves outputs by order 1.
 */

import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { compiledModule, generatedFile, WASM_SOURCES } from '../../scripts/build-wasm';
import { runtime } from '../../src/runtime';
import { DECODE_ATTENTION, decodeAttention } from '../../src/runtime/ops';

let seed = 11;
function rand(): number {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  return (seed / 2 ** 32) * 2 - 1;
}
const randArray = (n: number) => Float32Array.from({ length: n }, rand);

interface Case {
  label: string;
  B: number;
  H: number;
  D: number;
  cap: number;
  position: number;
  /** Keys hidden per row: mask[b][s] = 0 when hide(b, s). */
  hide?: (b: number, s: number) => boolean;
}

const CASES: Case[] = [
  { label: 'D 32, 4 heads, mid-cache', B: 3, H: 4, D: 32, cap: 12, position: 7 },
  { label: 'D 6 (SIMD tail), last row', B: 2, H: 3, D: 6, cap: 5, position: 4 },
  { label: 'one key', B: 2, H: 2, D: 8, cap: 4, position: 0 },
  { label: 'D 1', B: 1, H: 1, D: 1, cap: 3, position: 2 },
  {
    label: 'left padding and a finished row',
    B: 3,
    H: 2,
    D: 12,
    cap: 9,
    position: 6,
    hide: (b, s) => (b === 0 && s < 3) || (b === 2 && s === 6),
  },
  { label: 'fully masked row', B: 2, H: 2, D: 4, cap: 4, position: 2, hide: (b) => b === 1 },
];

/** Float64 reference: writes k/v rows into copies of the caches and returns [out, k, v]. */
function reference(c: Case, qkv: Float32Array, k: Float32Array, v: Float32Array, mask: number[]) {
  const { B, H, D, cap, position } = c;
  const C = H * D;
  const S = position + 1;
  const kk = Float64Array.from(k);
  const vv = Float64Array.from(v);
  const out = new Float64Array(B * C);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const row = (b * H + h) * cap * D;
      for (let d = 0; d < D; d++) {
        kk[row + position * D + d] = qkv[b * 3 * C + C + h * D + d]!;
        vv[row + position * D + d] = qkv[b * 3 * C + 2 * C + h * D + d]!;
      }
      const logits: number[] = [];
      for (let s = 0; s < S; s++) {
        let dot = 0;
        for (let d = 0; d < D; d++) dot += qkv[b * 3 * C + h * D + d]! * kk[row + s * D + d]!;
        logits.push(mask[b * S + s] ? dot / Math.sqrt(D) : Number.NEGATIVE_INFINITY);
      }
      const max = Math.max(...logits);
      const w = logits.map((l) => (max === Number.NEGATIVE_INFINITY ? 0 : Math.exp(l - max)));
      const total = w.reduce((a, x) => a + x, 0) || 1;
      for (let d = 0; d < D; d++) {
        let acc = 0;
        for (let s = 0; s < S; s++) acc += (w[s]! / total) * vv[row + s * D + d]!;
        out[b * C + h * D + d] = acc;
      }
    }
  }
  return [out, kk, vv];
}

function close(label: string, got: ArrayLike<number>, want: ArrayLike<number>): void {
  assert.is(got.length, want.length, `${label} size`);
  for (let i = 0; i < want.length; i++) {
    const tol = 1e-5 * Math.max(1, Math.abs(want[i]!));
    if (!(Math.abs(got[i]! - want[i]!) <= tol)) {
      assert.unreachable(`${label} at ${i}: kernel ${got[i]} vs reference ${want[i]}`);
    }
  }
}

test.before(async () => {
  await runtime.ready({ backend: 'wasm' });
});

/** Runs `body` with `name` as tfjs's active backend (the runtime itself stays on wasm). */
async function onBackend(name: string, body: () => Promise<void>): Promise<void> {
  assert.ok(await tf.setBackend(name), `backend ${name} is available`);
  try {
    await body();
  } finally {
    await tf.setBackend('wasm');
  }
}

for (const backend of ['wasm', 'cpu'] as const) {
  test(`${backend}: outputs and cache writes match the float64 reference at edge shapes`, () =>
    onBackend(backend, async () => {
      for (const c of CASES) {
        const { B, H, D, cap, position } = c;
        const S = position + 1;
        const qkv = randArray(B * 3 * H * D);
        const k0 = randArray(B * H * cap * D);
        const v0 = randArray(B * H * cap * D);
        const mask = Array.from({ length: B * S }, (_, i) =>
          c.hide?.(Math.floor(i / S), i % S) ? 0 : 1,
        );
        const [want, wantK, wantV] = reference(c, qkv, k0, v0, mask);
        const before = tf.memory().numTensors;
        const k = tf.tensor3d(k0, [B * H, cap, D]);
        const v = tf.tensor3d(v0, [B * H, cap, D]);
        const out = tf.tidy(() =>
          decodeAttention(
            tf.tensor2d(qkv, [B, 3 * H * D]),
            k,
            v,
            tf.tensor2d(mask, [B, S]),
            H,
            position,
          ),
        );
        assert.equal(out.shape, [B, H * D], `${c.label}: output shape`);
        close(`${backend} ${c.label}: output`, out.dataSync(), want!);
        // Rows other than `position` keep their values exactly; row `position` holds the new k/v.
        close(`${backend} ${c.label}: k cache`, k.dataSync(), wantK!);
        close(`${backend} ${c.label}: v cache`, v.dataSync(), wantV!);
        tf.dispose([out, k, v]);
        assert.is(tf.memory().numTensors, before, `${c.label}: no tensors leaked`);
      }
    }));

  test(`${backend}: the kernel is the one dispatched, and bad shapes are named`, () =>
    onBackend(backend, async () => {
      const { kernels } = await tf.profile(() =>
        tf.tidy(() =>
          decodeAttention(
            tf.zeros([1, 6]),
            tf.zeros([1, 2, 2]),
            tf.zeros([1, 2, 2]),
            tf.ones([1, 2]),
            1,
            1,
          ),
        ),
      );
      assert.equal(
        kernels.map((k) => k.name),
        [DECODE_ATTENTION],
      );
      const call = (
        mask: [number, number],
        position: number,
        kShape: [number, number, number] = [2, 3, 4],
      ) =>
        tf.tidy(() =>
          decodeAttention(
            tf.zeros([1, 24]) as tf.Tensor2D,
            tf.zeros(kShape) as tf.Tensor3D,
            tf.zeros([2, 3, 4]) as tf.Tensor3D,
            tf.ones(mask) as tf.Tensor2D,
            2,
            position,
          ),
        );
      assert.throws(() => call([1, 3], 3), /position 3 is past the cache's 3 rows/);
      assert.throws(() => call([1, 2], 2), /mask \[1,2\] is not \[1, 3\]/);
      assert.throws(() => call([1, 3], 2, [2, 3, 5]), /k \[2,3,5\] is not \[2, cap, 4\]/);
    }));
}

test('the committed wasm module is built from the committed .wat source', async () => {
  for (const name of WASM_SOURCES) {
    const file = generatedFile(name);
    assert.ok(
      readFileSync(file, 'utf8') === (await compiledModule(name)),
      `${name}_wasm.ts is stale: run npx tsx scripts/build-wasm.ts`,
    );
  }
});

test.run();
