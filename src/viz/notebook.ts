/**
 * What the tutorial notebooks share: the one place that picks the profile (`PITLAB_PROFILE`),
 * seed (`PITLAB_SEED`) and stage cache (`PITLAB_CACHE`), the pipeline run with its artifact
 * directories, and small helpers that turn rows into danfo tables and plotly figures.
 *
 * Notebooks default to the `smoke` profile so that "Run All" on a fresh clone finishes in
 * minutes; `PITLAB_PROFILE=default pitlab notebook` gives the numbers worth reading.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import * as dfd from 'danfojs-node';
import type { Tokenizer } from '../data';
import type { RewardModel } from '../models/reward';
import { PROFILES, type Profile } from '../pit/config';
import type { GraphNode } from '../pit/graph';
import {
  DEFAULT_CACHE,
  type PipelineRun,
  pipelineStages,
  ROOT,
  type RunOptions,
  runPipeline,
} from '../pit/pipeline';
import { padRight, rpitInput } from '../train/batches';
import { metricsFrame } from '../train/metrics';
import type { Figure } from './data';

/** A path inside the repository (e.g. `repoPath('data', 'synthetic')`), wherever the kernel runs. */
export function repoPath(...parts: string[]): string {
  return path.join(ROOT, ...parts);
}

/**
 * The shared HH-RLHF sample (Anthropic harmless-base, test split, part 1): `shared/` beside the
 * repository, as CI clones it. Undefined when it is not there.
 */
export function sharedHhFile(): string | undefined {
  const file = path.join(
    ROOT,
    '..',
    'shared',
    'data',
    'hh-rlhf',
    'harmless-base-test.part1.jsonl.gz',
  );
  return existsSync(file) ? file : undefined;
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
  const cacheDir = env.PITLAB_CACHE?.trim() ? path.resolve(env.PITLAB_CACHE) : DEFAULT_CACHE;
  return { profile, seed, cacheDir };
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
  const out: Record<string, dfd.DataFrame> = {};
  for (const f of readdirSync(dir).sort()) {
    if (f.endsWith('.metrics.jsonl')) {
      out[f.slice(0, -'.metrics.jsonl'.length)] = metricsFrame(path.join(dir, f));
    }
  }
  return out;
}

/** A stage's `summary.json` (SFT and reward stages write one). */
export function stageSummary(dir: string): Record<string, unknown> {
  const file = path.join(dir, 'summary.json');
  return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : {};
}

type Cell = string | number | boolean | null;

function formatCell(v: unknown, digits: number): Cell {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return String(v);
    return Number.isInteger(v) ? v : Number(v.toFixed(digits));
  }
  if (typeof v === 'string' || typeof v === 'boolean') return v;
  if (Array.isArray(v) && v.every((x) => typeof x === 'number')) {
    return `[${v.map((x) => (x as number).toFixed(digits)).join(', ')}]`;
  }
  return JSON.stringify(v);
}

/**
 * Rows of plain objects as a danfo DataFrame for display: numbers rounded to `digits`, number
 * arrays (confidence intervals) as "[lo, hi]", nested objects as JSON. Columns follow the
 * first row's keys, then any new keys in order of appearance.
 */
export function table(
  rows: ReadonlyArray<Record<string, unknown>>,
  opts: { digits?: number; columns?: readonly string[] } = {},
): dfd.DataFrame {
  const digits = opts.digits ?? 3;
  const columns = opts.columns ?? [...new Set(rows.flatMap((r) => Object.keys(r)))];
  if (rows.length === 0) return new dfd.DataFrame([], { columns: [...columns] });
  const data = rows.map((r) => columns.map((c) => formatCell(r[c], digits)));
  // Mixed columns (a number and a string) would upset danfo's dtype inference: stringify them.
  for (let c = 0; c < columns.length; c++) {
    const kinds = new Set(data.map((row) => (row[c] === null ? 'null' : typeof row[c])));
    kinds.delete('null');
    if (kinds.size > 1) for (const row of data) row[c] = row[c] === null ? null : String(row[c]);
  }
  return new dfd.DataFrame(data, { columns: [...columns] });
}

/** Bars with 95% CI error bars: one bar per row, labelled by `label(row)`. */
export function barCiFigure(
  rows: ReadonlyArray<{ mean: number; ci95: readonly [number, number] | number[] }>,
  label: (row: number) => string,
  opts: { title: string; yTitle: string; color?: (row: number) => string } = {
    title: '',
    yTitle: '',
  },
): Figure {
  return {
    data: [
      {
        type: 'bar',
        x: rows.map((_, i) => label(i)),
        y: rows.map((r) => r.mean),
        error_y: {
          type: 'data',
          symmetric: false,
          array: rows.map((r) => r.ci95[1]! - r.mean),
          arrayminus: rows.map((r) => r.mean - r.ci95[0]!),
        },
        ...(opts.color ? { marker: { color: rows.map((_, i) => opts.color!(i)) } } : {}),
      },
    ],
    layout: {
      title: { text: opts.title },
      yaxis: { title: { text: opts.yTitle } },
      showlegend: false,
    },
  };
}

/** One line of `curvesFigure`: column `key` of a metrics frame against its `step` column. */
export interface Curve {
  name: string;
  frame: dfd.DataFrame;
  key: string;
  /** Added to every step (to lay curriculum rounds end to end). @defaultValue 0 */
  stepOffset?: number;
  dash?: 'solid' | 'dash' | 'dot';
}

/** Several metric curves, possibly from different stages, on one chart. */
export function curvesFigure(
  curves: readonly Curve[],
  opts: { title: string; yTitle: string; xTitle?: string },
): Figure {
  const data = curves.flatMap((c) => {
    if (!c.frame.columns.includes(c.key)) return [];
    const steps = c.frame.column('step').values as number[];
    const values = c.frame.column(c.key).values as number[];
    const x: number[] = [];
    const y: number[] = [];
    values.forEach((v, i) => {
      if (Number.isFinite(v)) {
        x.push(steps[i]! + (c.stepOffset ?? 0));
        y.push(v);
      }
    });
    return [
      {
        type: 'scatter',
        mode: 'lines+markers',
        name: c.name,
        x,
        y,
        ...(c.dash ? { line: { dash: c.dash } } : {}),
      },
    ];
  });
  return {
    data,
    layout: {
      title: { text: opts.title },
      xaxis: { title: { text: opts.xTitle ?? 'step' } },
      yaxis: { title: { text: opts.yTitle } },
    },
  };
}

/**
 * R_PIT's single-pass scores r(x, y, y_ref) − offset: what the five-constraint loss trains.
 * `scoreGap` (what PIT RL and the stopping rule use) antisymmetrises these, (r(y, ref) − r(ref, y)) / 2.
 */
export function rawGapScores(
  rm: RewardModel,
  tok: Tokenizer,
  xs: readonly string[],
  ys: readonly string[],
  refs: readonly string[],
): Float32Array {
  const out = new Float32Array(xs.length);
  for (let i = 0; i < xs.length; i += 128) {
    const rows = xs.slice(i, i + 128).map((x, k) => rpitInput(tok, x, ys[i + k]!, refs[i + k]!));
    const p = padRight(rows, rm.trunk.config.blockSize);
    const scores = tf.tidy(() => rm.scores(tf.tensor2d(p.ids, [p.B, p.T], 'int32'), p.lastIndex));
    out.set(scores.dataSync(), i);
    scores.dispose();
  }
  return out;
}
