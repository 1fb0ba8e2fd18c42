/**
 * Kernel overrides that make the wasm backend fast where transformer training needs it:
 * transposed and batched matmul (XNNPACK for every case), a strided-copy transpose, the missing
 * `UnsortedSegmentSum` (gradient of `tf.gather`) with a row-copy `GatherV2`, leading-axis `Sum`
 * and a copy-free `Identity`. Each replaces the stock kernel for the `wasm` backend only and
 * falls back to it for inputs it does not handle.
 */
import * as tf from '@tensorflow/tfjs';
import { makeGatherKernel, makeUnsortedSegmentSumKernel } from './embedding';
import { makeBatchMatMulKernel, makeFusedMatMulKernel } from './matmul';
import { makeIdentityKernel, makeSumKernel } from './reduce';
import { makeSliceKernel } from './slice';
import { makeTransposeKernel } from './transpose';
import type { Kernel } from './wasm';

interface OverrideSpec {
  name: string;
  make(original: Kernel): Kernel;
}

function noOriginal(name: string): Kernel {
  return () => {
    throw new Error(`${name}: no stock wasm kernel to fall back to`);
  };
}

const SPECS: OverrideSpec[] = [
  { name: tf.BatchMatMul, make: (o) => makeBatchMatMulKernel(o) as unknown as Kernel },
  { name: tf._FusedMatMul, make: (o) => makeFusedMatMulKernel(o) as unknown as Kernel },
  { name: tf.Transpose, make: (o) => makeTransposeKernel(o) as unknown as Kernel },
  { name: tf.GatherV2, make: (o) => makeGatherKernel(o) as unknown as Kernel },
  { name: tf.UnsortedSegmentSum, make: () => makeUnsortedSegmentSumKernel() as unknown as Kernel },
  { name: tf.Sum, make: (o) => makeSumKernel(o) as unknown as Kernel },
  { name: tf.Identity, make: (o) => makeIdentityKernel(o) as unknown as Kernel },
  { name: tf.Slice, make: (o) => makeSliceKernel(o) as unknown as Kernel },
];

/** Stock configs displaced by an override (undefined where wasm had none). */
const displaced = new Map<string, tf.KernelConfig | undefined>();

/** Names of the overrides currently installed. */
export function installedWasmOverrides(): string[] {
  return [...displaced.keys()];
}

/**
 * Installs the overrides on the wasm backend (idempotent) and returns the names installed.
 * Call after the wasm backend is registered; the stock kernels stay reachable as fallbacks.
 */
export function registerWasmOverrides(): string[] {
  for (const spec of SPECS) {
    if (displaced.has(spec.name)) continue;
    const stock = tf.getKernel(spec.name, 'wasm');
    const original = stock ? (stock.kernelFunc as unknown as Kernel) : noOriginal(spec.name);
    if (stock) tf.unregisterKernel(spec.name, 'wasm');
    tf.registerKernel({
      kernelName: spec.name,
      backendName: 'wasm',
      kernelFunc: spec.make(original) as unknown as tf.KernelFunc,
    });
    displaced.set(spec.name, stock);
  }
  return installedWasmOverrides();
}

/** Restores the stock wasm kernels (used to benchmark the stock backend in the same process). */
export function unregisterWasmOverrides(): void {
  for (const [name, stock] of displaced) {
    tf.unregisterKernel(name, 'wasm');
    // The stock setupFunc already ran when the backend initialised; re-running it is not needed.
    if (stock) tf.registerKernel({ ...stock, setupFunc: undefined });
  }
  displaced.clear();
}
