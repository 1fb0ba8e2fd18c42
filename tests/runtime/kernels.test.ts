/**
 * The wasm kernel overrides against tfjs's `cpu` backend: values and gradients on random shapes,
 * including size-1 dims, batch broadcasting, both transposes, merged/non-contiguous permutations
 * and empty tensors; and no leaked tensors or heap buffers.
 *
 * How the reference is computed: both backends are registered in the one tfjs engine. Each case
 * builds its inputs from the same plain typed arrays, runs on wasm (overrides installed), reads
 * the results with `dataSync()`, then switches the engine to `cpu` with `tf.setBackend`, runs the
 * same function on fresh cpu tensors and switches back in a `finally`. No tensor crosses
 * backends, so nothing is moved lazily; the runtime singleton stays on wasm between cases.
 */
import * as tf from '@tensorflow/tfjs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runtime } from '../../src/runtime';
import { registerWasmOverrides } from '../../src/runtime/kernels';
import { SMALL_MACS } from '../../src/runtime/kernels/matmul_small';
import { shapeBytes, type WasmBackend, wasmBatchMatMul } from '../../src/runtime/kernels/wasm';

let wasmReady: Promise<boolean> | undefined;
function ensureWasm(): Promise<boolean> {
  wasmReady ??= runtime
    .ready({ backend: 'wasm' })
    .then(() => {
      registerWasmOverrides(); // idempotent; installed already unless overrides were turned off
      return true;
    })
    .catch((err: Error) => {
      console.warn(`kernels.test: wasm unavailable, skipping (${err.message})`);
      return false;
    });
  return wasmReady;
}

let seed = 1;
function rand(): number {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  return seed / 2 ** 32;
}
const randInt = (n: number) => Math.floor(rand() * n);

interface Input {
  values: Float32Array | Int32Array;
  shape: number[];
  dtype: 'float32' | 'int32';
}
const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
const floats = (shape: number[]): Input => ({
  values: Float32Array.from({ length: size(shape) }, () => rand() * 2 - 1),
  shape,
  dtype: 'float32',
});
const ints = (shape: number[], lo: number, hi: number): Input => ({
  values: Int32Array.from({ length: size(shape) }, () => lo + randInt(hi - lo)),
  shape,
  dtype: 'int32',
});

type Fn = (xs: tf.Tensor[]) => tf.Tensor | tf.Tensor[];

function runOn(xs: Input[], fn: Fn): Array<{ shape: number[]; values: number[] }> {
  return tf.tidy(() => {
    const ts = xs.map((x) => tf.tensor(x.values, x.shape, x.dtype));
    const out = fn(ts);
    return (Array.isArray(out) ? out : [out]).map((t) => ({
      shape: t.shape,
      values: Array.from(t.dataSync()),
    }));
  }) as unknown as Array<{ shape: number[]; values: number[] }>;
}

/** Runs `fn` on wasm and on cpu and asserts equal shapes and close values; checks for leaks. */
async function check(label: string, xs: Input[], fn: Fn, tol = 1e-4): Promise<void> {
  const before = tf.memory();
  const got = runOn(xs, fn);
  const after = tf.memory();
  assert.is(after.numTensors, before.numTensors, `${label}: leaked tensors`);
  assert.is(after.numDataBuffers, before.numDataBuffers, `${label}: leaked heap buffers`);
  await tf.setBackend('cpu');
  let want: ReturnType<typeof runOn>;
  try {
    want = runOn(xs, fn);
  } finally {
    await tf.setBackend('wasm');
  }
  assert.is(got.length, want.length, label);
  got.forEach((g, i) => {
    assert.equal(g.shape, want[i].shape, `${label} [${i}] shape`);
    const scale = Math.max(1, ...want[i].values.map(Math.abs));
    g.values.forEach((v, j) => {
      if (!(Math.abs(v - want[i].values[j]) <= tol * scale)) {
        assert.unreachable(`${label} [${i}] at ${j}: wasm ${v} vs cpu ${want[i].values[j]}`);
      }
    });
  });
}

const matmulShapes = (
  batchA: number[],
  batchB: number[],
  m: number,
  k: number,
  n: number,
  tA: boolean,
  tB: boolean,
): [number[], number[]] => [
  [...batchA, ...(tA ? [k, m] : [m, k])],
  [...batchB, ...(tB ? [n, k] : [k, n])],
];

