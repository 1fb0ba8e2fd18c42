/**
 * The float32 arithmetic ceiling of one core under WebAssembly SIMD, next to what the matmuls get.
 * A loop keeps 12 independent f32x4 accumulators in registers (acc += x · y, no memory traffic),
 * so its rate is the most any wasm kernel can compute per second here: once with separate
 * multiply and add (what Node 20 runs by default, and what XNNPACK's wasm build uses), once with
 * relaxed SIMD's fused multiply-add (`f32x4.relaxed_madd`, behind V8's
 * `--experimental-wasm-relaxed-simd` in Node 20). The same process then times, on the same
 * shapes, XNNPACK's matmul (tfjs's wasm backend, as pitlab's kernels call it) and a plain 4×8
 * register-tiled SIMD GEMM (`GEMM_WAT`, B packed in panels of 8 columns, packing not timed; M a
 * multiple of 4 and N of 8): how much of the ceiling a matmul can reach, and how much XNNPACK does.
 *
 *   npx tsx scripts/wasm-peak.ts
 */
import { setFlagsFromString } from 'node:v8';
import * as tf from '@tensorflow/tfjs';
import wabtInit from 'wabt';
import { runtime } from '../src/runtime';

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

/** C[M,N] = A[M,K]·B[K,N] with B packed as Bp[N/8][K][8]; one 4×8 tile of C in 8 registers. */
const GEMM_WAT = `(module
 (memory (export "mem") 2048)
 (func (export "gemm") (param $a i32) (param $bp i32) (param $c i32) (param $M i32) (param $K i32) (param $N i32)
  (local $p i32) (local $i i32) (local $k i32) (local $pa i32) (local $pb i32) (local $x v128)
  (local $b0 v128) (local $b1 v128)
  (local $c00 v128) (local $c01 v128) (local $c10 v128) (local $c11 v128)
  (local $c20 v128) (local $c21 v128) (local $c30 v128) (local $c31 v128)
  (local $rowA i32) (local $K4 i32) (local $out i32)
  (local.set $K4 (i32.shl (local.get $K) (i32.const 2)))
  (local.set $p (i32.const 0))
  (loop $panels
   (local.set $i (i32.const 0))
   (loop $rows
    (local.set $c00 (v128.const i32x4 0 0 0 0)) (local.set $c01 (v128.const i32x4 0 0 0 0))
    (local.set $c10 (v128.const i32x4 0 0 0 0)) (local.set $c11 (v128.const i32x4 0 0 0 0))
    (local.set $c20 (v128.const i32x4 0 0 0 0)) (local.set $c21 (v128.const i32x4 0 0 0 0))
    (local.set $c30 (v128.const i32x4 0 0 0 0)) (local.set $c31 (v128.const i32x4 0 0 0 0))
    (local.set $pa (i32.add (local.get $a) (i32.mul (local.get $i) (local.get $K4))))
    (local.set $pb (i32.add (local.get $bp) (i32.mul (i32.shr_u (local.get $p) (i32.const 3)) (i32.shl (local.get $K4) (i32.const 3)))))
    (local.set $k (local.get $K))
    (loop $ks
     (local.set $b0 (v128.load (local.get $pb)))
     (local.set $b1 (v128.load offset=16 (local.get $pb)))
     (local.set $x (v128.load32_splat (local.get $pa)))
     (local.set $c00 (f32x4.add (local.get $c00) (f32x4.mul (local.get $x) (local.get $b0))))
     (local.set $c01 (f32x4.add (local.get $c01) (f32x4.mul (local.get $x) (local.get $b1))))
     (local.set $x (v128.load32_splat (i32.add (local.get $pa) (local.get $K4))))
     (local.set $c10 (f32x4.add (local.get $c10) (f32x4.mul (local.get $x) (local.get $b0))))
     (local.set $c11 (f32x4.add (local.get $c11) (f32x4.mul (local.get $x) (local.get $b1))))
     (local.set $x (v128.load32_splat (i32.add (local.get $pa) (i32.shl (local.get $K4) (i32.const 1)))))
     (local.set $c20 (f32x4.add (local.get $c20) (f32x4.mul (local.get $x) (local.get $b0))))
     (local.set $c21 (f32x4.add (local.get $c21) (f32x4.mul (local.get $x) (local.get $b1))))
     (local.set $x (v128.load32_splat (i32.add (local.get $pa) (i32.mul (local.get $K4) (i32.const 3)))))
     (local.set $c30 (f32x4.add (local.get $c30) (f32x4.mul (local.get $x) (local.get $b0))))
     (local.set $c31 (f32x4.add (local.get $c31) (f32x4.mul (local.get $x) (local.get $b1))))
     (local.set $pa (i32.add (local.get $pa) (i32.const 4)))
     (local.set $pb (i32.add (local.get $pb) (i32.const 32)))
     (br_if $ks (local.tee $k (i32.sub (local.get $k) (i32.const 1)))))
    (local.set $out (i32.add (local.get $c) (i32.shl (i32.add (i32.mul (local.get $i) (local.get $N)) (local.get $p)) (i32.const 2))))
    (v128.store (local.get $out) (local.get $c00)) (v128.store offset=16 (local.get $out) (local.get $c01))
    (local.set $out (i32.add (local.get $out) (i32.shl (local.get $N) (i32.const 2))))
    (v128.store (local.get $out) (local.get $c10)) (v128.store offset=16 (local.get $out) (local.get $c11))
    (local.set $out (i32.add (local.get $out) (i32.shl (local.get $N) (i32.const 2))))
    (v128.store (local.get $out) (local.get $c20)) (v128.store offset=16 (local.get $out) (local.get $c21))
    (local.set $out (i32.add (local.get $out) (i32.shl (local.get $N) (i32.const 2))))
    (v128.store (local.get $out) (local.get $c30)) (v128.store offset=16 (local.get $out) (local.get $c31))
    (br_if $rows (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 4))) (local.get $M))))
   (br_if $panels (i32.lt_u (local.tee $p (i32.add (local.get $p) (i32.const 8))) (local.get $N))))))`;

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

