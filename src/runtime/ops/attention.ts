/**
 * Causal multi-head self-attention over whole sequences (training, scoring, prefill), as one
 * forward kernel and one backward kernel.
 *
 * Why: the composite runs about twelve kernels forward and twice that backward per layer (head
 * split transposes and slices, two batched matmuls of hundreds of tiny [T, D] matrices, scale,
 * bias, softmax, merge transpose); on the stages' short sequences those cost ~14% of a train step
 * (profile in the README). Here each (row, head) pair is one pass over L1-resident data: scores,
 * additive bias, softmax and the weighted sum forward; backward recomputes the probabilities
 * (nothing saved but the inputs) and writes dq, dk, dv straight into the fused projection's
 * layout. SIMD WebAssembly on wasm when the head size is a multiple of 4 (attention.wat), plain
 * JS otherwise and on cpu; other backends run the composite in models/gpt.ts.
 *
 * Layouts: qkv [B·T, 3C] holds each token's q | k | v with head h at h·D; bias [B|1, 1, T, T] is
 * added to the scaled scores (padding masks as large negative numbers); y [B·T, C] has the heads
 * merged, ready for the output projection. Query i reads keys 0..i only, whatever the bias says
 * after i. So the result equals the composite's (softmax over all T keys with a causal −1e9 in
 * the bias) wherever a query sees at least one unmasked key; a query that sees none (a left
 * padding position) attends evenly to its masked keys here, and its output is never read.
 */
import * as tf from '@tensorflow/tfjs';
import { heapModule, heapView, offsetOf, type WasmBackend } from '../kernels/wasm';
import { WASM_BASE64 } from './attention_wasm';
import { fusedOnActiveBackend, registerFusedKernel, runFused } from './fused';

export const ATTENTION = 'PitlabAttention';
export const ATTENTION_GRAD = 'PitlabAttentionGrad';

interface AttentionAttrs {
  nHead: number;
}

/** attention.wat's exports (byte offsets, then sizes). */
interface AttentionModule {
  forward(...args: number[]): void;
  backward(...args: number[]): void;
}

interface Dims {
  B: number;
  T: number;
  H: number;
  D: number;
  C: number;
  /** Rows of the bias: 1 (shared) or B. */
  biasRows: number;
}

function dimsOf(qkvShape: number[], biasShape: number[], nHead: number): Dims {
  const [rows, C3] = qkvShape as [number, number];
  const [biasRows, one, T, S] = biasShape as [number, number, number, number];
  const C = C3 / 3;
  const D = C / nHead;
  const B = rows / T;
  const problems = [
    qkvShape.length === 2 && Number.isInteger(D) ? '' : `qkv [${qkvShape}] is not [B·T, 3·H·D]`,
    biasShape.length === 4 && one === 1 && T === S
      ? ''
      : `bias [${biasShape}] is not [B|1, 1, T, T]`,
    Number.isInteger(B) && (biasRows === 1 || biasRows === B)
      ? ''
      : `${rows} qkv rows do not split into bias rows ${biasRows} of T = ${T}`,
  ].filter(Boolean);
  if (problems.length) throw new Error(`${ATTENTION}: ${problems.join('; ')}`);
  return { B, T, H: nHead, D, C, biasRows };
}

/**
 * Row `i` of softmax(scale · q kᵀ + bias) for one (row b, head h), into `p` [T]: keys after `i`
 * are causally hidden, so they get 0 without being computed.
 */
function probabilities(
  qkv: Float32Array,
  bias: Float32Array,
  { T, D, C, biasRows }: Dims,
  b: number,
  h: number,
  i: number,
  p: Float64Array,
): void {
  const scale = 1 / Math.sqrt(D);
  const q = (b * T + i) * 3 * C + h * D;
  const biasRow = ((biasRows === 1 ? 0 : b) * T + i) * T;
  let max = Number.NEGATIVE_INFINITY;
  p.fill(0);
  for (let j = 0; j <= i; j++) {
    const k = (b * T + j) * 3 * C + C + h * D;
    let dot = 0;
    for (let d = 0; d < D; d++) dot += qkv[q + d]! * qkv[k + d]!;
    // rounded to float32 as the composite's sum is: a score on a -1e9 mask then loses itself,
    // so a query that sees only masked keys spreads evenly over them in both formulations
    const s = Math.fround(Math.fround(dot * scale) + bias[biasRow + j]!);
    p[j] = s;
    if (s > max) max = s;
  }
  let sum = 0;
  for (let j = 0; j <= i; j++) {
    const e = Math.exp(p[j]! - max);
    p[j] = e;
    sum += e;
  }
  for (let j = 0; j <= i; j++) p[j]! /= sum;
}

