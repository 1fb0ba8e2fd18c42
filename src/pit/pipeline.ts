/**
 * `runPipeline`: the whole PIT reproduction as one call — what `pitlab run` and the notebooks use.
 *
 * Responsibilities: resolve and check the run's options (failing before any work), run the stage
 * registry's graph against the artifact cache, and write `results.json` and the offline
 * `report.html`. What the stages compute lives in `stages/`, the results' shape in `results.ts`,
 * the page in `report/`.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { FORMATS } from '../data/load';
import { runtime } from '../runtime';
import { ArtifactStore } from './cache';
import { type PipelineConfig, type Profile, resolvePipelineConfig } from './config';
import { type GraphNode, inProcess, planGraph, runGraph } from './graph';
import { buildReport } from './report';
import { assembleResults, type Results } from './results';
import { EXPERIMENTS, type ExperimentName, pipelineStages, readJson } from './stages';
import { workerExecutor } from './workers';

export const ROOT = path.resolve(__dirname, '..', '..');

/**
 * The "project version" in every cache key: the package version plus a hash of the sources under
 * src/, so changing code (not only config) recomputes what it could have changed. Computed on
 * first use (it reads every source file), then remembered.
 */
export function projectVersion(): string {
  cachedVersion ??= `${JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version}+${sourceHash(path.join(ROOT, 'src'))}`;
  return cachedVersion;
}
let cachedVersion: string | undefined;

function sourceHash(dir: string): string {
  const hash = createHash('sha256');
  const walk = (d: string) => {
    const entries = readdirSync(d, { withFileTypes: true }).sort((a, b) =>
      a.name < b.name ? -1 : 1,
    );
    for (const entry of entries) {
      const full = path.join(d, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.ts')) hash.update(entry.name).update(readFileSync(full));
    }
  };
  walk(dir);
  return hash.digest('hex').slice(0, 10);
}

/** The stage cache: `PITLAB_CACHE` when set, else `.cache/stages` in the repository. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.PITLAB_CACHE?.trim()
    ? path.resolve(env.PITLAB_CACHE)
    : path.join(ROOT, '.cache', 'stages');
}

export interface RunOptions {
  profile?: Profile;
  seed?: number;
  /** Results directory; default `runs/<profile>-seed<seed>-<config key>`. */
  outDir?: string;
  /** A preference file to run on instead of the bundled synthetic task. */
  data?: { file: string; format?: string };
  /** Partial config merged over the profile (unknown keys are errors). */
  overrides?: unknown;
  /** Stage cache directory (default: `defaultCacheDir()`). */
  cacheDir?: string;
  /**
   * Stages run at once. 1 (the default) runs each stage in this process; more runs each stage in
   * its own worker process, overlapping independent stages (one per core is the useful most).
   */
  jobs?: number;
  onStatus?: (node: GraphNode) => void;
  onProgress?: (stage: string, fraction: number, detail?: string) => void;
}

export interface PipelineRun {
  results: Results;
  outDir: string;
  nodes: GraphNode[];
}

/** The run's config, seed, jobs and cache, every option checked before any work starts. */
function resolveRun(options: RunOptions) {
  const profile = options.profile ?? 'default';
  const config: PipelineConfig = resolvePipelineConfig(profile, options.overrides ?? {});
  if (options.data) {
    const { file, format } = options.data;
    if (format !== undefined && !(FORMATS as readonly string[]).includes(format)) {
      throw new Error(`--format must be one of ${FORMATS.join(', ')}, got '${format}'`);
    }
    config.data.source = path.resolve(file);
    if (format) config.data.format = format;
  }
  const seed = options.seed ?? 0;
  if (!Number.isInteger(seed) || seed < 0)
    throw new Error(`--seed must be a non-negative integer, got ${seed}`);
  const jobs = options.jobs ?? 1;
  if (!Number.isInteger(jobs) || jobs < 1)
    throw new Error(`--jobs must be a positive integer, got ${jobs}`);
  const store = new ArtifactStore(options.cacheDir ?? defaultCacheDir());
  return { config, profile, seed, jobs, store };
}

/** The graph with each stage's status, without running anything (`pitlab graph`). */
export function pipelineGraph(options: RunOptions = {}): GraphNode[] {
  const { config, seed, store } = resolveRun(options);
  return planGraph(pipelineStages(), { store, seed, version: projectVersion(), config });
}

/**
 * Runs the stage graph (up to `targets`, default all) against the cache, as `options` say; `dirOf`
 * gives each stage's artifact directory. For scripts that need only part of the pipeline.
 */
export async function runStages(options: RunOptions, targets?: string[]) {
  const { config, profile, seed, jobs, store } = resolveRun(options);
  const backend = await runtime.ready();
  store.sweep();
  const nodes = await runGraph(
    pipelineStages(),
    {
      store,
      seed,
      version: projectVersion(),
      config,
      jobs,
      execute: jobs > 1 ? workerExecutor(backend) : inProcess,
      onStatus: options.onStatus,
      onProgress: options.onProgress,
    },
    targets,
  );
  const dirOf = (name: string) => store.dir(name, nodes.find((n) => n.name === name)!.key);
  return { config, profile, seed, backend, jobs, nodes, dirOf };
}

/**
 * One experiment (`pitlab experiment <name>`): runs the graph up to that experiment's stage, so
 * only what it needs is trained or read from the cache, and returns its part of the results.
 */
export async function runExperiment(
  name: ExperimentName,
  options: RunOptions = {},
): Promise<{ result: unknown; nodes: GraphNode[] }> {
  if (!(name in EXPERIMENTS)) {
    throw new Error(`Unknown experiment '${name}'. Known: ${Object.keys(EXPERIMENTS).join(', ')}`);
  }
  const { stage, file } = EXPERIMENTS[name];
  const { nodes, dirOf } = await runStages(options, [stage]);
  return { result: readJson(dirOf(stage), file), nodes };
}

export async function runPipeline(options: RunOptions = {}): Promise<PipelineRun> {
  // Up to `evaluate`: stages only an experiment asks for (the loss ablation) stay out of a run.
  const { dirOf, nodes, ...run } = await runStages(options, ['evaluate']);
  const ran = nodes.filter((n) => n.seconds !== undefined);
  const results = assembleResults({ ...run, nodes: ran, version: projectVersion() }, dirOf);
  const key = ran.find((n) => n.name === 'evaluate')!.key.slice(0, 8);
  const outDir = options.outDir ?? path.join(ROOT, 'runs', `${run.profile}-seed${run.seed}-${key}`);
  mkdirSync(outDir, { recursive: true });
  writeFileSync(path.join(outDir, 'results.json'), `${JSON.stringify(results, null, 1)}\n`);
  writeFileSync(path.join(outDir, 'report.html'), buildReport(results, dirOf));
  return { results, outDir, nodes: ran };
}
