/**
 * Kernel microbenchmarks for the shapes a GPT (V=256, T=64, d_model=128, 4 heads, batch 16)
 * uses forward and backward: stock wasm vs wasm with pitlab's overrides vs cpu.
 *
 * Each timing is the median of several runs (the machines this runs on are shared and noisy),
 * after two warm-up runs. wasm and cpu run a kernel synchronously, so the call is the kernel: the
 * result is not read back, because copying it into a fresh JS array (and collecting those arrays)
 * cost up to 2 ms for a 512 KB output, more than the transposes measured. Backends alternate per
 * workload, so none is measured on a fresher heap than another.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { installedWasmOverrides, registerWasmOverrides, unregisterWasmOverrides } from './index';

export type KernelBackend = 'wasm' | 'wasm+overrides' | 'cpu';

export interface KernelBenchRow {
  workload: string;
  backend: KernelBackend;
  throughput: number;
  unit: 'GFLOP/s' | 'GB/s' | 'Mrows/s';
  /** Median milliseconds per call. */
  ms: number;
}

export interface KernelBenchOptions {
  backends?: KernelBackend[];
  /** Only workloads whose name contains this substring. */
  filter?: string;
  /** Time budget per workload and backend, in ms (more runs when fast). @defaultValue 400 */
  budgetMs?: number;
}

interface Workload {
  name: string;
  /** Work per call: FLOPs for matmul, bytes moved for transpose, rows for segment ops. */
  work: number;
  unit: KernelBenchRow['unit'];
  inputs: Array<{ shape: number[]; dtype?: 'int32'; max?: number }>;
  run(xs: tf.Tensor[]): tf.Tensor;
}

function mm(label: string, aShape: number[], bShape: number[], tA = false, tB = false): Workload {
  const r = aShape.length;
  const m = tA ? aShape[r - 1] : aShape[r - 2];
  const k = tA ? aShape[r - 2] : aShape[r - 1];
  const n = tB ? bShape[bShape.length - 2] : bShape[bShape.length - 1];
  const batch = aShape.slice(0, -2).reduce((x, y) => x * y, 1);
  const t = tA && tB ? ' tA+tB' : tA ? ' tA' : tB ? ' tB' : '';
  return {
    name: `matmul ${label} [${aShape}]x[${bShape}]${t}`,
    work: 2 * batch * m * n * k,
    unit: 'GFLOP/s',
    inputs: [{ shape: aShape }, { shape: bShape }],
    run: ([a, b]) => tf.matMul(a, b, tA, tB),
  };
}

function tr(shape: number[], perm: number[]): Workload {
  const size = shape.reduce((x, y) => x * y, 1);
  return {
    name: `transpose [${shape}] perm [${perm}]`,
    work: 8 * size,
    unit: 'GB/s',
    inputs: [{ shape }],
    run: ([x]) => tf.transpose(x, perm),
  };
}

/** The reference GPT's matmuls (forward and both gradient forms), transposes and embeddings. */
export function gptWorkloads(): Workload[] {
  const dense: Workload[] = [];
  for (const [k, n] of [
    [128, 384],
    [128, 512],
    [512, 128],
  ]) {
    dense.push(mm('dense', [1024, k], [k, n]));
    dense.push(mm('dense dX', [1024, n], [k, n], false, true)); // dY·Wᵀ
    dense.push(mm('dense dW', [1024, k], [1024, n], true, false)); // Xᵀ·dY
  }
  return [
    ...dense,
    mm('dense rank3', [16, 64, 128], [128, 512]),
    mm('attn QKt', [64, 64, 32], [64, 64, 32], false, true),
    mm('attn PV', [64, 64, 64], [64, 64, 32]),
    mm('attn grad', [64, 64, 64], [64, 64, 32], true, false),
    mm('both', [128, 1024], [512, 128], true, true),
    tr([16, 64, 4, 32], [0, 2, 1, 3]),
    tr([16, 4, 64, 32], [0, 2, 1, 3]),
    tr([16, 64, 3, 4, 32], [2, 0, 3, 1, 4]),
    tr([1024, 512], [1, 0]),
    {
      name: 'gather [256,128] by [1024] ids',
      work: 1024,
      unit: 'Mrows/s',
      inputs: [{ shape: [256, 128] }, { shape: [1024], dtype: 'int32', max: 256 }],
      run: ([x, ids]) => tf.gather(x, ids),
    },
    {
      name: 'unsortedSegmentSum [1024,128] into 256',
      work: 1024,
      unit: 'Mrows/s',
      inputs: [{ shape: [1024, 128] }, { shape: [1024], dtype: 'int32', max: 256 }],
      run: ([x, ids]) => tf.unsortedSegmentSum(x, ids as tf.Tensor1D, 256),
    },
  ];
}

/** Deterministic inputs so every backend multiplies the same numbers. */
function makeInputs(w: Workload): tf.Tensor[] {
  let state = 12345;
  const next = () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state / 2 ** 32;
  };
  return w.inputs.map(({ shape, dtype, max }) => {
    const size = shape.reduce((x, y) => x * y, 1);
    if (dtype === 'int32') {
      return tf.tensor(
        Int32Array.from({ length: size }, () => Math.floor(next() * max!)),
        shape,
      );
    }
    return tf.tensor(
      Float32Array.from({ length: size }, () => next() * 2 - 1),
      shape,
    );
  });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Median ms per call of `w` on the current backend, or undefined if it cannot run there. */
export function timeWorkload(w: Workload, budgetMs = 400): number | undefined {
  const xs = makeInputs(w);
  try {
    const once = () => {
      const t0 = performance.now();
      const y = w.run(xs);
      const ms = performance.now() - t0;
      y.dispose();
      return ms;
    };
    const first = once();
    once();
    const reps = Math.max(3, Math.min(30, Math.ceil(budgetMs / Math.max(first, 0.05))));
    const times: number[] = [];
    for (let i = 0; i < reps; i++) times.push(once());
    return median(times);
  } catch {
    return undefined; // e.g. a kernel the backend lacks
  } finally {
    for (const x of xs) x.dispose();
  }
}

/**
 * Runs the GPT kernel workloads on each backend asked for and restores the backend and the
 * override state that were active before. Workloads a backend cannot run give no row.
 */
export async function benchKernels(options: KernelBenchOptions = {}): Promise<KernelBenchRow[]> {
  const backends = options.backends ?? ['wasm', 'wasm+overrides', 'cpu'];
  const workloads = gptWorkloads().filter(
    (w) => !options.filter || w.name.includes(options.filter),
  );
  const before = tf.getBackend();
  const hadOverrides = installedWasmOverrides().length > 0;
  const rows: KernelBenchRow[] = [];
  try {
    for (const w of workloads) {
      for (const backend of backends) {
        const name = backend === 'cpu' ? 'cpu' : 'wasm';
        if (!tf.findBackendFactory(name) || !(await tf.setBackend(name))) continue;
        if (backend === 'wasm') unregisterWasmOverrides();
        if (backend === 'wasm+overrides') registerWasmOverrides();
        const ms = timeWorkload(w, options.budgetMs);
        if (ms === undefined) continue;
        const scale = w.unit === 'Mrows/s' ? 1e3 : 1e6;
        rows.push({ workload: w.name, backend, throughput: w.work / ms / scale, unit: w.unit, ms });
      }
    }
  } finally {
    if (tf.findBackend('wasm')) {
      if (hadOverrides) {
        await tf.setBackend('wasm');
        registerWasmOverrides();
      } else unregisterWasmOverrides();
    }
    if (before) await tf.setBackend(before);
  }
  return rows;
}
