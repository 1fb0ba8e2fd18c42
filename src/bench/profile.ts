/** `tf.profile` kernel times summed per key: the floor bench and the profile-* scripts share it. */
import type * as tf from '@tensorflow/tfjs';

export type ProfiledKernel = Awaited<ReturnType<typeof tf.profile>>['kernels'][number];

export interface KernelTally {
  /** Kernel time over all kernels, ms. */
  total: number;
  /** Time and call count per key, most time first. */
  rows: Array<[key: string, entry: { ms: number; n: number }]>;
}

/** Sums kernel time and counts calls per `keyOf(kernel)`; kernels without a time count as 0 ms. */
export function tallyKernels(
  kernels: readonly ProfiledKernel[],
  keyOf: (k: ProfiledKernel) => string,
): KernelTally {
  const byKey = new Map<string, { ms: number; n: number }>();
  for (const k of kernels) {
    const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    const key = keyOf(k);
    const e = byKey.get(key) ?? { ms: 0, n: 0 };
    e.ms += ms;
    e.n += 1;
    byKey.set(key, e);
  }
  const total = [...byKey.values()].reduce((a, b) => a + b.ms, 0);
  return { total, rows: [...byKey].sort((a, b) => b[1].ms - a[1].ms) };
}

const MATMUL_KERNELS = new Set(['BatchMatMul', '_FusedMatMul', 'MatMul']);

/** The matmul kernels' own time (ms) and count among `kernels`, and all kernels' time. */
export function matmulShare(kernels: readonly ProfiledKernel[]): {
  mm: number;
  n: number;
  total: number;
} {
  const tally = tallyKernels(kernels, (k) => (MATMUL_KERNELS.has(k.name) ? 'matmul' : 'other'));
  const mm = tally.rows.find(([key]) => key === 'matmul')?.[1] ?? { ms: 0, n: 0 };
  return { mm: mm.ms, n: mm.n, total: tally.total };
}
