/** Discovers which tfjs backends this machine can run, and loads the optional native ones. */
import * as tf from '@tensorflow/tfjs';
import { probeWebgpuAdapter, type WebgpuAdapter } from './webgpu';

export type BackendName = 'tensorflow' | 'webgpu' | 'wasm' | 'cpu';

/**
 * Preference order when no backend is asked for: fastest first. Two entries are conditional (see
 * `autoEligible`): `tensorflow` ranks first only as tfjs-node-gpu with a GPU, and `webgpu` only on
 * a real GPU adapter; CPU-only `tensorflow` comes after `webgpu`.
 */
export const AUTO_ORDER: readonly BackendName[] = [
  'tensorflow',
  'webgpu',
  'tensorflow',
  'wasm',
  'cpu',
];

export const KNOWN_BACKENDS: readonly BackendName[] = ['tensorflow', 'webgpu', 'wasm', 'cpu'];

export interface BackendProbe {
  name: BackendName;
  available: boolean;
  /** Why it is unavailable, or which package provides it. */
  detail: string;
  /** For `tensorflow`: whether the GPU build is loaded and sees a device. For `webgpu`: whether the
   * adapter is a real GPU rather than a CPU/software one. */
  gpu?: boolean;
  /** For `webgpu`: the adapter Dawn reports. */
  adapter?: WebgpuAdapter;
}

/**
 * Whether auto selection may take `probe` at `position` in AUTO_ORDER: the first `tensorflow` slot
 * is for the GPU build only, the second for the CPU build; `webgpu` on a software adapter (lavapipe)
 * is far slower than wasm, so only an explicit request uses it.
 */
export function autoEligible(probe: BackendProbe, position: number): boolean {
  if (!probe.available) return false;
  if (probe.name === 'tensorflow') {
    return AUTO_ORDER.indexOf('tensorflow') === position ? probe.gpu === true : true;
  }
  if (probe.name === 'webgpu') return probe.gpu === true;
  return true;
}

/**
 * Native TensorFlow is optional: its install script downloads libtensorflow, so it is never a
 * dependency. When the user has installed it, requiring it registers a `tensorflow` backend into
 * this process's tfjs engine. (Our lockfile aliases `@tensorflow/tfjs-node` to plain tfjs for
 * danfo.js, so a successful require alone proves nothing: we check the registration.)
 */
function probeTensorflow(): BackendProbe {
  const tried: string[] = [];
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    try {
      require(pkg);
    } catch (err) {
      tried.push(`${pkg}: not installed (${(err as Error).message.split('\n')[0]})`);
      continue;
    }
    if (tf.findBackendFactory('tensorflow')) {
      return { name: 'tensorflow', available: true, detail: pkg, gpu: pkg.endsWith('-gpu') };
    }
    tried.push(`${pkg}: loaded but registered no 'tensorflow' backend in this tfjs`);
  }
  return { name: 'tensorflow', available: false, detail: tried.join('; ') };
}

function probeWasm(): BackendProbe {
  try {
    require('@tensorflow/tfjs-backend-wasm');
    return { name: 'wasm', available: true, detail: '@tensorflow/tfjs-backend-wasm' };
  } catch (err) {
    return { name: 'wasm', available: false, detail: (err as Error).message };
  }
}

function probeWebgpu(): BackendProbe {
  const res = probeWebgpuAdapter();
  if (!res.ok) return { name: 'webgpu', available: false, detail: res.reason };
  const a = res.adapter;
  const kind = a.software ? 'CPU/software adapter' : 'GPU adapter';
  return {
    name: 'webgpu',
    available: true,
    detail: `Dawn (webgpu) on ${a.description || a.device || a.vendor} [${kind}]`,
    gpu: !a.software,
    adapter: a,
  };
}

let probes: BackendProbe[] | undefined;

/** Probes every known backend once per process. */
export function probeBackends(): BackendProbe[] {
  probes ??= [
    probeTensorflow(),
    probeWebgpu(),
    probeWasm(),
    { name: 'cpu', available: true, detail: '@tensorflow/tfjs-backend-cpu' },
  ];
  return probes;
}

export function isBackendName(name: string): name is BackendName {
  return (KNOWN_BACKENDS as readonly string[]).includes(name);
}
