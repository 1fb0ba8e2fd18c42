/**
 * Embedding kernels for the wasm backend: a row-copy `GatherV2`, and `UnsortedSegmentSum`,
 * which the wasm backend lacks; `tf.gather`'s gradient needs it, so
 * without it embeddings cannot be trained on wasm.
 *
 * out[s, ...] = Σ x[i, ...] over i with segmentIds[i] = s. Ids outside [0, numSegments) are
 * ignored, as in tfjs-core's cpu kernel. The segment ids may have any rank r ≤ rank(x) and must
 * match the first r dims of x (TensorFlow semantics; the cpu kernel supports rank 1).
 */
import type { TensorInfo } from '@tensorflow/tfjs';
import type { Kernel, KernelArgs } from './wasm';
import { sizeOf, viewOf } from './wasm';

export function unsortedSegmentSumInto(
  x: Float32Array | Int32Array,
  ids: Int32Array,
  inner: number,
  numSegments: number,
  out: Float32Array | Int32Array,
): void {
  out.fill(0);
  for (let i = 0; i < ids.length; i++) {
    const s = ids[i];
    if (s < 0 || s >= numSegments) continue;
    const xo = i * inner;
    const oo = s * inner;
    for (let j = 0; j < inner; j++) out[oo + j] += x[xo + j];
  }
}

export function makeUnsortedSegmentSumKernel() {
  return (args: KernelArgs<{ numSegments: number }>): TensorInfo => {
    const { backend } = args;
    const x = args.inputs.x!;
    const segmentIds = args.inputs.segmentIds!;
    const { numSegments } = args.attrs;
    if (x.dtype !== 'float32' && x.dtype !== 'int32') {
      throw new Error(`UnsortedSegmentSum (wasm): unsupported dtype ${x.dtype}`);
    }
    if (segmentIds.dtype !== 'int32') {
      throw new Error(`UnsortedSegmentSum (wasm): segmentIds must be int32`);
    }
    const r = segmentIds.shape.length;
    const lead = x.shape.slice(0, r);
    if (lead.length !== r || lead.some((d, i) => d !== segmentIds.shape[i])) {
      throw new Error(
        `UnsortedSegmentSum: segmentIds shape [${segmentIds.shape}] must be a prefix of ` +
          `x shape [${x.shape}]`,
      );
    }
    const tail = x.shape.slice(r);
    const out = backend.makeOutput([numSegments, ...tail], x.dtype);
    const inner = sizeOf(tail);
    unsortedSegmentSumInto(
      viewOf(backend, x) as Float32Array | Int32Array,
      viewOf(backend, segmentIds) as Int32Array,
      inner,
      numSegments,
      viewOf(backend, out) as Float32Array | Int32Array,
    );
    return out;
  };
}

/**
 * `GatherV2` along axis 0 without batch dims (embedding lookup), as a row copy on the heap. The
 * stock kernel took 6-8 ms for 1024 rows of 128 floats here, mostly validating indices one
 * closure at a time; other axes and batch dims go to the stock kernel.
 */
export function makeGatherKernel(original: Kernel) {
  return (args: KernelArgs<{ axis: number; batchDims: number }>): TensorInfo => {
    const { backend } = args;
    const x = args.inputs.x!;
    const indices = args.inputs.indices!;
    const axis = args.attrs.axis < 0 ? args.attrs.axis + x.shape.length : args.attrs.axis;
    if (axis !== 0 || (args.attrs.batchDims ?? 0) !== 0 || indices.dtype !== 'int32') {
      return original(args);
    }
    if (x.dtype !== 'float32' && x.dtype !== 'int32') return original(args);
    const rows = x.shape[0];
    const inner = sizeOf(x.shape.slice(1));
    const out = backend.makeOutput([...indices.shape, ...x.shape.slice(1)], x.dtype);
    const ids = viewOf(backend, indices) as Int32Array;
    const src = viewOf(backend, x);
    const dst = viewOf(backend, out);
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (!(id >= 0 && id < rows)) {
        backend.disposeData(out.dataId);
        throw new Error(`GatherV2: the index value ${id} is not in [0, ${rows - 1}]`);
      }
      if (inner >= 32) dst.set(src.subarray(id * inner, (id + 1) * inner), i * inner);
      else for (let j = 0; j < inner; j++) dst[i * inner + j] = src[id * inner + j];
    }
    return out;
  };
}
