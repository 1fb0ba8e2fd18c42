/**
 * The `webgpu` backend in Node: Dawn's `dawn.node` (npm `webgpu`) under
 * `@tensorflow/tfjs-backend-webgpu`.
 *
 * Three things the browser gives that Node does not, supplied here:
 * - `navigator.gpu` and the `GPUBufferUsage`/`GPUMapMode`/... globals the tfjs backend reads at
 *   load time (it registers itself only when `navigator.gpu` exists).
 * - Synchronous readback. tfjs reads `dataSync()` on webgpu through `OffscreenCanvas`, which Node
 *   lacks, and pitlab reads synchronously in the optimizer (gradient norm) and the sampler. Dawn
 *   completes `mapAsync` only when it processes events, which dawn.node schedules with
 *   `setImmediate`; we route those scheduled ticks through a wrapper so a synchronous read can run
 *   them itself until the staging buffer is mapped.
 * - Process exit. dawn.node keeps ticking while a device exists, so a script that never destroys
 *   its device would never end. Its ticks are unref'd; a ref'd timer is held only while one of
 *   Dawn's promises is pending, so an `await tensor.data()` still keeps the process alive.
 *
 * Adapter discovery runs in a child process: loading Vulkan and a driver into every process that
 * only wanted wasm would cost memory and threads, and a crashing driver should not take the caller
 * down. The answer is cached in `PITLAB_WEBGPU_PROBE` so child processes inherit it.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** What Dawn reports about the adapter tfjs will use. */
export interface WebgpuAdapter {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** Dawn's `isFallbackAdapter`: a CPU implementation such as lavapipe or SwiftShader. */
  fallback: boolean;
  /** A CPU/software adapter (fallback, or a known software rasteriser by name). */
  software: boolean;
}

/** The adapter probe's result: either an adapter or why there is none. */
export type WebgpuProbe =
  | { ok: true; adapter: WebgpuAdapter; dawn: string }
  | { ok: false; reason: string; dawn?: string };

interface GpuLike {
  requestAdapter(options?: { powerPreference?: string }): Promise<AdapterLike | null>;
}
interface AdapterLike {
  info: Record<string, unknown>;
}
interface DawnModule {
  create(flags: string[]): GpuLike;
  globals: Record<string, unknown>;
}

const PROBE_ENV = 'PITLAB_WEBGPU_PROBE';
const NO_ADAPTER =
  'Dawn found no adapter (no Vulkan driver: install the GPU driver, or Mesa lavapipe for a CPU adapter, and libvulkan1)';
const SOFTWARE = /llvmpipe|lavapipe|swiftshader|softpipe|software|cpu/i;

/** Where `dawn.node` is: `PITLAB_DAWN_NODE` (the GPU bundle sets it), else the `webgpu` package. */
export function dawnNodePath(): string {
  const explicit = process.env.PITLAB_DAWN_NODE;
  if (explicit) return explicit;
  // `webgpu` is an ES module whose index uses import.meta; load its binary directly so this works
  // from CommonJS and from a bundle alike.
  const pkg = path.dirname(require.resolve('webgpu/package.json'));
  const arch = process.platform === 'darwin' ? 'universal' : process.arch;
  return path.join(pkg, 'dist', `${process.platform}-${arch}`, 'dawn.node');
}

/** Vulkan's loader and Mesa want a private runtime dir; containers and CI often have none. */
export function ensureXdgRuntimeDir(): void {
  if (process.env.XDG_RUNTIME_DIR) return;
  process.env.XDG_RUNTIME_DIR = mkdtempSync(path.join(os.tmpdir(), 'pitlab-xdg-'));
}

// ---------------------------------------------------------------------------------------------
// Dawn's event ticks

interface Tick {
  run: () => void;
}
const pendingTicks = new Set<Tick>();
let inflight = 0;
let keepAlive: NodeJS.Timeout | undefined;

/**
 * Installs the `setImmediate` wrapper before dawn.node is loaded. Only native callbacks (dawn.node's
 * tick) are tracked; everyone else's immediates pass straight through.
 */
