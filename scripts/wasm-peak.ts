/**
 * The float32 arithmetic ceiling of one core under WebAssembly SIMD, next to what the matmuls get.
 * A loop keeps 12 independent f32x4 accumulators in registers (acc += x · y, no memory traffic),
 * so its rate is the most any wasm kernel can compute per second here: once with separate
 * multiply and add (what Node 20 runs by default, and what XNNPACK's wasm build uses), once with
 * relaxed SIMD's fused multiply-add (`f32x4.relaxed_madd`, behind V8's
 * `--experimental-wasm-relaxed-simd` in Node 20). The same process then times, on the same
 * shapes, XNNPACK's matmul and pitlab's (`src/runtime/kernels/gemm.wat`, a 4×8 register-tiled
 * SIMD GEMM): how much of the ceiling each reaches.
 *
 *   npx tsx scripts/wasm-peak.ts
 */
import { setFlagsFromString } from 'node:v8';
import * as tf from '@tensorflow/tfjs';
import wabtInit from 'wabt';
import { runtime } from '../src/runtime';
import { shapeBytes, type WasmBackend, wasmBatchMatMul } from '../src/runtime/kernels/wasm';

setFlagsFromString('--experimental-wasm-relaxed-simd');

/** Independent accumulators: enough to hide the add latency, few enough to stay in x64's 16 XMM registers. */
const ACCUMULATORS = Number(process.env.PEAK_ACCUMULATORS ?? 10);

/** WAT of `peak(n)`: n iterations of independent acc_i = acc_i + x_(i mod 2)·y, 8 FLOPs each. */
function peakModule(fused: boolean): string {
  const regs = Array.from({ length: ACCUMULATORS }, (_, i) => i);
  const step = (i: number) =>
    fused
      ? `(local.set $a${i} (f32x4.relaxed_madd (local.get $x${i % 2}) (local.get $y) (local.get $a${i})))`
      : `(local.set $a${i} (f32x4.add (local.get $a${i}) (f32x4.mul (local.get $x${i % 2}) (local.get $y))))`;
  const sum = regs.reduce(
    (acc, i) => `(f32x4.add ${acc} (local.get $a${i}))`,
    '(v128.const f32x4 0 0 0 0)',
  );
  return `(module
  (func (export "peak") (param $n i32) (result f32)
    ${regs.map((i) => `(local $a${i} v128)`).join(' ')}
    (local $x0 v128) (local $x1 v128) (local $y v128)
    (local.set $y (v128.const f32x4 0.999 0.999 0.999 0.999))
    (local.set $x0 (v128.const f32x4 1.01 1 1 1))
    (local.set $x1 (v128.const f32x4 1.02 1 1 1))
    (block $done (loop $next
      (br_if $done (i32.eqz (local.get $n)))
      ${regs.map(step).join('\n      ')}
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br $next)))
    (f32x4.extract_lane 0 ${sum})))`;
}

async function gflops(fused: boolean): Promise<number> {
  const wabt = await wabtInit();
  const parsed = wabt.parseWat('peak.wat', peakModule(fused), { simd: true, relaxed_simd: fused });
  const { buffer } = parsed.toBinary({});
  parsed.destroy();
  const { instance } = await WebAssembly.instantiate(buffer);
  const peak = instance.exports.peak as (n: number) => number;
  const n = 20_000_000;
  peak(n / 10); // compile and warm up
  let best = Number.POSITIVE_INFINITY;
  for (let r = 0; r < 5; r++) {
    const t0 = performance.now();
    peak(n);
    best = Math.min(best, (performance.now() - t0) / 1000);
  }
  return (n * ACCUMULATORS * 8) / best / 1e9;
}

/** [M, K, N]: the bench's plain matmul, then the stages' dense layers (M = rows × tokens). */
const SHAPES = [
  [1024, 512, 512],
  [1024, 96, 384],
  [1024, 384, 96],
  [400, 96, 288],
];

/** Best of `runs` timings of `fn` after 3 warm-up calls, in seconds. */
function bestSeconds(fn: () => void, runs = 20): number {
  for (let r = 0; r < 3; r++) fn();
  let best = Number.POSITIVE_INFINITY;
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    fn();
    best = Math.min(best, (performance.now() - t0) / 1000);
  }
  return best;
}

/**
 * GFLOP/s per shape of XNNPACK (the C++ `BatchMatMul` called directly) and of pitlab's matmul
 * (`tf.matMul` through the override: gemm.wat, packing and dispatch included), and how many of
 * the outputs differ.
 */
async function matmuls() {
  await runtime.ready({ backend: 'wasm' });
  const backend = tf.backend() as unknown as WasmBackend;
  const id = (t: tf.Tensor) => backend.dataIdMap.get(t.dataId).id;
  return SHAPES.map(([M, K, N]) => {
    const a = tf.randomNormal([M!, K!], 0, 1, 'float32', 1) as tf.Tensor2D;
    const b = tf.randomNormal([K!, N!], 0, 1, 'float32', 2) as tf.Tensor2D;
    const ref = tf.zeros([M!, N!]);
    const [aShape, bShape] = [shapeBytes([1, M!, K!]), shapeBytes([1, K!, N!])];
    const runXnnpack = () =>
      wasmBatchMatMul(backend)(id(a), aShape, 3, id(b), bShape, 3, 0, 0, id(ref));
    const xnnpack = bestSeconds(runXnnpack);
    const pitlab = bestSeconds(() => tf.matMul(a, b).dispose());
    const got = tf.matMul(a, b);
    const [x, y] = [got.dataSync(), ref.dataSync()];
    let differing = 0;
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) differing++;
    tf.dispose([a, b, ref, got]);
    const gf = (s: number) => (2 * M! * K! * N!) / s / 1e9;
    return {
      shape: `[${M},${K}]x[${K},${N}]`,
      xnnpack: gf(xnnpack),
      pitlab: gf(pitlab),
      differing,
    };
  });
}

async function main(): Promise<void> {
  const mulAdd = await gflops(false);
  let fma: number | string;
  try {
    fma = await gflops(true);
  } catch (err) {
    fma = `unavailable: ${(err as Error).message.split('\n')[0]}`;
  }
  console.log(
    JSON.stringify({
      node: process.version,
      accumulators: ACCUMULATORS,
      wasmSimdMulAddGflops: mulAdd,
      wasmSimdFmaGflops: fma,
      matmulGflops: await matmuls(),
    }),
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