/** The forward pass in plain JS: the `cpu` kernel and the reference for wasm. */
function forwardJs(qkv: Float32Array, bias: Float32Array, y: Float32Array, dims: Dims): void {
  const { B, T, H, D, C } = dims;
  const p = new Float64Array(T);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      for (let i = 0; i < T; i++) {
        probabilities(qkv, bias, dims, b, h, i, p);
        const out = (b * T + i) * C + h * D;
        for (let d = 0; d < D; d++) {
          let acc = 0;
          for (let j = 0; j < T; j++) acc += p[j]! * qkv[(b * T + j) * 3 * C + 2 * C + h * D + d]!;
          y[out + d] = acc;
        }
      }
    }
  }
}

/**
 * The backward pass in plain JS. With P the probabilities and dY the output gradient of one
 * (row, head): dV = Pᵀ dY, dP = dY Vᵀ, dS = P ∘ (dP − rowsum(dP ∘ P)), dQ = scale · dS K,
 * dK = scale · dSᵀ Q.
 */
function backwardJs(
  dy: Float32Array,
  qkv: Float32Array,
  bias: Float32Array,
  dqkv: Float32Array,
  dims: Dims,
): void {
  const { B, T, H, D, C } = dims;
  const scale = 1 / Math.sqrt(D);
  const p = new Float64Array(T);
  const ds = new Float64Array(T);
  dqkv.fill(0);
  const at = (b: number, t: number, part: number, h: number) =>
    (b * T + t) * 3 * C + part * C + h * D;
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      for (let i = 0; i < T; i++) {
        probabilities(qkv, bias, dims, b, h, i, p);
        const g = (b * T + i) * C + h * D; // dY row i
        let rowDot = 0;
        for (let j = 0; j < T; j++) {
          const v = at(b, j, 2, h);
          let dp = 0;
          for (let d = 0; d < D; d++) {
            dp += dy[g + d]! * qkv[v + d]!;
            dqkv[v + d]! += p[j]! * dy[g + d]!; // dV
          }
          ds[j] = dp;
          rowDot += dp * p[j]!;
        }
        const q = at(b, i, 0, h);
        for (let j = 0; j < T; j++) {
          const s = p[j]! * (ds[j]! - rowDot) * scale;
          if (s === 0) continue;
          const k = at(b, j, 1, h);
          for (let d = 0; d < D; d++) {
            dqkv[q + d]! += s * qkv[k + d]!; // dQ
            dqkv[k + d]! += s * qkv[q + d]!; // dK
          }
        }
      }
    }
  }
}

/**
 * Runs `body` with `count` scratch rows of Tp floats (T rounded up to whole vectors) on the heap,
 * given by byte offset, and frees them afterwards. Allocate before taking any heap view.
 */
function withScratch(
  backend: WasmBackend,
  T: number,
  count: number,
  body: (rows: number[], Tp: number) => void,
): void {
  const Tp = Math.ceil(T / 4) * 4;
  const rows = Array.from({ length: count }, () => backend.makeOutput([Tp], 'float32'));
  try {
    body(
      rows.map((r) => offsetOf(backend, r)),
      Tp,
    );
  } finally {
    for (const r of rows) backend.disposeData(r.dataId);
  }
}

