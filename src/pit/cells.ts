/**
 * PIT stages as notebook cells: `stage(name, inputs, sections)` runs one registered stage, or
 * reads it back, against the pipeline's own artifact store and keys, so a notebook and
 * `pitlab run` share one cache.
 *
 *   const reward = pitConfig().reward;                          // a cell of its own
 *   const rmRp = await stage('rm_rp', { tok, sftMp }, { reward });
 *
 * Inputs are the handles earlier `stage()` calls returned; `sections` are the config sections the
 * stage reads, each a name of its own, so a kernel that tracks names between cells sees the same
 * dependencies as the stage graph. Reading a section that was not passed is an error: a cell that
 * left one out would not be marked stale when it changes.
 */
import path from 'node:path';
import type * as dfd from 'danfojs-node';
import { runtime } from '../runtime';
import { ArtifactStore } from './cache';
import { type PipelineConfig, resolvePipelineConfig } from './config';
import { type GraphNode, nodeKey, runStage } from './graph';
import {
  type NotebookSettings,
  notebookSettings,
  type ProgressFactory,
  stageMetrics,
} from './notebook';
import { projectVersion } from './pipeline';
import {
  type ArtifactFile,
  type PipelineStage,
  pipelineStages,
  readJson,
  readSummary,
} from './stages';

/** The notebook profile's config (`PITLAB_PROFILE`, `smoke` by default) with `overrides` merged. */
export function pitConfig(overrides: unknown = {}, settings = notebookSettings()): PipelineConfig {
  return resolvePipelineConfig(settings.profile, overrides);
}

/** One stage's artifact, as a cell holds it: its node in the graph plus readers of its files. */
export interface StageHandle extends GraphNode {
  /** `cached`: read back from the store; `done`: computed by this call. */
  status: 'cached' | 'done';
  seconds: number;
  /** The artifact directory (`<cache>/<stage>/<key>`). */
  dir: string;
  /** The stage's `summary.json` (`{}` for a stage without one). */
  summary<T = Record<string, unknown>>(): T;
  /** The trainer metric logs the stage kept, as danfo frames by label. */
  metrics(): Record<string, dfd.DataFrame>;
  read<T>(file: ArtifactFile): T;
}

export interface StageOptions {
  /** Profile, seed and cache (default: `notebookSettings()`, from the environment). */
  settings?: Partial<NotebookSettings>;
  /** A progress bar factory; default: the kernel's `progress` global when there is one. */
  progress?: ProgressFactory;
}

/**
 * Runs registered stage `name` on the artifacts of `inputs` with the config `sections` (merged
 * over the profile, checked as a `--config` is), or returns its cached artifact when its key,
 * the same key `pitlab run` computes, already has one. The registry's leak check and the
 * runner's declared-artifact check apply as in the pipeline.
 */
export async function stage(
  name: string,
  inputs: Record<string, StageHandle>,
  sections: Partial<PipelineConfig>,
  options: StageOptions = {},
): Promise<StageHandle> {
  const settings = { ...notebookSettings(), ...options.settings };
  const store = new ArtifactStore(settings.cacheDir);
  const def = registered(name);
  const handles = inputsOf(def, inputs, store);
  const config = sectionView(def, settings.profile, sections);
  const keys = Object.fromEntries(Object.entries(handles).map(([k, h]) => [k, h.key]));
  const key = nodeKey(def, keys, {
    config: config.view,
    seed: settings.seed,
    version: projectVersion(),
  });
  config.checkPassed();
  if (store.has(name, key)) return handle(def, store, key, 'cached', 0);

  await runtime.ready();
  store.sweep();
  const factory = options.progress ?? kernelProgress();
  const bar = factory?.(name, 100);
  const t0 = performance.now();
  const dirs = Object.fromEntries(Object.entries(handles).map(([k, h]) => [k, h.dir]));
  await runStage(def, key, dirs, {
    store,
    config: config.view,
    seed: settings.seed,
    progress: (f, detail) => bar?.update(Math.round(100 * f), detail),
  }).catch((err: Error) => {
    bar?.done(`failed: ${err.message}`);
    throw err;
  });
  const seconds = (performance.now() - t0) / 1000;
  bar?.done(`${seconds.toFixed(1)} s`);
  return handle(def, store, key, 'done', seconds);
}