/** GFLOP/s of XNNPACK (tfjs wasm) and of the tiled GEMM per shape, and the GEMM's max relative error. */
async function matmuls() {
  await runtime.ready({ backend: 'wasm' });
  const wabt = await wabtInit();
  const parsed = wabt.parseWat('gemm.wat', GEMM_WAT, { simd: true });
  const { buffer } = parsed.toBinary({});
  parsed.destroy();
  const { instance } = await WebAssembly.instantiate(buffer);
  const gemm = instance.exports.gemm as (...args: number[]) => void;
  const heap = new Float32Array((instance.exports.mem as WebAssembly.Memory).buffer);
  return SHAPES.map(([M, K, N]) => {
    const a = tf.randomNormal([M!, K!], 0, 1, 'float32', 1) as tf.Tensor2D;
    const b = tf.randomNormal([K!, N!], 0, 1, 'float32', 2) as tf.Tensor2D;
    const want = tf.matMul(a, b);
    const xnnpack = bestSeconds(() => tf.matMul(a, b).dispose());
    const [A, B, C] = [0, M! * K!, M! * K! + K! * N!];
    heap.set(a.dataSync(), A);
    const bData = b.dataSync();
    for (let p = 0; p < N! / 8; p++)
      for (let k = 0; k < K!; k++)
        for (let j = 0; j < 8; j++) heap[B + (p * K! + k) * 8 + j] = bData[k * N! + p * 8 + j]!;
    const run = () => gemm(A * 4, B * 4, C * 4, M!, K!, N!);
    const tiled = bestSeconds(run);
    const ref = want.dataSync();
    let err = 0;
    for (let i = 0; i < M! * N!; i++)
      err = Math.max(err, Math.abs(heap[C + i]! - ref[i]!) / Math.max(1, Math.abs(ref[i]!)));
    tf.dispose([a, b, want]);
    const gf = (s: number) => (2 * M! * K! * N!) / s / 1e9;
    return {
      shape: `[${M},${K}]x[${K},${N}]`,
      xnnpack: gf(xnnpack),
      tiled: gf(tiled),
      maxRelErr: err,
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