let registered = false;
function ensureRegistered(): void {
  if (registered) return;
  registered = true;
  registerFusedKernel<AttentionAttrs>({
    kernelName: ATTENTION,
    inputs: ['qkv', 'bias'],
    outputShapes: ([qkv, bias], { nHead }) => {
      const { B, T, C } = dimsOf(qkv!, bias!, nHead);
      return [[B * T, C]];
    },
    compute([qkv, bias], [y], [qs, bs], { nHead }) {
      forwardJs(qkv!, bias!, y!, dimsOf(qs!, bs!, nHead));
    },
    wasm(backend, [qkv, bias], [y], [qs, bs], { nHead }) {
      const dims = dimsOf(qs!, bs!, nHead);
      const { B, T, H, D, C, biasRows } = dims;
      if (D % 4 !== 0) {
        const f = (at: number, n: number) => heapView(backend, 'float32', at, n) as Float32Array;
        forwardJs(f(qkv!, B * T * 3 * C), f(bias!, biasRows * T * T), f(y!, B * T * C), dims);
        return;
      }
      withScratch(backend, T, 1, ([p], Tp) =>
        heapModule<AttentionModule>(backend, WASM_BASE64).forward(
          qkv!,
          bias!,
          y!,
          p!,
          B,
          T,
          H,
          D,
          biasRows,
          Tp,
        ),
      );
    },
  });
  registerFusedKernel<AttentionAttrs>({
    kernelName: ATTENTION_GRAD,
    inputs: ['dy', 'qkv', 'bias'],
    outputShapes: ([, qkv]) => [qkv!],
    compute([dy, qkv, bias], [dqkv], [, qs, bs], { nHead }) {
      backwardJs(dy!, qkv!, bias!, dqkv!, dimsOf(qs!, bs!, nHead));
    },
    wasm(backend, [dy, qkv, bias], [dqkv], [, qs, bs], { nHead }) {
      const dims = dimsOf(qs!, bs!, nHead);
      const { B, T, H, D, C, biasRows } = dims;
      if (D % 4 !== 0) {
        const f = (at: number, n: number) => heapView(backend, 'float32', at, n) as Float32Array;
        const rows = B * T;
        const args = [f(dy!, rows * C), f(qkv!, rows * 3 * C), f(bias!, biasRows * T * T)];
        backwardJs(args[0]!, args[1]!, args[2]!, f(dqkv!, rows * 3 * C), dims);
        return;
      }
      withScratch(backend, T, 2, ([p, ds], Tp) =>
        heapModule<AttentionModule>(backend, WASM_BASE64).backward(
          dy!,
          qkv!,
          bias!,
          dqkv!,
          p!,
          ds!,
          B,
          T,
          H,
          D,
          biasRows,
          Tp,
        ),
      );
    },
  });
  if (!tf.getGradient(ATTENTION)) {
    tf.registerGradient({
      kernelName: ATTENTION,
      inputsToSave: ['qkv', 'bias'],
      gradFunc: (dy, saved, attrs) => {
        const [qkv, bias] = saved as [tf.Tensor, tf.Tensor];
        const { nHead } = attrs as unknown as AttentionAttrs;
        return {
          qkv: () => runFused(ATTENTION_GRAD, { dy: dy as tf.Tensor, qkv, bias }, { nHead }),
          // the bias is a mask, never trained
          bias: () => tf.zerosLike(bias),
        } as Record<string, () => tf.Tensor>;
      },
    });
  }
}

/** Whether `attention` runs as the fused kernels on the active backend for this head count. */
export function fusedAttentionAvailable(): boolean {
  ensureRegistered();
  return fusedOnActiveBackend(ATTENTION);
}

/**
 * Causal self-attention of every position over the whole sequence: qkv [B·T, 3C] (the fused
 * projection), bias [B|1, 1, T, T] (additive, masks as large negatives) → [B·T, C], heads
 * merged. Differentiable in qkv. Callers check `fusedAttentionAvailable()` first.
 */
export function fusedAttention(qkv: tf.Tensor2D, bias: tf.Tensor, nHead: number): tf.Tensor2D {
  ensureRegistered();
  dimsOf(qkv.shape, bias.shape, nHead);
  return runFused(ATTENTION, { qkv, bias }, { nHead }) as tf.Tensor2D;
}
