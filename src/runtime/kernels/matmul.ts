/**
 * `BatchMatMul` and `_FusedMatMul` for the wasm backend.
 *
 * The stock kernel uses XNNPACK only for batch-1, untransposed operands; everything else
 * (transposeA/B, batched attention, rank-3 × rank-2 dense layers) falls to a scalar loop that
 * measured 10-30× slower here ([1024,128]×[128,512]: 17 ms plain, 84 ms transposeB, 212 ms
 * transposeA; [16,64,128]×[128,512]: 130 ms). So: transposed operands are materialised with a
 * tiled heap transpose (well under a millisecond), a right operand shared by all batches folds
 * the batch into rows, and every product runs gemm.wat, a register-tiled SIMD GEMM that sums in
 * XNNPACK's order (the same floats) at 1.3–1.4× XNNPACK's rate on the models' shapes.
 */
import { broadcast_util, getKernel, type TensorInfo, util } from '@tensorflow/tfjs';
import { WASM_BASE64 as GEMM_WASM } from './gemm_wasm';
import { SMALL_MACS, smallBatchMatMul } from './matmul_small';
import { transposeOnHeap } from './transpose';
import type { Kernel, KernelArgs, WasmBackend } from './wasm';
import { heapModule, offsetOf, sizeOf, viewOf } from './wasm';

interface MatMulAttrs {
  transposeA: boolean;
  transposeB: boolean;
}

interface Plan {
  /** Broadcast batch dims of the output. */
  batchShape: number[];
  m: number;
  k: number;
  n: number;
  batchA: number;
  batchB: number;
}

function plan(a: TensorInfo, b: TensorInfo, tA: boolean, tB: boolean): Plan {
  const ar = a.shape.length;
  const br = b.shape.length;
  const m = tA ? a.shape[ar - 1] : a.shape[ar - 2];
  const k = tA ? a.shape[ar - 2] : a.shape[ar - 1];
  const kb = tB ? b.shape[br - 1] : b.shape[br - 2];
  const n = tB ? b.shape[br - 2] : b.shape[br - 1];
  util.assert(
    k === kb,
    () =>
      `Error in matMul: inner shapes (${k}) and (${kb}) of Tensors with shapes ${a.shape} and ` +
      `${b.shape} and transposeA=${tA} and transposeB=${tB} must match.`,
  );
  const batchShape = broadcast_util.assertAndGetBroadcastShape(
    a.shape.slice(0, -2),
    b.shape.slice(0, -2),
  );
  return {
    batchShape,
    m,
    k,
    n,
    batchA: sizeOf(a.shape.slice(0, -2)),
    batchB: sizeOf(b.shape.slice(0, -2)),
  };
}

/**
 * Operand as a contiguous untransposed [batch, rows, cols] heap buffer: the tensor itself, or a
 * transposed temporary that the caller must free.
 */
function plainOperand(
  backend: WasmBackend,
  x: TensorInfo,
  batch: number,
  transposed: boolean,
): { info: TensorInfo; temp: boolean } {
  if (!transposed) return { info: x, temp: false };
  const r = x.shape.length;
  const x3: TensorInfo = { ...x, shape: [batch, x.shape[r - 2], x.shape[r - 1]] };
  return { info: transposeOnHeap(backend, x3, [0, 2, 1]), temp: true };
}

/** Index of the a- and b-batch feeding each output batch, under broadcasting. */
function batchIndices(a: TensorInfo, b: TensorInfo, batchShape: number[]): [number[], number[]] {
  const total = sizeOf(batchShape);
  const aDims = a.shape.slice(0, -2);
  const bDims = b.shape.slice(0, -2);
  const ia: number[] = [];
  const ib: number[] = [];
  const rank = batchShape.length;
  for (let o = 0; o < total; o++) {
    let rem = o;
    let offA = 0;
    let offB = 0;
    let mulA = 1;
    let mulB = 1;
    for (let d = rank - 1; d >= 0; d--) {
      const idx = rem % batchShape[d];
      rem = Math.floor(rem / batchShape[d]);
      const da = aDims[d - (rank - aDims.length)] ?? 1;
      const db = bDims[d - (rank - bDims.length)] ?? 1;
      if (d >= rank - aDims.length) {
        offA += (da === 1 ? 0 : idx) * mulA;
        mulA *= da;
      }
      if (d >= rank - bDims.length) {
        offB += (db === 1 ? 0 : idx) * mulB;
        mulB *= db;
      }
    }
    ia.push(offA);
    ib.push(offB);
  }
  return [ia, ib];
}