test('BatchMatMul: values and gradients match cpu (transposes, broadcasting, size-1 dims)', async () => {
  if (!(await ensureWasm())) return;
  const batches: Array<[number[], number[]]> = [
    [[], []],
    [[3], [3]],
    [[1], [4]],
    [[4], [1]],
    [[2, 3], []],
    [[], [2, 3]],
    [[5], []],
  ];
  const dims: Array<[number, number, number]> = [
    [1, 1, 1],
    [1, 7, 5],
    [6, 1, 3],
    [5, 9, 1],
    [17, 33, 20],
    [40, 8, 3],
  ];
  for (const [bA, bB] of batches) {
    for (const [m, k, n] of dims) {
      for (const tA of [false, true]) {
        for (const tB of [false, true]) {
          const [sa, sb] = matmulShapes(bA, bB, m, k, n, tA, tB);
          if (sa.length === 2 && sb.length === 2 && (bA.length || bB.length)) continue;
          const label = `matMul [${sa}]x[${sb}] tA=${tA} tB=${tB}`;
          const outShape = tf.broadcast_util.assertAndGetBroadcastShape(bA, bB).concat([m, n]);
          const w = floats(outShape);
          // tfjs-core's matMul gradient does not reduce over broadcast batch dims (it throws on
          // every backend), so gradients are checked where the batch shapes agree.
          const grads = bA.join() === bB.join();
          await check(label, [floats(sa), floats(sb), w], ([a, b, wt]) => {
            const y = tf.matMul(a, b, tA, tB);
            if (!grads) return y;
            const f = (x: tf.Tensor, z: tf.Tensor) => tf.matMul(x, z, tA, tB).mul(wt).sum();
            return [y, ...tf.grads(f)([a, b])];
          });
        }
      }
    }
  }
});

test('BatchMatMul: the tiled GEMM equals XNNPACK bit for bit (row and column edges, batches)', async () => {
  if (!(await ensureWasm())) return;
  const backend = tf.backend() as unknown as WasmBackend;
  const id = (t: tf.Tensor) => backend.dataIdMap.get(t.dataId).id;
  /** XNNPACK's own product of 2-D a [m, k] and b [k, n], as the stock kernel computes it. */
  const xnnpack = (a: tf.Tensor, b: tf.Tensor) => {
    const [m, k] = a.shape.slice(-2);
    const n = b.shape[b.rank - 1]!;
    const out = tf.zeros([m!, n]);
    const mm = wasmBatchMatMul(backend);
    mm(id(a), shapeBytes([1, m!, k!]), 3, id(b), shapeBytes([1, k!, n]), 3, 0, 0, id(out));
    return out;
  };
  // M mod 4 and N mod 8 take every remainder; k = 1 and long k; every size above the small-matmul
  // path (SMALL_MACS), so the GEMM computes each one
  const shapes = [
    [4, 300, 8],
    [37, 50, 13],
    [6, 300, 9],
    [9, 100, 10],
    [13, 100, 11],
    [33, 1, 300],
    [17, 100, 14],
    [130, 96, 385],
    [407, 96, 384],
    [101, 64, 7],
    [22, 400, 1],
  ];
  for (const [m, k, n] of shapes) assert.ok(m! * k! * n! > SMALL_MACS, `[${m},${k},${n}]`);
  assert.equal(new Set(shapes.map(([m]) => m! % 4)).size, 4);
  assert.equal(new Set(shapes.map(([, , n]) => n! % 8)).size, 8);
  for (const [m, k, n] of shapes) {
    const a = tf.randomNormal([m!, k!], 0, 1, 'float32', m);
    const b = tf.randomNormal([k!, n!], 0, 1, 'float32', n);
    const [got, want] = [tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D), xnnpack(a, b)];
    assert.equal(got.dataSync(), want.dataSync(), `[${m},${k}]x[${k},${n}]`);
    tf.dispose([a, b, got, want]);
  }
  // batches (each its own B) and a shared B folded into the rows
  const a = tf.randomNormal([3, 21, 40], 0, 1, 'float32', 1);
  const b = tf.randomNormal([3, 40, 19], 0, 1, 'float32', 2);
  const shared = tf.randomNormal([40, 19], 0, 1, 'float32', 3);
  const batched = tf.matMul(a, b);
  const folded = tf.matMul(a, shared);
  for (let i = 0; i < 3; i++) {
    const ai = a.slice([i, 0, 0], [1, 21, 40]).reshape([21, 40]);
    const bi = b.slice([i, 0, 0], [1, 40, 19]).reshape([40, 19]);
    const rows = (t: tf.Tensor) => t.slice([i, 0, 0], [1, 21, 19]).reshape([21, 19]);
    const [one, two] = [rows(batched), rows(folded)];
    const [x1, x2] = [xnnpack(ai, bi), xnnpack(ai, shared)];
    assert.equal(one.dataSync(), x1.dataSync(), `batch ${i}`);
    assert.equal(two.dataSync(), x2.dataSync(), `folded batch ${i}`);
    tf.dispose([ai, bi, one, two, x1, x2]);
  }
  tf.dispose([a, b, shared, batched, folded]);
});

