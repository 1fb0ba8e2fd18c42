/**
 * Transpose as a strided copy on wasm heap views. Dimensions of size 1 are dropped and input
 * dimensions that stay adjacent are merged first, so most transformer permutations reduce to
 * copying contiguous runs (head split/merge) or to a tiled 2-D transpose (matmul operands).
 */
import type { TensorInfo } from '@tensorflow/tfjs';
import { WASM_BASE64 } from './transpose_wasm';
import type { HeapArray, Kernel, KernelArgs, WasmBackend } from './wasm';
import { heapModule, offsetOf, shapeBytes, sizeOf, viewOf } from './wasm';

/** transpose.wat's export: `batch` [rows, cols] matrices of 32-bit elements, each transposed. */
interface TransposeModule {
  transpose(src: number, dst: number, batch: number, rows: number, cols: number): void;
}

/** Below this run length a plain loop beats `TypedArray.set` (call overhead dominates). */
const SET_MIN_RUN = 64;
/** Tile edge for the 2-D case: 32×32 floats = 4 KiB read + 4 KiB written, well inside L1. */
const TILE = 32;

/** Drops size-1 dims and merges input dims that remain adjacent under `perm`. */
export function simplifyPermutation(
  shape: readonly number[],
  perm: readonly number[],
): { shape: number[]; perm: number[] } {
  const keep = shape.map((d) => d !== 1);
  const newIndex: number[] = [];
  let k = 0;
  for (let i = 0; i < shape.length; i++) newIndex.push(keep[i] ? k++ : -1);
  const p = perm.filter((d) => keep[d]).map((d) => newIndex[d]);
  const s = shape.filter((_, i) => keep[i]);
  // Group runs p[j], p[j]+1, ... in output order into one input dim.
  const groups: number[][] = [];
  for (const d of p) {
    const last = groups[groups.length - 1];
    if (last && last[last.length - 1] + 1 === d) last.push(d);
    else groups.push([d]);
  }
  const order = groups.map((g) => g[0]).sort((a, b) => a - b);
  const outShape = order.map((first) => {
    const g = groups.find((gr) => gr[0] === first)!;
    return g.reduce((acc, d) => acc * s[d], 1);
  });
  return { shape: outShape, perm: groups.map((g) => order.indexOf(g[0])) };
}

/** Writes `src` (row-major, `shape`) permuted by `perm` into `dst`. */
export function transposeInto(
  src: HeapArray,
  shape: readonly number[],
  perm: readonly number[],
  dst: HeapArray,
): void {
  const size = sizeOf(shape);
  if (size === 0) return;
  const { shape: s, perm: p } = simplifyPermutation(shape, perm);
  const r = s.length;
  if (r <= 1) {
    dst.set(src.subarray(0, size));
    return;
  }
  const inStride = new Array<number>(r);
  inStride[r - 1] = 1;
  for (let i = r - 2; i >= 0; i--) inStride[i] = inStride[i + 1] * s[i + 1];
  const outSize = p.map((d) => s[d]);
  const outStride = new Array<number>(r);
  outStride[r - 1] = 1;
  for (let i = r - 2; i >= 0; i--) outStride[i] = outStride[i + 1] * outSize[i + 1];
  if (p[r - 1] === r - 1) {
    copyRuns(src, dst, s, p, inStride, outSize, outStride);
    return;
  }
  // The innermost output dim is strided in the input: tile it against the dim that is
  // contiguous in the input (output position q) so that reads and writes both stay in cache.
  const q = p.indexOf(r - 1);
  const nj = outSize[r - 1]; // output-contiguous extent
  const sj = inStride[p[r - 1]];
  const ni = s[r - 1]; // input-contiguous extent
  const oi = outStride[q];
  const outer: number[] = [];
  for (let o = 0; o < r - 1; o++) if (o !== q) outer.push(o);
  const pos = new Odometer(outer, p, inStride, outSize, outStride);
  do {
    const { inBase, outBase } = pos;
    for (let i0 = 0; i0 < ni; i0 += TILE) {
      const i1 = Math.min(i0 + TILE, ni);
      for (let j0 = 0; j0 < nj; j0 += TILE) {
        const j1 = Math.min(j0 + TILE, nj);
        for (let i = i0; i < i1; i++) {
          const so = inBase + i;
          const doff = outBase + i * oi;
          for (let j = j0; j < j1; j++) dst[doff + j] = src[so + j * sj];
        }
      }
    }
  } while (pos.next());
}

/**
 * Walks every position of the output dims `dims` (innermost last), keeping the offsets of the
 * current position in the input (`inBase`) and the output (`outBase`). Both transpose loops step
 * through their outer dims with it.
 */
class Odometer {
  inBase = 0;
  outBase = 0;
  private readonly counts: number[];

  constructor(
    private readonly dims: readonly number[],
    private readonly p: readonly number[],
    private readonly inStride: readonly number[],
    private readonly outSize: readonly number[],
    private readonly outStride: readonly number[],
  ) {
    this.counts = new Array<number>(dims.length).fill(0);
  }