/** gemm.wat's exports (byte addresses on the backend's heap). */
interface GemmModule {
  pack(b: number, bp: number, k: number, n: number): void;
  gemm(a: number, bp: number, c: number, m: number, k: number, n: number): void;
}

/** Floats of one operand B [k, n] packed in 8-column panels. */
const packedSize = (k: number, n: number) => Math.ceil(n / 8) * 8 * k;

/**
 * out[batchShape, m, n] = A·B with both operands already plain and contiguous, by gemm.wat: each
 * distinct B is packed once, and a B shared by every batch folds the batch into the rows.
 */
function runPlain(
  backend: WasmBackend,
  a: TensorInfo,
  b: TensorInfo,
  out: TensorInfo,
  p: Plan,
  aShape: TensorInfo,
  bShape: TensorInfo,
): void {
  const { m, k, n, batchA, batchB, batchShape } = p;
  const wasm = heapModule<GemmModule>(backend, GEMM_WASM);
  const panel = packedSize(k, n);
  const packed = backend.makeOutput([batchB * panel], 'float32');
  try {
    const bOff = offsetOf(backend, b);
    const bpOff = offsetOf(backend, packed);
    for (let j = 0; j < batchB; j++) wasm.pack(bOff + j * k * n * 4, bpOff + j * panel * 4, k, n);
    const aOff = offsetOf(backend, a);
    const oOff = offsetOf(backend, out);
    if (batchB === 1 && batchA === sizeOf(batchShape)) {
      wasm.gemm(aOff, bpOff, oOff, batchA * m, k, n);
      return;
    }
    const [ia, ib] = batchIndices(aShape, bShape, batchShape);
    for (let o = 0; o < ia.length; o++) {
      wasm.gemm(
        aOff + ia[o]! * m * k * 4,
        bpOff + ib[o]! * panel * 4,
        oOff + o * m * n * 4,
        m,
        k,
        n,
      );
    }
  } finally {
    backend.disposeData(packed.dataId);
  }
}

export function makeBatchMatMulKernel(original: Kernel) {
  return (args: KernelArgs<MatMulAttrs>): TensorInfo => {
    const { backend } = args;
    const a = args.inputs.a!;
    const b = args.inputs.b!;
    if (a.dtype !== 'float32' || b.dtype !== 'float32') return original(args);
    const tA = Boolean(args.attrs.transposeA);
    const tB = Boolean(args.attrs.transposeB);
    const p = plan(a, b, tA, tB);
    const out = backend.makeOutput([...p.batchShape, p.m, p.n], 'float32');
    if (sizeOf(out.shape) === 0) return out;
    if (p.k === 0) {
      viewOf(backend, out).fill(0);
      return out;
    }
    const folded = p.batchB === 1 && p.batchA === sizeOf(p.batchShape);
    if (!folded && p.m * p.k * p.n <= SMALL_MACS) {
      const [ia, ib] = batchIndices(a, b, p.batchShape);
      const [va, vb, vo] = [a, b, out].map((t) => viewOf(backend, t) as Float32Array);
      smallBatchMatMul(va!, vb!, vo!, ia, ib, { m: p.m, k: p.k, n: p.n, tA, tB });
      return out;
    }
    const pa = plainOperand(backend, a, p.batchA, tA);
    const pb = plainOperand(backend, b, p.batchB, tB);
    try {
      runPlain(backend, pa.info, pb.info, out, p, a, b);
    } finally {
      if (pa.temp) backend.disposeData(pa.info.dataId);
      if (pb.temp) backend.disposeData(pb.info.dataId);
    }
    return out;
  };
}

interface FusedAttrs extends MatMulAttrs {
  activation: string;
  leakyreluAlpha?: number;
}

