/**
 * One decode step of multi-head attention against a preallocated KV cache, as one kernel.
 *
 * Why: a decode step of the composite attention runs ~10 kernels per layer (q/k/v slices and
 * transposes, two KV concats that copy the whole cache, two batched single-query matmuls, scale,
 * mask, softmax, merge transpose). On the reference sampling workload those cost more than the
 * dense layers (profile in the README): the batched [B·H, 1, S] products are hundreds of tiny
 * matrices. Here the step's key and value rows are written into caches allocated once for the
 * whole sample (no concat), and scores, softmax and the weighted sum run in one pass per row:
 * 128-bit SIMD WebAssembly (decode_attention.wat, with a polynomial e^x of relative error ~1e-7)
 * on the tfjs wasm heap, plain JS on `cpu`.
 *
 * The kernel writes into its `k` and `v` inputs: callers own those tensors and share them with
 * nothing else (see `KvCache` in models/gpt.ts). It has no gradient; it is for sampling only.
 */
import * as tf from '@tensorflow/tfjs';
import { heapModule, offsetOf, sizeOf, type WasmBackend } from '../kernels/wasm';
import { WASM_BASE64 } from './decode_attention_wasm';
import { type CpuBackend, fusedOnActiveBackend, type KernelCall } from './fused';

export const DECODE_ATTENTION = 'PitlabDecodeAttention';

interface DecodeAttrs {
  nHead: number;
  /** Cache row the new token's key and value go to; keys 0..position are attended. */
  position: number;
}

interface Dims {
  B: number;
  H: number;
  D: number;
  C: number;
  cap: number;
  S: number;
}

function dimsOf(inputs: Record<string, tf.TensorInfo | undefined>, attrs: DecodeAttrs): Dims {
  const { qkv, k, v, mask } = inputs;
  if (!qkv || !k || !v || !mask) throw new Error(`${DECODE_ATTENTION}: needs qkv, k, v and mask`);
  const [B, C3] = qkv.shape as [number, number];
  const H = attrs.nHead;
  const C = C3 / 3;
  const D = C / H;
  const [rows, cap, kd] = k.shape as [number, number, number];
  const S = attrs.position + 1;
  const problems = [
    qkv.shape.length === 2 && Number.isInteger(D) ? '' : `qkv [${qkv.shape}] is not [B, 3·H·D]`,
    rows === B * H && kd === D ? '' : `k [${k.shape}] is not [${B * H}, cap, ${D}]`,
    v.shape.join() === k.shape.join() ? '' : `v [${v.shape}] differs from k [${k.shape}]`,
    attrs.position < cap ? '' : `position ${attrs.position} is past the cache's ${cap} rows`,
    mask.shape.join() === `${B},${S}` ? '' : `mask [${mask.shape}] is not [${B}, ${S}]`,
    [qkv, k, v, mask].every((t) => t.dtype === 'float32') ? '' : 'inputs must be float32',
  ].filter(Boolean);
  if (problems.length) throw new Error(`${DECODE_ATTENTION}: ${problems.join('; ')}`);
  return { B, H, D, C, cap, S };
}

/** Softmax of each row of `x` ([rows, S]) in place; -inf entries get 0, an all -inf row all 0. */
function softmaxRows(x: Float32Array, rows: number, S: number): void {
  for (let r = 0, base = 0; r < rows; r++, base += S) {
    let max = Number.NEGATIVE_INFINITY;
    for (let s = 0; s < S; s++) if (x[base + s]! > max) max = x[base + s]!;
    if (max === Number.NEGATIVE_INFINITY) {
      x.fill(0, base, base + S);
      continue;
    }
    let sum = 0;
    for (let s = 0; s < S; s++) {
      const e = Math.exp(x[base + s]! - max);
      x[base + s] = e;
      sum += e;
    }
    const inv = 1 / sum;
    for (let s = 0; s < S; s++) x[base + s]! *= inv;
  }
}