test('BatchMatMul: empty operands and the transformer shapes', async () => {
  if (!(await ensureWasm())) return;
  await check('empty batch', [floats([0, 3, 4]), floats([4, 5])], ([a, b]) => tf.matMul(a, b));
  await check('k = 0', [floats([3, 0]), floats([0, 5])], ([a, b]) => tf.matMul(a, b));
  await check('m = 0', [floats([2, 0, 4]), floats([2, 4, 5])], ([a, b]) => tf.matMul(a, b));
  await check('attention QKᵀ', [floats([8, 16, 8]), floats([8, 16, 8])], ([q, k]) =>
    tf.matMul(q, k, false, true),
  );
  await check('dense rank-3', [floats([4, 16, 32]), floats([32, 48])], ([a, b]) => tf.matMul(a, b));
});

test('BatchMatMul: numpy broadcasting of batch dims [2,1] against [1,3]', async () => {
  if (!(await ensureWasm())) return;
  // tfjs's cpu kernel indexes batches modulo each operand's batch size, which differs from
  // broadcasting when both operands broadcast; compare with per-batch 2-D products instead.
  const a = tf.tensor(floats([2, 1, 4, 5]).values, [2, 1, 4, 5]);
  const b = tf.tensor(floats([1, 3, 5, 6]).values, [1, 3, 5, 6]);
  const y = tf.matMul(a, b);
  assert.equal(y.shape, [2, 3, 4, 6]);
  const got = y.arraySync() as number[][][][];
  for (let i = 0; i < 2; i++) {
    for (let j = 0; j < 3; j++) {
      const ref = tf.tidy(() =>
        tf.matMul(a.slice([i, 0], [1, 1]).reshape([4, 5]), b.slice([0, j], [1, 1]).reshape([5, 6])),
      );
      const want = ref.arraySync() as number[][];
      ref.dispose();
      want.forEach((row, r) => {
        row.forEach((v, c) => {
          assert.ok(Math.abs(got[i][j][r][c] - v) < 1e-5, `[${i},${j}]`);
        });
      });
    }
  }
  tf.dispose([a, b, y]);
});

test('_FusedMatMul: bias, activations, transposes and batches match cpu', async () => {
  if (!(await ensureWasm())) return;
  for (const activation of ['linear', 'relu', 'elu', 'sigmoid'] as const) {
    for (const [tA, tB] of [
      [false, false],
      [true, false],
      [false, true],
      [true, true],
    ]) {
      for (const batch of [[], [3]]) {
        const [sa, sb] = matmulShapes(batch, [], 10, 12, 7, tA, tB);
        const label = `fused ${activation} [${sa}]x[${sb}] tA=${tA} tB=${tB}`;
        await check(label, [floats(sa), floats(sb), floats([7])], ([a, b, bias]) =>
          tf.fused.matMul({ a, b, bias, transposeA: tA, transposeB: tB, activation }),
        );
      }
    }
  }
  await check('fused scalar bias', [floats([3, 5, 4]), floats([4, 6]), floats([1])], ([a, b, c]) =>
    tf.fused.matMul({ a, b, bias: c, activation: 'relu' }),
  );
});

test('Transpose: random ranks and permutations match cpu (float32, int32, gradient)', async () => {
  if (!(await ensureWasm())) return;
  const fixed: Array<[number[], number[]]> = [
    [
      [16, 6, 4, 8],
      [0, 2, 1, 3],
    ],
    [
      [4, 6, 3, 2, 5],
      [2, 0, 3, 1, 4],
    ],
    [
      [7, 9],
      [1, 0],
    ],
    [
      [1, 5, 1, 3],
      [3, 2, 1, 0],
    ],
    [
      [2, 3, 4],
      [0, 1, 2],
    ],
    [
      [2, 3, 4, 5],
      [1, 2, 3, 0],
    ],
    [
      [3, 0, 2],
      [2, 0, 1],
    ],
    [
      [33, 65],
      [1, 0],
    ],
    // the SIMD path: whole 4×4 blocks, edges, a second column tile, batches
    [
      [8, 12],
      [1, 0],
    ],
    [
      [130, 261],
      [1, 0],
    ],
    [
      [257, 3],
      [1, 0],
    ],
    [
      [3, 9, 14],
      [0, 2, 1],
    ],
    [
      [2, 6, 1, 300],
      [0, 3, 2, 1],
    ],
  ];
  for (let i = 0; i < 30; i++) {
    const rank = 1 + randInt(6);
    const shape = Array.from({ length: rank }, () => (rand() < 0.25 ? 1 : 1 + randInt(6)));
    const perm = [...Array(rank).keys()].sort(() => rand() - 0.5);
    fixed.push([shape, perm]);
  }
  for (const [shape, perm] of fixed) {
    await check(`transpose [${shape}] [${perm}]`, [floats(shape)], ([x]) => tf.transpose(x, perm));
    await check(`transpose int32 [${shape}]`, [ints(shape, -50, 50)], ([x]) =>
      tf.transpose(x, perm),
    );
  }
  const w = floats([6, 4, 5]);
  await check('transpose gradient', [floats([4, 5, 6]), w], ([x, wt]) =>
    tf.grad((y: tf.Tensor) => tf.transpose(y, [2, 0, 1]).mul(wt).sum())(x),
  );
});