/** Activations the C++ fused kernel applies itself (as output clamps). */
const CLAMPS = new Set(['linear', 'relu', 'relu6']);

/** Runs another registered wasm kernel directly (no tape, no engine tensor). */
function callKernel(
  name: string,
  backend: WasmBackend,
  inputs: Record<string, TensorInfo>,
  attrs: Record<string, unknown> = {},
): TensorInfo {
  const k = getKernel(name, 'wasm');
  if (!k) throw new Error(`_FusedMatMul: no wasm kernel ${name}`);
  return k.kernelFunc({ inputs, backend, attrs } as never) as TensorInfo;
}

function applyActivation(
  backend: WasmBackend,
  x: TensorInfo,
  attrs: FusedAttrs,
  prelu?: TensorInfo,
) {
  switch (attrs.activation) {
    case 'elu':
      return callKernel('Elu', backend, { x });
    case 'sigmoid':
      return callKernel('Sigmoid', backend, { x });
    case 'leakyrelu':
      return callKernel('LeakyRelu', backend, { x }, { alpha: attrs.leakyreluAlpha ?? 0.2 });
    case 'prelu':
      return callKernel('Prelu', backend, { x, alpha: prelu! });
    case 'relu':
      return callKernel('Relu', backend, { x });
    case 'relu6':
      return callKernel('Relu6', backend, { x });
    default:
      throw new Error(`_FusedMatMul: unsupported activation ${attrs.activation}`);
  }
}

/**
 * `_FusedMatMul` (tf.fused.matMul, rank-3 operands). The stock kernel is only right and fast for
 * batch-1 untransposed operands with a clamp activation; its scalar path also adds the bias once
 * per 48-wide k block (measured: off by exactly 2 for k = 128). Here: with a right operand shared
 * across batches and a per-column bias, plain operands go through the stock XNNPACK path with the
 * batch folded into rows; otherwise matmul, then bias with `Add`. Activations other than clamps
 * run afterwards with their own wasm kernels.
 */
export function makeFusedMatMulKernel(original: Kernel) {
  const batchMatMul = makeBatchMatMulKernel(original);
  return (args: KernelArgs<FusedAttrs>): TensorInfo => {
    const { backend, inputs, attrs } = args;
    const a = inputs.a!;
    const b = inputs.b!;
    const bias = inputs.bias;
    const tA = Boolean(attrs.transposeA);
    const tB = Boolean(attrs.transposeB);
    if (a.dtype !== 'float32' || b.dtype !== 'float32') return original(args);
    const p = plan(a, b, tA, tB);
    const clamp = CLAMPS.has(attrs.activation);
    if (clamp && !tA && !tB && p.batchA === 1 && p.batchB === 1) return original(args);
    const outShape = [...p.batchShape, p.m, p.n];
    let out: TensorInfo;
    if (p.batchB === 1 && p.k > 0 && p.m * p.n > 0 && (!bias || sizeOf(bias.shape) === p.n)) {
      const pa = plainOperand(backend, a, p.batchA, tA);
      const pb = plainOperand(backend, b, 1, tB);
      try {
        out = original({
          backend,
          inputs: {
            a: { ...pa.info, shape: [1, p.batchA * p.m, p.k] },
            b: { ...pb.info, shape: [1, p.k, p.n] },
            ...(bias ? { bias } : {}),
          },
          attrs: {
            ...attrs,
            transposeA: false,
            transposeB: false,
            activation: clamp ? attrs.activation : 'linear',
          },
        });
        out.shape = outShape;
      } finally {
        if (pa.temp) backend.disposeData(pa.info.dataId);
        if (pb.temp) backend.disposeData(pb.info.dataId);
      }
      if (clamp) return out;
    } else {
      out = batchMatMul({ backend, inputs: { a, b }, attrs: { transposeA: tA, transposeB: tB } });
      if (bias) {
        const sum = callKernel('Add', backend, { a: out, b: bias });
        backend.disposeData(out.dataId);
        out = sum;
      }
      if (attrs.activation === 'linear') return out;
    }
    const act = applyActivation(backend, out, attrs, inputs.preluActivationWeights);
    backend.disposeData(out.dataId);
    return act;
  };
}
