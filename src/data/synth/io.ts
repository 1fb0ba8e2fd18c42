/** Writing and reading the synthetic task's files (jsonl, stable key order, so bytes are reproducible). */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { PreferenceDataset } from '../dataset';
import { loadJsonl } from '../generic';
import { generateSynthetic, judgeStats, type RefineDemo, type SynthOptions } from './pairs';

/** Split fractions of the bundled files. */
export const SYNTH_FRACTIONS = { train: 0.8, valid: 0.1, test: 0.1 } as const;

function jsonl(rows: readonly object[]): string {
  return rows.map((r) => JSON.stringify(r)).join('\n') + (rows.length > 0 ? '\n' : '');
}

function pairRows(ds: PreferenceDataset): object[] {
  return ds.records.map((r) => ({
    id: r.id,
    source: r.source,
    prompt: r.prompt,
    chosen: r.chosen,
    rejected: r.rejected,
    meta: r.meta ?? {},
  }));
}

/**
 * Generates the task and writes `train/valid/test.jsonl` (pairs, split by prompt),
 * `refine.jsonl` (critique→refine demonstrations) and `meta.json` (options and counts).
 * Returns the written paths.
 */
export async function writeSynthetic(dir: string, opts: SynthOptions = {}): Promise<string[]> {
  const seed = opts.seed ?? 0;
  const data = generateSynthetic({ ...opts, seed });
  const parts = data.pairs.split({ seed, fractions: SYNTH_FRACTIONS });
  await mkdir(dir, { recursive: true });
  const files: Array<[string, string]> = [
    ['train.jsonl', jsonl(pairRows(parts.train))],
    ['valid.jsonl', jsonl(pairRows(parts.valid))],
    ['test.jsonl', jsonl(pairRows(parts.test))],
    ['refine.jsonl', jsonl(data.demos)],
    [
      'meta.json',
      `${JSON.stringify(
        {
          task: 'pitlab synthetic list task',
          options: { ...opts, seed },
          stats: data.stats,
          judge: { all: judgeStats(data.pairs), train: judgeStats(parts.train) },
          counts: {
            train: parts.train.size,
            valid: parts.valid.size,
            test: parts.test.size,
            refine: data.demos.length,
          },
        },
        null,
        2,
      )}\n`,
    ],
  ];
  const paths: string[] = [];
  for (const [name, text] of files) {
    const p = join(dir, name);
    await writeFile(p, text);
    paths.push(p);
  }
  return paths;
}

/** The committed default files (data/synthetic/ at the package root). */
export const SYNTH_DIR = join(__dirname, '..', '..', '..', 'data', 'synthetic');

/** Loads one split of the synthetic files (pairs keep their judge scores in `meta`). */
export async function loadSynthetic(
  split: 'train' | 'valid' | 'test' = 'train',
  dir = SYNTH_DIR,
): Promise<PreferenceDataset> {
  const { data } = await loadJsonl(join(dir, `${split}.jsonl`), { mapping: { id: 'id' } });
  return data;
}

/** The critique→refine demonstrations of the synthetic files. */
export async function loadRefineDemos(dir = SYNTH_DIR): Promise<RefineDemo[]> {
  const text = await readFile(join(dir, 'refine.jsonl'), 'utf8');
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as RefineDemo);
}