function hookImmediates(): void {
  const real = globalThis.setImmediate;
  const toSource = Function.prototype.toString;
  const wrapped = (fn: (...args: unknown[]) => void, ...args: unknown[]): NodeJS.Immediate => {
    // dawn.node's tick is a native function made from a function template (it has a `prototype`);
    // promise resolvers, also native, have none and must keep their ordinary ref'd semantics.
    const dawnTick =
      typeof fn === 'function' &&
      Object.hasOwn(fn, 'prototype') &&
      toSource.call(fn).includes('[native code]');
    if (!dawnTick) {
      return real(fn, ...args);
    }
    const tick: Tick = { run: () => fn(...args) };
    pendingTicks.add(tick);
    const handle = real(() => {
      if (pendingTicks.delete(tick)) tick.run();
    });
    handle.unref();
    return handle;
  };
  Object.assign(wrapped, real);
  globalThis.setImmediate = wrapped as typeof setImmediate;
}

/** Keeps the process alive while a Dawn promise is pending (its own ticks are unref'd). */
function track<T>(promise: Promise<T>): Promise<T> {
  if (inflight++ === 0) keepAlive = setInterval(() => {}, 1 << 30);
  const done = () => {
    if (--inflight === 0 && keepAlive) {
      clearInterval(keepAlive);
      keepAlive = undefined;
    }
  };
  promise.then(done, done);
  return promise;
}

function trackPromises(proto: Record<string, unknown> | undefined, methods: string[]): void {
  if (!proto) return;
  for (const name of methods) {
    const original = proto[name];
    if (typeof original !== 'function') continue;
    proto[name] = function (this: unknown, ...args: unknown[]) {
      return track(original.apply(this, args) as Promise<unknown>);
    };
  }
}

/** Runs Dawn's queued ticks once, now. */
export function runDawnTicks(): void {
  for (const tick of [...pendingTicks]) {
    pendingTicks.delete(tick);
    tick.run();
  }
}

/** Runs Dawn's queued ticks on this stack until `done()`; sleeps briefly between idle rounds. */
function pumpUntil(done: () => boolean, what: string): void {
  const nap = new Int32Array(new SharedArrayBuffer(4));
  const deadline = performance.now() + 10 * 60_000;
  let idle = 0;
  while (!done()) {
    const [tick] = pendingTicks;
    if (!tick) {
      throw new Error(`webgpu: ${what}: Dawn has no pending event tick to wait on`);
    }
    pendingTicks.delete(tick);
    tick.run();
    if (done()) return;
    // Busy-polling would take a core from a software adapter's worker threads (lavapipe on CI).
    if (++idle > 64) Atomics.wait(nap, 0, 0, Math.min(1, idle / 1000));
    if (performance.now() > deadline) throw new Error(`webgpu: ${what}: timed out`);
  }
}

// ---------------------------------------------------------------------------------------------
// Loading Dawn

let dawn: DawnModule | undefined;
let gpu: GpuLike | undefined;

function loadDawn(): DawnModule {
  if (dawn) return dawn;
  ensureXdgRuntimeDir();
  hookImmediates();
  const mod = require(dawnNodePath()) as DawnModule;
  const g = mod.globals as Record<string, { prototype?: Record<string, unknown> }>;
  trackPromises(g.GPU?.prototype, ['requestAdapter']);
  trackPromises(g.GPUAdapter?.prototype, ['requestDevice']);
  trackPromises(g.GPUBuffer?.prototype, ['mapAsync']);
  trackPromises(g.GPUQueue?.prototype, ['onSubmittedWorkDone']);
  trackPromises(g.GPUDevice?.prototype, [
    'createComputePipelineAsync',
    'createRenderPipelineAsync',
    'popErrorScope',
  ]);
  dawn = mod;
  return mod;
}

function describe(info: Record<string, unknown>): WebgpuAdapter {
  const str = (k: string) => (typeof info[k] === 'string' ? (info[k] as string) : '');
  const adapter = {
    vendor: str('vendor'),
    architecture: str('architecture'),
    device: str('device'),
    description: str('description'),
    fallback: info.isFallbackAdapter === true,
  };
  const named = SOFTWARE.test(`${adapter.architecture} ${adapter.device} ${adapter.description}`);
  return { ...adapter, software: adapter.fallback || named };
}

