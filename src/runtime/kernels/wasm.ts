/**
 * The few tfjs-backend-wasm internals the overrides use: tensor ids and heap offsets, heap
 * allocation, typed views on the heap, and the C++ `BatchMatMul` entry point.
 *
 * The heap may grow on any allocation, which detaches earlier views: callers allocate first and
 * take views afterwards (or take them again).
 */
import v8 from 'node:v8';
import type { DataType, TensorInfo } from '@tensorflow/tfjs';

export type HeapArray = Float32Array | Int32Array | Uint8Array;

interface WasmModule {
  HEAPU8: Uint8Array;
  cwrap(name: string, ret: null, args: string[]): (...args: unknown[]) => void;
  tfjs: {
    disposeData(id: number): void;
  };
}

interface WasmData {
  id: number;
  memoryOffset: number;
  shape: number[];
  dtype: DataType;
}

/** The slice of `BackendWasm` the overrides rely on (kept structural to avoid deep imports). */
export interface WasmBackend {
  wasm: WasmModule;
  dataIdMap: { get(dataId: object): WasmData };
  makeOutput(shape: number[], dtype: DataType): TensorInfo;
  disposeData(dataId: object, force?: boolean): boolean;
}

export interface KernelArgs<A = object> {
  inputs: Record<string, TensorInfo | undefined>;
  backend: WasmBackend;
  attrs: A;
}

/** A kernel function as registered; the stock ones are kept with this type as fallbacks. */
export type Kernel = (args: KernelArgs<object>) => TensorInfo;

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Byte offset of a tensor's data on the wasm heap. */
export function offsetOf(backend: WasmBackend, t: TensorInfo): number {
  return backend.dataIdMap.get(t.dataId).memoryOffset;
}

/** A live view of `size` elements at `offset`; valid until the next heap allocation. */
export function heapView(
  backend: WasmBackend,
  dtype: DataType,
  offset: number,
  size: number,
): HeapArray {
  const buf = backend.wasm.HEAPU8.buffer;
  switch (dtype) {
    case 'float32':
      return new Float32Array(buf, offset, size);
    case 'int32':
      return new Int32Array(buf, offset, size);
    case 'bool':
      return new Uint8Array(buf, offset, size);
    default:
      throw new Error(`heapView: unsupported dtype ${dtype}`);
  }
}

export function viewOf(backend: WasmBackend, t: TensorInfo): HeapArray {
  return heapView(backend, t.dtype, offsetOf(backend, t), sizeOf(t.shape));
}

type BatchMatMulFn = (
  aId: number,
  aShape: Uint8Array,
  aRank: number,
  bId: number,
  bShape: Uint8Array,
  bRank: number,
  transposeA: number,
  transposeB: number,
  outId: number,
) => void;

const matMulFns = new WeakMap<WasmModule, BatchMatMulFn>();

/**
 * The C++ `BatchMatMul`. With rank-3 shapes of batch 1 and no transposes it runs XNNPACK's
 * fully-connected operator; every other case runs a scalar loop. pitlab's matmuls run gemm.wat
 * instead: the kernel tests and scripts/wasm-peak.ts call this as XNNPACK's reference.
 */
export function wasmBatchMatMul(backend: WasmBackend): BatchMatMulFn {
  let fn = matMulFns.get(backend.wasm);
  if (!fn) {
    const args = ['number', 'array', 'number', 'number', 'array', 'number', 'number', 'number'];
    fn = backend.wasm.cwrap('BatchMatMul', null, [...args, 'number']) as BatchMatMulFn;
    matMulFns.set(backend.wasm, fn);
  }
  return fn;
}

export function shapeBytes(shape: readonly number[]): Uint8Array {
  return new Uint8Array(new Int32Array(shape).buffer);
}

/**
 * Compiles `bytes` with V8's optimising compiler straight away. By default V8 first compiles
 * WebAssembly with its baseline compiler (Liftoff) and tiers hot functions up later; with these
 * kernels, whole processes sometimes kept running the baseline code (the reference train step
 * then took ~345 ms instead of ~255 ms, in two of five processes). Flags only change how
 * modules compiled from here on are compiled; the default is restored at once.
 */
function optimisedModule(bytes: Uint8Array): WebAssembly.Module {
  v8.setFlagsFromString('--no-liftoff');
  try {
    return new WebAssembly.Module(bytes);
  } finally {
    v8.setFlagsFromString('--liftoff');
  }
}

/** One instance per wasm heap and module, importing that heap's memory. */
const heapModules = new WeakMap<object, Map<string, WebAssembly.Exports>>();

/**
 * Instantiates a hand-written WebAssembly module (base64 bytes, see scripts/build-wasm.ts) on the
 * backend's own memory, once per heap, so its functions read and write tensors by byte offset.
 */
export function heapModule<T>(backend: WasmBackend, base64: string): T {
  const wasm = backend.wasm as unknown as { asm: { memory: WebAssembly.Memory } };
  let byModule = heapModules.get(wasm);
  if (!byModule) {
    byModule = new Map();
    heapModules.set(wasm, byModule);
  }
  let exports = byModule.get(base64);
  if (!exports) {
    const bytes = Buffer.from(base64, 'base64');
    const instance = new WebAssembly.Instance(optimisedModule(bytes), {
      env: { memory: wasm.asm.memory },
    });
    exports = instance.exports;
    byModule.set(base64, exports);
  }
  return exports as unknown as T;
}
