/**
 * What the tutorial notebooks share: the one place that picks the profile (`PITLAB_PROFILE`),
 * seed (`PITLAB_SEED`) and stage cache (`PITLAB_CACHE`), the pipeline run with its artifact
 * directories, and stage tables, metrics and summaries for display.
 *
 * Notebooks default to the `smoke` profile so that "Run All" on a fresh clone finishes in
 * minutes; `PITLAB_PROFILE=default pitlab notebook` gives the numbers worth reading.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type * as dfd from 'danfojs-node';
import { metricsFrame } from '../train/metrics';
import { table } from '../viz/notebook';
import { PROFILES, type Profile } from './config';
import type { GraphNode } from './graph';
import { defaultCacheDir, type PipelineRun, ROOT, type RunOptions, runPipeline } from './pipeline';
import { metricsFiles, pipelineStages } from './stages';

/** A path inside the repository (e.g. `repoPath('data', 'synthetic')`), wherever the kernel runs. */
export function repoPath(...parts: string[]): string {
  return path.join(ROOT, ...parts);
}

export interface NotebookSettings {
  profile: Profile;
  seed: number;
  cacheDir: string;
}

/** Profile, seed and cache directory of the notebooks, from the environment. */
export function notebookSettings(env: NodeJS.ProcessEnv = process.env): NotebookSettings {
  const profile = (env.PITLAB_PROFILE?.trim() || 'smoke') as Profile;
  if (!PROFILES.includes(profile)) {
    throw new Error(`PITLAB_PROFILE='${profile}' is not a profile. Known: ${PROFILES.join(', ')}`);
  }
  const seed = Number(env.PITLAB_SEED?.trim() || 0);
  if (!Number.isInteger(seed) || seed < 0) {
    throw new Error(`PITLAB_SEED must be a non-negative integer, got '${env.PITLAB_SEED}'`);
  }
  return { profile, seed, cacheDir: defaultCacheDir(env) };
}

export interface NotebookRun extends PipelineRun {
  settings: NotebookSettings;
  /** Artifact directory of every stage, by stage name. */
  dirs: Record<string, string>;
  /** Wall time of this call (seconds): small when every stage was a cache hit. */
  seconds: number;
}

/** The kernel's `progress(label, total)` global, or anything shaped like it. */
export type ProgressFactory = (
  label: string,
  total: number,
) => { update(done: number, note?: string): void; done(note?: string): void };

/**
 * `runPipeline` with the notebook settings. With a warm cache every stage is a hit and only the
 * results are re-read. Pass the kernel's `progress` to see each stage as it is hit or computed.
 */
export async function notebookRun(
  options: Pick<RunOptions, 'onStatus' | 'onProgress' | 'overrides' | 'data'> & {
    progress?: ProgressFactory;
  } = {},
): Promise<NotebookRun> {
  const { progress, ...rest } = options;
  const settings = notebookSettings();
  const bar = progress?.(`pipeline (${settings.profile})`, pipelineStages().length);
  let finished = 0;
  const t0 = performance.now();
  const run = await runPipeline({
    ...settings,
    ...rest,
    onStatus: (node) => {
      if (node.status !== 'running') finished++;
      bar?.update(finished, `${node.name}: ${node.status}`);
      rest.onStatus?.(node);
    },
    onProgress: (stage, fraction, detail) => {
      bar?.update(finished, `${stage} ${Math.round(fraction * 100)}% ${detail ?? ''}`);
      rest.onProgress?.(stage, fraction, detail);
    },
  });
  const seconds = (performance.now() - t0) / 1000;
  const hits = run.nodes.filter((n) => n.status === 'cached').length;
  bar?.done(`${seconds.toFixed(1)} s, ${hits}/${run.nodes.length} stages from the cache`);
  const dirs = Object.fromEntries(
    run.nodes.map((n) => [n.name, path.join(settings.cacheDir, n.name, n.key)]),
  );
  return { ...run, settings, dirs, seconds };
}

/** One row per stage: status (cached = hit, done = computed now) and seconds spent. */
export function stageTable(nodes: readonly GraphNode[]): dfd.DataFrame {
  return table(
    nodes.map((n) => ({
      stage: n.name,
      status: n.status,
      seconds: n.seconds ?? 0,
      depends_on: n.deps.join(', ') || '—',
      key: n.key.slice(0, 10),
    })),
    { digits: 2 },
  );
}

/** The metrics JSONL files a stage kept, each as a danfo frame (file name without suffix). */
export function stageMetrics(dir: string): Record<string, dfd.DataFrame> {
  if (!existsSync(dir)) throw new Error(`stageMetrics: no artifact at ${dir}`);
  return Object.fromEntries(
    metricsFiles(dir).map(({ label, file }) => [label, metricsFrame(file)]),
  );
}