/** In-process adapter query (what the probe child runs). */
export async function queryAdapter(): Promise<WebgpuProbe> {
  let where: string | undefined;
  try {
    where = dawnNodePath();
    gpu ??= loadDawn().create([]);
    const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
    if (!adapter) {
      return {
        ok: false,
        dawn: where,
        reason: NO_ADAPTER,
      };
    }
    return { ok: true, dawn: where, adapter: describe(adapter.info) };
  } catch (err) {
    const msg = (err as Error).message.split('\n')[0] ?? String(err);
    return { ok: false, ...(where ? { dawn: where } : {}), reason: `dawn.node: ${msg}` };
  }
}

let probed: WebgpuProbe | undefined;

/**
 * Whether Dawn loads and has an adapter, asked of a child process once per process tree (synchronous
 * so that backend discovery stays synchronous).
 */
export function probeWebgpuAdapter(): WebgpuProbe {
  if (probed) return probed;
  const cached = process.env[PROBE_ENV];
  if (cached) {
    try {
      probed = JSON.parse(cached) as WebgpuProbe;
      return probed;
    } catch {
      // a hand-edited or truncated value: probe again
    }
  }
  let where: string;
  try {
    where = dawnNodePath();
  } catch (err) {
    probed = {
      ok: false,
      reason: `the 'webgpu' package is not installed (${(err as Error).message.split('\n')[0]})`,
    };
    process.env[PROBE_ENV] = JSON.stringify(probed);
    return probed;
  }
  ensureXdgRuntimeDir();
  // Plain JavaScript, so the probe needs neither tsx nor this file (it also runs from the bundle).
  const script = `
    const out = (r) => { process.stdout.write('\\n' + JSON.stringify(r) + '\\n'); process.exit(0); };
    let gpu;
    try { gpu = require(${JSON.stringify(where)}).create([]); } catch (e) { out({ error: String(e.message).split('\\n')[0] }); }
    gpu.requestAdapter({ powerPreference: 'high-performance' }).then(
      (a) => out(a ? { info: { vendor: a.info.vendor, architecture: a.info.architecture, device: a.info.device,
        description: a.info.description, isFallbackAdapter: a.info.isFallbackAdapter } } : {}),
      (e) => out({ error: String(e.message) }));`;
  const res = spawnSync(process.execPath, ['-e', script], {
    encoding: 'utf8',
    timeout: 60_000,
    env: process.env,
  });
  const line = res.stdout
    ?.split('\n')
    .reverse()
    .find((l) => l.startsWith('{'));
  if (res.status === 0 && line) {
    const raw = JSON.parse(line) as { info?: Record<string, unknown>; error?: string };
    probed = raw.info
      ? { ok: true, dawn: where, adapter: describe(raw.info) }
      : { ok: false, dawn: where, reason: raw.error ? `dawn.node: ${raw.error}` : NO_ADAPTER };
  } else {
    const why = res.error?.message ?? (res.stderr || '').trim().split('\n').slice(-3).join(' | ');
    probed = {
      ok: false,
      dawn: where,
      reason: `adapter probe failed (exit ${res.status}): ${why}`,
    };
  }
  process.env[PROBE_ENV] = JSON.stringify(probed);
  return probed;
}

/** A probe result for a process that cannot spawn (the bundle sets it from its own query). */
export function setWebgpuProbe(result: WebgpuProbe): void {
  probed = result;
  process.env[PROBE_ENV] = JSON.stringify(result);
}

// ---------------------------------------------------------------------------------------------
// The tfjs backend

interface TensorData {
  values?: unknown;
  dtype: string;
  resource?: { size: number } | null;
}
interface WebgpuBackendLike {
  tensorMap: { get(id: object): TensorData };
  bufferManager: {
    acquireBuffer(size: number, usage: number): StagingBuffer;
    releaseBuffer(buffer: StagingBuffer): void;
  };
  commandEncoder: { copyBufferToBuffer(...args: unknown[]): void };
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  submitQueue(): void;
  convertAndCacheOnCPU(id: object, values: unknown): unknown;
  readSync(id: object): unknown;
}
interface StagingBuffer {
  size: number;
  mapState: string;
  mapAsync(mode: number): Promise<void>;
  getMappedRange(): ArrayBuffer;
  unmap(): void;
}

let registered = false;

/**
 * Exposes Dawn as `navigator.gpu`, loads `@tensorflow/tfjs-backend-webgpu` (which registers the
 * `webgpu` backend) and gives it a synchronous readback that works in Node.
 */
