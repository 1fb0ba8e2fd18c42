/**
 * One-kernel JS implementations of small elementwise/row ops for the `wasm` and `cpu` backends.
 *
 * Why: on the reference workloads the tensors are small (a decode step works on [64, 128] rows)
 * and per-kernel dispatch, not arithmetic, is what costs: every tfjs kernel call pays the
 * engine's bookkeeping (tape, tensor tracking, output allocation). A composite LayerNorm is ~10
 * forward kernels and ~20 backward; a fused one is one each way.
 *
 * A fused kernel is written once as `compute(inputs, outputs, shapes, attrs)` on plain
 * Float32Arrays and registered for both backends: on wasm the arrays are views on the heap
 * (outputs allocated first, views taken afterwards, since any allocation may grow and detach the
 * heap), on cpu they are the backend's own value arrays.
 */
import * as tf from '@tensorflow/tfjs';
import type { WasmBackend } from '../kernels/wasm';
import { offsetOf, sizeOf, viewOf } from '../kernels/wasm';

/** Backends that run the fused kernels; anything else uses the composite formulation. */
export const FUSED_BACKENDS = ['wasm', 'cpu'] as const;

export interface FusedKernelSpec<A extends object> {
  kernelName: string;
  /** Input names in the order `compute` receives them. All must be float32. */
  inputs: readonly string[];
  /** Output shapes from the input shapes (same order as `inputs`). */
  outputShapes(shapes: number[][], attrs: A): number[][];
  compute(inputs: Float32Array[], outputs: Float32Array[], shapes: number[][], attrs: A): void;
  /**
   * On wasm, the same computation by heap byte offsets instead of `compute` (for kernels with a
   * hand-written WebAssembly module; `compute` stays the cpu kernel and the reference).
   */
  wasm?(
    backend: WasmBackend,
    inputs: number[],
    outputs: number[],
    shapes: number[][],
    attrs: A,
  ): void;
}

/** The slice of the tfjs `cpu` backend a fused kernel uses. */
export interface CpuBackend {
  data: { get(dataId: object): { values?: unknown } };
  makeTensorInfo(shape: number[], dtype: tf.DataType, values?: Float32Array): tf.TensorInfo;
}

/** What tfjs passes a kernel function. */
export interface KernelCall {
  inputs: Record<string, tf.TensorInfo | undefined>;
  backend: unknown;
  attrs: object;
}

function collectInputs(spec: FusedKernelSpec<object>, call: KernelCall): tf.TensorInfo[] {
  return spec.inputs.map((name) => {
    const t = call.inputs[name];
    if (!t) throw new Error(`${spec.kernelName}: missing input '${name}'`);
    if (t.dtype !== 'float32') {
      throw new Error(`${spec.kernelName}: input '${name}' must be float32, got ${t.dtype}`);
    }
    return t;
  });
}

function wasmKernel(spec: FusedKernelSpec<object>) {
  return (call: KernelCall): tf.TensorInfo | tf.TensorInfo[] => {
    const backend = call.backend as WasmBackend;
    const ins = collectInputs(spec, call);
    const shapes = ins.map((t) => t.shape.slice());
    const outs = spec.outputShapes(shapes, call.attrs).map((s) => backend.makeOutput(s, 'float32'));
    if (spec.wasm) {
      const at = (t: tf.TensorInfo) => offsetOf(backend, t);
      spec.wasm(backend, ins.map(at), outs.map(at), shapes, call.attrs);
      return outs.length === 1 ? outs[0]! : outs;
    }
    // Views only now: makeOutput may have grown the heap and detached earlier views.
    const inViews = ins.map((t) => viewOf(backend, t) as Float32Array);
    const outViews = outs.map((t) => viewOf(backend, t) as Float32Array);
    spec.compute(inViews, outViews, shapes, call.attrs);
    return outs.length === 1 ? outs[0]! : outs;
  };
}

function cpuKernel(spec: FusedKernelSpec<object>) {
  return (call: KernelCall): tf.TensorInfo | tf.TensorInfo[] => {
    const backend = call.backend as CpuBackend;
    const ins = collectInputs(spec, call);
    const shapes = ins.map((t) => t.shape.slice());
    const inViews = ins.map((t) => backend.data.get(t.dataId).values as Float32Array);
    const outShapes = spec.outputShapes(shapes, call.attrs);
    const outViews = outShapes.map((s) => new Float32Array(sizeOf(s)));
    spec.compute(inViews, outViews, shapes, call.attrs);
    const outs = outShapes.map((s, i) => backend.makeTensorInfo(s, 'float32', outViews[i]));
    return outs.length === 1 ? outs[0]! : outs;
  };
}

/** Registers `spec` for every fused backend (idempotent: a second module instance is a no-op). */
export function registerFusedKernel<A extends object>(spec: FusedKernelSpec<A>): void {
  const generic = spec as unknown as FusedKernelSpec<object>;
  for (const backendName of FUSED_BACKENDS) {
    if (tf.getKernel(spec.kernelName, backendName)) continue;
    const kernelFunc = backendName === 'wasm' ? wasmKernel(generic) : cpuKernel(generic);
    tf.registerKernel({
      kernelName: spec.kernelName,
      backendName,
      kernelFunc: kernelFunc as unknown as tf.KernelFunc,
    });
  }
}

let enabled = true;

/**
 * Turns the fused kernels off (composite ops everywhere) or back on, process-wide; lets a
 * benchmark compare both in one process, alternating, which is the only A/B that holds up on a
 * shared, loaded machine.
 */
export function setFusedOpsEnabled(on: boolean): void {
  enabled = on;
}

/** Whether the active backend runs `kernelName` fused (float32 inputs assumed by the caller). */
export function fusedOnActiveBackend(kernelName: string): boolean {
  return enabled && tf.getKernel(kernelName, tf.getBackend()) !== undefined;
}

/** Runs a registered kernel through the engine (so it is taped for gradients). */
export function runFused(
  kernelName: string,
  inputs: tf.NamedTensorMap,
  attrs: Record<string, number> = {},
): tf.Tensor | tf.Tensor[] {
  return tf.engine().runKernel(kernelName, inputs, attrs) as tf.Tensor | tf.Tensor[];
}