  /** Moves to the next position; false once every position has been visited. */
  next(): boolean {
    const { dims, p, inStride, outSize, outStride, counts } = this;
    for (let k = dims.length - 1; k >= 0; k--) {
      const o = dims[k];
      this.inBase += inStride[p[o]];
      this.outBase += outStride[o];
      if (++counts[k] < outSize[o]) return true;
      this.inBase -= inStride[p[o]] * outSize[o];
      this.outBase -= outStride[o] * outSize[o];
      counts[k] = 0;
    }
    return false;
  }
}

/** The innermost dim is kept: copy contiguous runs of it, walking the other dims. */
function copyRuns(
  src: HeapArray,
  dst: HeapArray,
  s: number[],
  p: number[],
  inStride: number[],
  outSize: number[],
  outStride: number[],
): void {
  const r = s.length;
  const run = s[r - 1];
  const useSet = run >= SET_MIN_RUN;
  // every output dim but the innermost, which is the run itself
  const outer = Array.from({ length: r - 1 }, (_, o) => o);
  const pos = new Odometer(outer, p, inStride, outSize, outStride);
  do {
    const { inBase, outBase } = pos;
    if (useSet) dst.set(src.subarray(inBase, inBase + run), outBase);
    else for (let j = 0; j < run; j++) dst[outBase + j] = src[inBase + j];
  } while (pos.next());
}

type CTranspose = (
  xId: number,
  shape: Uint8Array,
  rank: number,
  dtype: number,
  outId: number,
  perm: Uint8Array,
  permLen: number,
) => void;
const cTransposes = new WeakMap<object, CTranspose>();
const CPP_DTYPE: Record<string, number> = { float32: 0, int32: 1, bool: 2 };

/** The simplified permutation as a batch of 2-D transposes, if it is one: [batch, rows, cols]. */
function asMatrices(shape: number[], perm: number[]): [number, number, number] | undefined {
  if (perm.length === 2) return [1, shape[0]!, shape[1]!]; // simplified: perm is [1, 0]
  if (perm.length === 3 && perm[0] === 0 && perm[1] === 2) return [shape[0]!, shape[1]!, shape[2]!];
  return undefined;
}

/**
 * Transposes into a fresh heap tensor (float32, int32 or bool). After simplification, 32-bit
 * matrices and batches of them ([b, r, c] → [b, c, r], every matmul operand) go to the SIMD
 * module (transpose.wat: 0.2–0.3 ms for [1024, 384], against 1.2 ms for the JS copy). Other
 * ranks 3 and 4 go to the stock C++ loops, which measured faster than this file's JS there (0.16
 * vs 0.56 ms for [16,64,4,32] perm [0,2,1,3]); bool matrices and rank ≥ 5 use the JS copy, which
 * the stock kernel loses to (2.4 vs 5.5 ms for a [512,1024] transpose; 1.0 vs 33 ms for
 * [16,64,3,4,32] perm [2,0,3,1,4]).
 */
export function transposeOnHeap(
  backend: WasmBackend,
  x: TensorInfo,
  perm: readonly number[],
): TensorInfo {
  const outShape = perm.map((d) => x.shape[d]);
  const out = backend.makeOutput(outShape, x.dtype);
  if (sizeOf(outShape) === 0) return out;
  const simple = simplifyPermutation(x.shape, perm);
  const r = simple.shape.length;
  const matrices = x.dtype === 'bool' ? undefined : asMatrices(simple.shape, simple.perm);
  if (matrices) {
    const wasm = heapModule<TransposeModule>(backend, WASM_BASE64);
    wasm.transpose(offsetOf(backend, x), offsetOf(backend, out), ...matrices);
    return out;
  }
  if (r === 3 || r === 4) {
    let fn = cTransposes.get(backend.wasm);
    if (!fn) {
      const types = ['number', 'array', 'number', 'number', 'number', 'array', 'number'];
      fn = backend.wasm.cwrap('Transpose', null, types) as CTranspose;
      cTransposes.set(backend.wasm, fn);
    }
    const id = (t: TensorInfo) => backend.dataIdMap.get(t.dataId).id;
    fn(id(x), shapeBytes(simple.shape), r, CPP_DTYPE[x.dtype], id(out), shapeBytes(simple.perm), r);
    return out;
  }
  // Views only after the allocation: it may have grown (and detached) the heap.
  transposeInto(viewOf(backend, x), x.shape, perm, viewOf(backend, out));
  return out;
}

export function makeTransposeKernel(original: Kernel) {
  return (args: KernelArgs<{ perm: number[] }>): TensorInfo => {
    const x = args.inputs.x!;
    if (x.dtype !== 'float32' && x.dtype !== 'int32' && x.dtype !== 'bool') {
      return original(args);
    }
    return transposeOnHeap(args.backend, x, args.attrs.perm);
  };
}