export function registerWebgpuBackend(): void {
  if (registered) return;
  const mod = loadDawn();
  Object.assign(globalThis, mod.globals);
  gpu ??= mod.create([]);
  const nav = (globalThis as { navigator?: object }).navigator;
  if (nav) {
    Object.defineProperty(nav, 'gpu', { value: gpu, configurable: true });
  } else {
    Object.defineProperty(globalThis, 'navigator', {
      value: { gpu },
      configurable: true,
      writable: true,
    });
  }
  const pkg = require('@tensorflow/tfjs-backend-webgpu') as {
    WebGPUBackend: { prototype: WebgpuBackendLike };
  };
  const tf = require('@tensorflow/tfjs') as typeof import('@tensorflow/tfjs');
  const mapRead = (mod.globals.GPUMapMode as { READ: number }).READ;
  const usage = mod.globals.GPUBufferUsage as { COPY_DST: number; MAP_READ: number };
  const stockReadSync = pkg.WebGPUBackend.prototype.readSync;

  pkg.WebGPUBackend.prototype.readSync = function (this: WebgpuBackendLike, id: object) {
    const data = this.tensorMap.get(id);
    if (data.values != null || data.dtype === 'string' || data.dtype === 'complex64') {
      // cached on the CPU already, or complex (its parts come back through this same method)
      return stockReadSync.call(this, id);
    }
    const buffer = data.resource;
    if (!buffer) throw new Error('webgpu readSync: tensor has neither values nor a GPU buffer');
    // The same steps as the backend's async getBufferData, with the wait done in place.
    const staging = this.bufferManager.acquireBuffer(buffer.size, usage.COPY_DST | usage.MAP_READ);
    this.ensureCommandEncoderReady();
    this.endComputePassEncoder();
    this.commandEncoder.copyBufferToBuffer(buffer, 0, staging, 0, buffer.size);
    this.submitQueue();
    staging.mapAsync(mapRead).catch(() => {}); // failure shows as mapState; reported below
    pumpUntil(() => staging.mapState !== 'pending', 'readSync');
    if (staging.mapState !== 'mapped') {
      throw new Error('webgpu readSync: mapping the staging buffer failed (device lost?)');
    }
    const bytes = staging.getMappedRange().slice(0);
    staging.unmap();
    this.bufferManager.releaseBuffer(staging);
    const values = tf.util.convertBackendValuesAndArrayBuffer(bytes, data.dtype as 'float32');
    return this.convertAndCacheOnCPU(id, values);
  };
  chunkAddN(tf);
  registered = true;
}

/**
 * The stock AddN binds every input as a storage buffer, and tfjs requests the device with WebGPU's
 * default of 8 per stage, so summing more than 7 tensors (the tied embedding's gradient, gathered
 * from many uses) yields an invalid pipeline and garbage. Sum in chunks that fit the device limit.
 */
function chunkAddN(tf: typeof import('@tensorflow/tfjs')): void {
  const stock = tf.getKernel('AddN', 'webgpu');
  if (!stock) return;
  const run = stock.kernelFunc as (args: {
    inputs: unknown;
    backend: unknown;
    attrs?: unknown;
  }) => import('@tensorflow/tfjs').TensorInfo;
  tf.unregisterKernel('AddN', 'webgpu');
  tf.registerKernel({
    kernelName: 'AddN',
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const device = (
        backend as { device: { limits: { maxStorageBuffersPerShaderStage: number } } }
      ).device;
      const max = Math.max(2, device.limits.maxStorageBuffersPerShaderStage - 1);
      let list = inputs as unknown as import('@tensorflow/tfjs').TensorInfo[];
      const temps: import('@tensorflow/tfjs').TensorInfo[] = [];
      while (list.length > max) {
        const next: import('@tensorflow/tfjs').TensorInfo[] = [];
        for (let i = 0; i < list.length; i += max) {
          const chunk = list.slice(i, i + max);
          if (chunk.length === 1) {
            next.push(chunk[0]!);
          } else {
            const partial = run({ inputs: chunk, backend, attrs });
            temps.push(partial);
            next.push(partial);
          }
        }
        list = next;
      }
      const out = run({ inputs: list, backend, attrs });
      for (const t of temps) (backend as { disposeData(id: object): void }).disposeData(t.dataId);
      return out;
    },
  });
}
