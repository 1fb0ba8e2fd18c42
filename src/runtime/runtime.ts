/**
 * The process-wide tensor runtime: one tfjs engine, initialised once, shared by the CLI, the
 * trainers and every notebook cell.
 */
import * as tf from '@tensorflow/tfjs';
import {
  AUTO_ORDER,
  autoEligible,
  type BackendName,
  isBackendName,
  probeBackends,
} from './backends';
import { registerWasmOverrides } from './kernels';
import { Rng } from './rng';
import { registerWebgpuBackend, type WebgpuAdapter } from './webgpu';

export interface RuntimeOptions {
  /** Backend to use; `auto` (or unset) takes `PITLAB_BACKEND`, else the fastest available. */
  backend?: BackendName | 'auto';
  /**
   * Install pitlab's faster kernels on the wasm backend (transposed matmul, transpose,
   * UnsortedSegmentSum). Off only to measure the stock backend. @defaultValue true
   */
  overrides?: boolean;
}

export interface RuntimeInfo {
  backend: BackendName;
  tfjsVersion: string;
  /** wasm only: SIMD and thread count in use. */
  simd?: boolean;
  threads?: number;
  /** `tensorflow`: whether the GPU build is in use; `webgpu`: whether the adapter is a real GPU. */
  gpu?: boolean;
  /** `webgpu` only: the adapter (vendor, architecture, device, description, software or not). */
  adapter?: WebgpuAdapter;
  overrides: string[];
  numTensors: number;
  numBytes: number;
  available: BackendName[];
  seed: number;
}

const DEFAULT_SEED = 0;

class Runtime {
  private initialised: Promise<BackendName> | undefined;
  private active: BackendName | undefined;
  private overridden: string[] = [];
  private rootSeed = DEFAULT_SEED;
  private simd: boolean | undefined;

  /** The tfjs namespace every module uses (there is exactly one in the process). */
  readonly tf = tf;

  /**
   * Initialises the engine once; later calls return the same backend. Asking for a different
   * backend after initialisation is an error rather than a silent switch, because tensors made
   * on the first backend would be copied lazily and timings would lie.
   */
  ready(options: RuntimeOptions = {}): Promise<BackendName> {
    const wanted = resolveWanted(options.backend);
    if (this.initialised) {
      return this.initialised.then((name) => {
        if (wanted !== 'auto' && wanted !== name) {
          throw new Error(
            `runtime.ready: already running on '${name}'; cannot switch to '${wanted}' in this process`,
          );
        }
        return name;
      });
    }
    this.initialised = this.init(wanted, options.overrides ?? true);
    this.initialised.catch(() => {
      this.initialised = undefined; // a failed init may be retried with other options
    });
    return this.initialised;
  }

  private async init(wanted: BackendName | 'auto', overrides: boolean): Promise<BackendName> {
    const probes = probeBackends();
    const available = probes.filter((p) => p.available).map((p) => p.name);
    let choice: BackendName;
    if (wanted === 'auto') {
      choice =
        AUTO_ORDER.find((name, i) => {
          const probe = probes.find((p) => p.name === name);
          return probe !== undefined && autoEligible(probe, i);
        }) ?? 'cpu';
    } else {
      if (!available.includes(wanted)) {
        const why = probes.find((p) => p.name === wanted)?.detail ?? 'unknown backend';
        const listing = probes.map((p) => `  ${p.available ? '✓' : '✗'} ${p.name}: ${p.detail}`);
        throw new Error(
          `Backend '${wanted}' is not available (${why}). Available: ${available.join(', ')}\n${listing.join('\n')}`,
        );
      }
      choice = wanted;
    }
    if (choice === 'webgpu') registerWebgpuBackend();
    if (!(await tf.setBackend(choice))) {
      throw new Error(
        `Backend '${choice}' failed to initialise. Available: ${available.join(', ')}`,
      );
    }
    await tf.ready();
    if (choice === 'wasm') {
      this.simd = Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'));
      if (overrides) this.overridden = registerWasmOverrides();
    }
    this.active = choice;
    return choice;
  }

  /** Backend in use; throws if `ready()` has not completed. */
  get backend(): BackendName {
    if (!this.active) throw new Error('runtime: call `await runtime.ready()` first');
    return this.active;
  }

  info(): RuntimeInfo {
    const mem = tf.memory();
    const backend = this.backend;
    const probe = probeBackends().find((p) => p.name === backend);
    return {
      backend,
      tfjsVersion: tf.version.tfjs,
      ...(backend === 'wasm' ? { simd: this.simd ?? false, threads: 1 } : {}),
      ...(backend === 'tensorflow' ? { gpu: probe?.gpu ?? false } : {}),
      ...(backend === 'webgpu' && probe?.adapter
        ? { gpu: probe.gpu ?? false, adapter: { ...probe.adapter } }
        : {}),
      overrides: [...this.overridden],
      numTensors: mem.numTensors,
      numBytes: mem.numBytes,
      available: probeBackends()
        .filter((p) => p.available)
        .map((p) => p.name),
      seed: this.rootSeed,
    };
  }

  /** Sets the root seed from which every random stream in pitlab is derived. */
  seed(n: number): void {
    if (!Number.isInteger(n) || n < 0) {
      throw new Error(`runtime.seed: expected a non-negative integer, got ${n}`);
    }
    this.rootSeed = n;
  }

  /**
   * An independent random stream for `label`, determined by the root seed and the label alone:
   * the same seed and label give the same numbers wherever and however often they are asked for.
   */
  rng(label: string): Rng {
    return new Rng(this.rootSeed).fork(label);
  }
}

function resolveWanted(option: RuntimeOptions['backend']): BackendName | 'auto' {
  const raw = option && option !== 'auto' ? option : (process.env.PITLAB_BACKEND ?? 'auto');
  if (raw === 'auto' || raw === '') return 'auto';
  if (!isBackendName(raw)) {
    throw new Error(
      `Unknown backend '${raw}' (from PITLAB_BACKEND or options). Known: auto, tensorflow, webgpu, wasm, cpu`,
    );
  }
  return raw;
}

const KEY = Symbol.for('pitlab.runtime');
type GlobalWithRuntime = typeof globalThis & { [KEY]?: Runtime };

/** The one runtime of this process (kept on globalThis so a second copy of the module shares it). */
const holder = globalThis as GlobalWithRuntime;
holder[KEY] ??= new Runtime();
export const runtime: Runtime = holder[KEY];
export type { Runtime };