function registered(name: string): PipelineStage {
  const stages = pipelineStages();
  const def = stages.find((s) => s.name === name);
  if (!def) {
    throw new Error(`Unknown stage '${name}'. Stages: ${stages.map((s) => s.name).join(', ')}`);
  }
  return def;
}

const isHandle = (v: unknown): v is StageHandle =>
  typeof v === 'object' && v !== null && 'key' in v && 'dir' in v && 'name' in v;

/**
 * The handle of each declared input, by input name. Handles are matched by the stage they come
 * from, so the caller's own names (`{ tok, sftMp }`) need not be the stage's input names.
 */
function inputsOf(
  def: PipelineStage,
  given: Record<string, StageHandle>,
  store: ArtifactStore,
): Record<string, StageHandle> {
  const declared = Object.entries(def.deps);
  const wanted = declared.map(([, d]) => d);
  const values = Object.entries(given);
  const notHandles = values.filter(([, v]) => !isHandle(v)).map(([k]) => k);
  const extra = values.filter(([, v]) => isHandle(v) && !wanted.includes(v.name));
  const byStage = new Map(values.filter(([, v]) => isHandle(v)).map(([, v]) => [v.name, v]));
  const missing = wanted.filter((d) => !byStage.has(d));
  const problems = [
    missing.length > 0 && `missing: ${missing.join(', ')}`,
    notHandles.length > 0 && `not stage handles: ${notHandles.join(', ')}`,
    extra.length > 0 && `not its deps: ${extra.map(([k, v]) => `${k} (${v.name})`).join(', ')}`,
  ].filter(Boolean);
  if (problems.length > 0) {
    const deps = wanted.length > 0 ? wanted.join(', ') : 'none';
    throw new Error(
      `stage '${def.name}' takes the handles of its declared deps (${deps}); ${problems.join('; ')}`,
    );
  }
  for (const h of byStage.values()) {
    if (!store.has(h.name, h.key)) {
      throw new Error(
        `stage '${def.name}': input '${h.name}' is not in ${store.root}; re-run its cell`,
      );
    }
  }
  return Object.fromEntries(declared.map(([input, d]) => [input, byStage.get(d)!]));
}

/**
 * The stage's view of the config: the profile with `sections` merged in. Sections read but not
 * passed are recorded while the key is made (`checkPassed` then names them all) and throw when
 * the stage itself reads one, so every section a stage reads is a name its cell reads.
 */
function sectionView(def: PipelineStage, profile: NotebookSettings['profile'], sections: object) {
  const config = resolvePipelineConfig(profile, sections);
  const passed = new Set(Object.keys(sections));
  const unpassed = new Set<string>();
  let strict = false;
  const view = new Proxy(config, {
    get(target, key, receiver) {
      if (typeof key === 'string' && key in target && !passed.has(key)) {
        if (strict) throw new Error(unpassedMessage(def.name, [key], passed));
        unpassed.add(key);
      }
      return Reflect.get(target, key, receiver);
    },
  });
  return {
    view,
    checkPassed() {
      if (unpassed.size > 0) throw new Error(unpassedMessage(def.name, [...unpassed], passed));
      strict = true;
    },
  };
}

function unpassedMessage(name: string, missing: string[], passed: Set<string>): string {
  const all = [...passed, ...missing].join(', ');
  return `stage '${name}' reads config.${missing.join(', config.')}, not passed: call stage('${name}', inputs, { ${all} })`;
}

function kernelProgress(): ProgressFactory | undefined {
  const global = (globalThis as { progress?: unknown }).progress;
  return typeof global === 'function' ? (global as ProgressFactory) : undefined;
}

function handle(
  def: PipelineStage,
  store: ArtifactStore,
  key: string,
  status: StageHandle['status'],
  seconds: number,
): StageHandle {
  const dir = store.dir(def.name, key);
  const line = `${def.name}: ${status} (${seconds.toFixed(1)} s), key ${key.slice(0, 10)}, ${path.relative(store.root, dir)}`;
  return {
    name: def.name,
    deps: Object.values(def.deps),
    key,
    status,
    seconds,
    dir,
    summary: <T>() => readSummary<T>(dir),
    metrics: () => stageMetrics(dir),
    read: <T>(file: ArtifactFile) => readJson<T>(dir, file),
    // how the kernel shows a cell that ends with a handle
    [Symbol.for('Jupyter.display')]: () => ({ 'text/plain': line }),
  } as StageHandle;
}