test('UnsortedSegmentSum and gather: values and gradients match cpu; bad ids ignored', async () => {
  if (!(await ensureWasm())) return;
  await check('segment sum', [floats([40, 3, 2]), ints([40], -3, 12)], ([x, ids]) =>
    tf.unsortedSegmentSum(x, ids as tf.Tensor1D, 9),
  );
  await check('segment sum int32', [ints([20, 4], -9, 9), ints([20], 0, 5)], ([x, ids]) =>
    tf.unsortedSegmentSum(x, ids as tf.Tensor1D, 5),
  );
  await check('segment sum, 1 segment', [floats([5]), ints([5], 0, 1)], ([x, ids]) =>
    tf.unsortedSegmentSum(x, ids as tf.Tensor1D, 1),
  );
  await check('gather rows', [floats([11, 6]), ints([4, 5], 0, 11)], ([x, ids]) =>
    tf.gather(x, ids),
  );
  await check('gather axis 1', [floats([3, 7, 2]), ints([4], 0, 7)], ([x, ids]) =>
    tf.gather(x, ids, 1),
  );
  const w = floats([64, 16]);
  await check(
    'gather gradient (embedding)',
    [floats([25, 16]), ints([64], 0, 25), w],
    ([e, ids, wt]) => tf.grad((t: tf.Tensor) => tf.gather(t, ids).mul(wt).sum())(e),
  );
  let threw = false;
  const bad = tf.tensor1d([0, 5], 'int32');
  const table = tf.zeros([3, 2]);
  try {
    tf.gather(table, bad).dispose();
  } catch {
    threw = true;
  }
  bad.dispose();
  table.dispose();
  assert.ok(threw, 'out-of-range gather index is an error');
});

test('Sum over leading axes, Slice and copy-free Identity match cpu', async () => {
  if (!(await ensureWasm())) return;
  const cases: Array<[number[], number | number[] | undefined, boolean]> = [
    [[40, 7], 0, false],
    [[4, 5, 6], [0, 1], true],
    [[4, 5, 6], [1, 0], false],
    [[3, 1, 8], -3, false],
    [[5, 6], undefined, false],
    [[5, 6], 1, true],
    [[9], 0, false],
    [[0, 4], 0, false],
    [[1, 5], 0, false],
    [[300, 13], 0, false],
    [[64, 384], 0, true],
    [[2, 3, 1], [0, 1], false],
  ];
  for (const [shape, axis, keepDims] of cases) {
    await check(`sum [${shape}] axis ${axis} keepDims=${keepDims}`, [floats(shape)], ([x]) =>
      tf.sum(x, axis, keepDims),
    );
  }
  const w = floats([6]);
  await check('sum gradient (bias)', [floats([8, 6]), w], ([x, wt]) =>
    tf.grad((y: tf.Tensor) => y.sum(0).mul(wt).sum())(x),
  );
  const slices: Array<{ shape: number[]; begin: number[]; sz: number[] }> = [
    { shape: [3, 40], begin: [1, 0], sz: [1, 40] },
    { shape: [3, 40], begin: [0, 5], sz: [3, -1] },
    { shape: [4, 5, 6], begin: [1, 2, 3], sz: [2, 2, 2] },
    { shape: [4, 5, 6], begin: [0, 0, 0], sz: [4, 5, 6] },
    { shape: [7], begin: [2], sz: [0] },
  ];
  for (const { shape, begin, sz } of slices) {
    await check(`slice [${shape}] ${begin} ${sz}`, [floats(shape)], ([t]) =>
      tf.slice(t, begin, sz),
    );
  }
  const x = tf.tensor([1, 2, 3]);
  const y = tf.clone(x);
  x.dispose();
  assert.equal(Array.from(y.dataSync()), [1, 2, 3], 'clone survives its source');
  y.dispose();
});

test.run();
