/**
 * `Slice` for wasm without the full-input copy. The stock kernel starts with
 * `backend.readSync(x)`, which copies the whole input off the heap into a fresh ArrayBuffer
 * before taking the slice: measured 5 ms per slice of a [3, 131072] tensor inside a train step,
 * where the copy of the slice itself is ~0.1 ms. Here rows are copied between heap views.
 */
import type { TensorInfo } from '@tensorflow/tfjs';
import { type KernelArgs, sizeOf, viewOf } from './wasm';

type Kernel = (args: KernelArgs) => TensorInfo;

export function makeSliceKernel(original: Kernel): Kernel {
  return (args) => {
    const x = args.inputs.x!;
    if (x.dtype === 'string' || x.dtype === 'complex64') return original(args);
    const { begin, size } = args.attrs as { begin: number | number[]; size: number | number[] };
    const rank = x.shape.length;
    const b = (Array.isArray(begin) ? begin : [begin]).slice();
    const s = (Array.isArray(size) ? size : [size]).slice();
    // parseSliceParams semantics: missing entries mean "from 0" / "to the end"; -1 = to the end.
    for (let i = 0; i < rank; i++) {
      b[i] ??= 0;
      if (s[i] === undefined || s[i] === -1) s[i] = x.shape[i]! - b[i]!;
    }
    const out = args.backend.makeOutput(s, x.dtype);
    if (sizeOf(s) === 0) return out;
    const src = viewOf(args.backend, x); // views after the allocation (the heap may have grown)
    const dst = viewOf(args.backend, out);
    // Collapse to rows: the innermost run of axes copied whole is one contiguous chunk.
    let inner = 1;
    let axis = rank - 1;
    while (axis >= 0 && s[axis] === x.shape[axis]) inner *= x.shape[axis--]!;
    if (axis < 0) {
      dst.set(src.subarray(0, inner));
      return out;
    }
    const chunk = inner * s[axis]!; // contiguous elements per outer index
    const strides = new Array<number>(rank);
    strides[rank - 1] = 1;
    for (let i = rank - 2; i >= 0; i--) strides[i] = strides[i + 1]! * x.shape[i + 1]!;
    const outer = sizeOf(s.slice(0, axis));
    const idx = new Array<number>(axis).fill(0);
    for (let o = 0; o < outer; o++) {
      let offset = b[axis]! * strides[axis]!;
      for (let i = 0; i < axis; i++) offset += (b[i]! + idx[i]!) * strides[i]!;
      dst.set(src.subarray(offset, offset + chunk), o * chunk);
      for (let i = axis - 1; i >= 0; i--) {
        if (++idx[i]! < s[i]!) break;
        idx[i] = 0;
      }
    }
    return out;
  };
}