/** The same step in plain JS over typed arrays: the `cpu` kernel and the reference for wasm. */
function decodeStepJs(
  [qkv, k, v, mask]: Float32Array[],
  out: Float32Array,
  { B, H, D, C, cap, S }: Dims,
  position: number,
): void {
  const scores = new Float32Array(S);
  const scale = 1 / Math.sqrt(D);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const q = b * 3 * C + h * D;
      const row = (b * H + h) * cap * D;
      k!.set(qkv!.subarray(q + C, q + C + D), row + position * D);
      v!.set(qkv!.subarray(q + 2 * C, q + 2 * C + D), row + position * D);
      for (let s = 0; s < S; s++) {
        if (mask![b * S + s] === 0) {
          scores[s] = Number.NEGATIVE_INFINITY;
          continue;
        }
        let dot = 0;
        for (let d = 0; d < D; d++) dot += qkv![q + d]! * k![row + s * D + d]!;
        scores[s] = dot * scale;
      }
      softmaxRows(scores, 1, S);
      const o = b * C + h * D;
      for (let d = 0; d < D; d++) {
        let acc = 0;
        for (let s = 0; s < S; s++) acc += scores[s]! * v![row + s * D + d]!;
        out[o + d] = acc;
      }
    }
  }
}

interface DecodeModule {
  append(...args: number[]): void;
  scores(...args: number[]): void;
  softmax(...args: number[]): void;
  weighted(...args: number[]): void;
}

/** A kernel call's inputs, attributes and checked dimensions. */
function unpack(call: KernelCall) {
  const attrs = call.attrs as DecodeAttrs;
  const dims = dimsOf(call.inputs, attrs);
  const { qkv, k, v, mask } = call.inputs as Record<string, tf.TensorInfo>;
  return { attrs, dims, tensors: [qkv!, k!, v!, mask!] };
}

function wasmKernel(call: KernelCall) {
  const backend = call.backend as WasmBackend;
  const { attrs, dims, tensors } = unpack(call);
  const { B, H, D, C, cap, S } = dims;
  const out = backend.makeOutput([B, C], 'float32');
  const Sp = Math.ceil(S / 4) * 4; // score rows padded to whole vectors
  const scores = backend.makeOutput([B * H, Sp], 'float32');
  // Byte offsets stay valid when the heap grows; typed views would not.
  const [qkv, k, v, mask] = tensors.map((t) => offsetOf(backend, t)) as [
    number,
    number,
    number,
    number,
  ];
  const at = offsetOf(backend, scores);
  const mod = heapModule<DecodeModule>(backend, WASM_BASE64);
  mod.append(qkv, k, v, B, H, D, cap, attrs.position);
  mod.scores(qkv, k, mask, at, B, H, D, cap, S, Sp, 1 / Math.sqrt(D));
  mod.softmax(at, B * H, Sp);
  mod.weighted(at, v, offsetOf(backend, out), B, H, D, cap, S, Sp);
  backend.disposeData(scores.dataId);
  return out;
}

function cpuKernel(call: KernelCall) {
  const backend = call.backend as CpuBackend;
  const { attrs, dims, tensors } = unpack(call);
  const arrays = tensors.map((t) => backend.data.get(t.dataId).values as Float32Array);
  const out = new Float32Array(sizeOf([dims.B, dims.C]));
  decodeStepJs(arrays, out, dims, attrs.position);
  return backend.makeTensorInfo([dims.B, dims.C], 'float32', out);
}

let registered = false;
function ensureRegistered(): void {
  if (registered) return;
  registered = true;
  for (const [backendName, kernel] of [
    ['wasm', wasmKernel],
    ['cpu', cpuKernel],
  ] as const) {
    if (tf.getKernel(DECODE_ATTENTION, backendName)) continue;
    tf.registerKernel({
      kernelName: DECODE_ATTENTION,
      backendName,
      kernelFunc: kernel as unknown as tf.KernelFunc,
    });
  }
}

/** Whether the active backend runs decode steps in place (else callers use composite ops). */
export function decodeAttentionInPlace(): boolean {
  ensureRegistered();
  return fusedOnActiveBackend(DECODE_ATTENTION);
}

/**
 * Attention output [B, C] of one new token per row. `qkv` [B, 3C] is the block's fused
 * projection (q | k | v, head h at h·D); its k and v rows are first written into `k` and `v`
 * ([B·H, capacity, D]) at row `position`, then each head attends to rows 0..position of its
 * cache, skipping keys whose `mask` ([B, position + 1]) entry is 0.
 */
export function decodeAttention(
  qkv: tf.Tensor2D,
  k: tf.Tensor3D,
  v: tf.Tensor3D,
  mask: tf.Tensor2D,
  nHead: number,
  position: number,
): tf.Tensor2D {
  ensureRegistered();
  const attrs = { nHead, position } as unknown as tf.NamedAttrMap;
  return tf.engine().runKernel(DECODE_ATTENTION, { qkv, k, v, mask }, attrs) as tf.Tensor2D;
}
