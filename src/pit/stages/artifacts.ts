/**
 * Every file a stage writes into its artifact directory, named once, with a typed reader for each.
 * Stages declare which of these they write (`StageDef.artifacts`); the runner checks they exist
 * before publishing, and every consumer (downstream stages, results, report, notebooks, scripts)
 * reads through the functions here instead of joining file names itself.
 */
import { copyFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { BpeTokenizer, type RefineDemo, type Tokenizer, WordTokenizer } from '../../data';
import { loadGpt } from '../../models';
import { loadRewardModel } from '../../models/reward_store';
import type { Pair } from '../../train/reward';

/** Artifact file names, by what they hold. */
export const FILES = {
  splits: 'splits.json',
  tokenizer: 'tokenizer.json',
  policy: 'model.safetensors',
  reward: 'rm.safetensors',
  summary: 'summary.json',
  generations: 'generations.json',
  main: 'main.json',
  temperature: 'temperature.json',
  curriculum: 'curriculum.json',
  iterations: 'iterations.json',
  loss: 'loss.json',
  evaluation: 'eval.json',
} as const;
export type ArtifactFile = (typeof FILES)[keyof typeof FILES];

/** Suffix of the trainers' metric logs, which stages copy into their artifacts for the report. */
const METRICS_SUFFIX = '.metrics.jsonl';

export interface Splits {
  train: Pair[];
  valid: Pair[];
  test: Pair[];
  refine: RefineDemo[];
  /** The independent judge's own training pairs (absent: it trains on `valid`). */
  judge?: Pair[];
  synthetic: boolean;
}

export function readJson<T>(dir: string, file: ArtifactFile): T {
  return JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as T;
}

export function writeJson(dir: string, file: ArtifactFile, value: unknown): void {
  writeFileSync(path.join(dir, file), `${JSON.stringify(value, null, 1)}\n`);
}

export const readSplits = (dir: string) => readJson<Splits>(dir, FILES.splits);

export function readTokenizer(dir: string): Tokenizer {
  const j = readJson<{ kind: string }>(dir, FILES.tokenizer);
  return j.kind === 'word' ? WordTokenizer.fromJSON(j) : BpeTokenizer.fromJSON(j);
}

export const loadPolicy = (dir: string) => loadGpt(path.join(dir, FILES.policy));
export const loadReward = (dir: string) => loadRewardModel(path.join(dir, FILES.reward));

/** A stage's `summary.json` (training stages write one); `{}` for a stage without one. */
export function readSummary<T = Record<string, unknown>>(dir: string): T {
  return (existsSync(path.join(dir, FILES.summary)) ? readJson<T>(dir, FILES.summary) : {}) as T;
}

/** The trainer metric logs kept in an artifact dir, by label (`sft`, `rm_rp`, ...), sorted. */
export function metricsFiles(dir: string): Array<{ label: string; file: string }> {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith(METRICS_SUFFIX))
    .sort()
    .map((f) => ({ label: f.slice(0, -METRICS_SUFFIX.length), file: path.join(dir, f) }));
}

/** Copies the trainer's metric logs from a stage's work dir into its artifact (for the report). */
export function keepMetrics(workDir: string, outDir: string): void {
  for (const { file } of metricsFiles(workDir)) {
    copyFileSync(file, path.join(outDir, path.basename(file)));
  }
}
