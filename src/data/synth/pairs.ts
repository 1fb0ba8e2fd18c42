/** Preference pairs and critique→refine demonstrations for the synthetic task, deterministic by seed. */
import { Rng } from '../../runtime';
import { PreferenceDataset } from '../dataset';
import type { PreferenceRecord } from '../types';
import { critique, judgeTask, responseItems } from './judge';
import { parsePrompt, renderPrompt, sampleTask, type Task, type TaskOptions } from './task';
import {
  CORRUPTION_KINDS,
  perturb,
  RELATIONAL_KINDS,
  renderList,
  repair,
  writeNoisy,
} from './writer';

export type NearKinds = 'all' | 'relational';

/** `SynthOptions` defaults shared by every pair and demonstration maker. */
export const DEFAULT_TAU = 0.05;
const DEFAULT_RATE_RANGE: [number, number] = [0.05, 0.5];

export interface SynthOptions {
  /** Root seed; the same seed and options give identical data. @defaultValue 0 */
  seed?: number;
  /** Number of preference pairs (after ties are dropped). @defaultValue 2000 */
  size?: number;
  /** Number of critique→refine demonstrations. @defaultValue size / 2 */
  refineSize?: number;
  /**
   * Bradley–Terry temperature on judge scores: P(a ≻ b) = σ((q_a − q_b) / τ). 0 labels by the
   * judge exactly; larger values add label noise. @defaultValue 0.05
   */
  tau?: number;
  /** Each response's violation rate is drawn uniformly from this range. @defaultValue [0.05, 0.5] */
  rateRange?: [number, number];
  /**
   * Share of pairs that are near pairs (`makeNearPair`): a response and the same response with one
   * or two more violations, the size of difference an improver's edit makes. The rest are two
   * independent writes. @defaultValue 0
   */
  nearShare?: number;
  /**
   * `relational`: near pairs differ only in relational constraints (`RELATIONAL_KINDS`: repeats,
   * required and banned words, order); `all`: in any. @defaultValue 'all'
   */
  nearKinds?: NearKinds;
  task?: TaskOptions;
}

/** One Self-Refine training example: a flawed response, its critique and the repaired response. */
export interface RefineDemo {
  id: string;
  prompt: string;
  response: string;
  critique: string;
  refined: string;
  score: number;
  refinedScore: number;
}

export interface SynthStats {
  pairs: number;
  tiesDropped: number;
  /** Pairs whose label disagrees with the judge (Bradley–Terry label noise). */
  flipped: number;
}

export interface SynthData {
  pairs: PreferenceDataset;
  demos: RefineDemo[];
  stats: SynthStats;
}

function bradleyTerry(qa: number, qb: number, tau: number): number {
  if (tau <= 0) return qa > qb ? 1 : 0;
  return 1 / (1 + Math.exp(-(qa - qb) / tau));
}

const draw = (rng: Rng, [lo, hi]: [number, number]) => lo + (hi - lo) * rng.next();

/**
 * Labels one pair of responses to `task`. Returns undefined on a tie (equal judge scores carry
 * no preference, so the pair is dropped rather than labelled by a coin).
 */
export function labelPair(
  task: Task,
  a: string,
  b: string,
  rng: Rng,
  tau: number,
): Omit<PreferenceRecord, 'id' | 'source'> | undefined {
  const qa = judgeTask(task, a).score;
  const qb = judgeTask(task, b).score;
  if (qa === qb) return undefined;
  const aWins = rng.next() < bradleyTerry(qa, qb, tau);
  const [chosen, rejected, qc, qr] = aWins ? [a, b, qa, qb] : [b, a, qb, qa];
  return {
    prompt: renderPrompt(task),
    chosen,
    rejected,
    meta: { chosen_score: qc, rejected_score: qr },
  };
}

/**
 * Preference pairs for given prompts: two noisy responses each, labelled by `labelPair`.
 * Prompts whose two responses tie yield no pair.
 */
export function makePairs(
  prompts: readonly string[],
  rng: Rng,
  opts: Pick<SynthOptions, 'tau' | 'rateRange'> = {},
): { records: PreferenceRecord[]; tiesDropped: number } {
  const tau = opts.tau ?? DEFAULT_TAU;
  const range = opts.rateRange ?? DEFAULT_RATE_RANGE;
  const records: PreferenceRecord[] = [];
  let tiesDropped = 0;
  prompts.forEach((prompt, i) => {
    const task = parsePrompt(prompt);
    const a = writeNoisy(task, rng, { rate: draw(rng, range) });
    const b = writeNoisy(task, rng, { rate: draw(rng, range) });
    const pair = labelPair(task, a, b, rng, tau);
    if (pair) records.push({ id: `pair-${i}`, source: 'synthetic', ...pair });
    else tiesDropped += 1;
  });
  return { records, tiesDropped };
}

/**
 * A near pair for `prompt`: a noisy write (re-rendered, so its format is sound) and that write
 * with one or two more violations, labelled by `labelPair` like any pair; undefined on a tie.
 */
export function makeNearPair(
  prompt: string,
  rng: Rng,
  opts: Pick<SynthOptions, 'tau' | 'rateRange' | 'nearKinds'> = {},
): Omit<PreferenceRecord, 'id' | 'source'> | undefined {
  const task = parsePrompt(prompt);
  const kinds = opts.nearKinds === 'relational' ? RELATIONAL_KINDS : CORRUPTION_KINDS;
  const a = renderList(
    responseItems(writeNoisy(task, rng, { rate: draw(rng, opts.rateRange ?? DEFAULT_RATE_RANGE) })),
  );
  const b = perturb(task, a, rng, rng.next() < 0.5 ? 1 : 2, kinds);
  // Which side is written first carries no information: the label comes from the judge.
  const [first, second] = rng.next() < 0.5 ? [a, b] : [b, a];
  return labelPair(task, first, second, rng, opts.tau ?? DEFAULT_TAU);
}

/** Critique→refine demonstrations for `prompts`, with repairs drawn from `rng`. */
export function makeRefineDemos(
  prompts: readonly string[],
  rng: Rng,
  rateRange: [number, number] = DEFAULT_RATE_RANGE,
): RefineDemo[] {
  return prompts.map((prompt, i) => {
    const task = parsePrompt(prompt);
    const response = writeNoisy(task, rng, { rate: draw(rng, rateRange) });
    const refined = repair(task, response, rng);
    return {
      id: `refine-${i}`,
      prompt,
      response,
      critique: critique(prompt, response),
      refined,
      score: judgeTask(task, response).score,
      refinedScore: judgeTask(task, refined).score,
    };
  });
}

/** The bundled dataset: `size` labelled pairs plus refine demonstrations, all from one seed. */
export function generateSynthetic(opts: SynthOptions = {}): SynthData {
  const seed = opts.seed ?? 0;
  const size = opts.size ?? 2000;
  if (!Number.isInteger(size) || size < 0) {
    throw new Error(`generateSynthetic: size must be a non-negative integer, got ${size}`);
  }
  const refineSize = opts.refineSize ?? Math.floor(size / 2);
  const nearShare = opts.nearShare ?? 0;
  if (!(nearShare >= 0 && nearShare <= 1)) {
    throw new Error(`generateSynthetic: nearShare must be in [0, 1], got ${nearShare}`);
  }
  const root = new Rng(seed);
  const near = root.fork('synth/near');
  const tasks = root.fork('synth/tasks');
  const writer = root.fork('synth/pairs');
  const records: PreferenceRecord[] = [];
  let tiesDropped = 0;
  // ties are dropped, so draw prompts until `size` pairs exist; 50x guards a degenerate config
  for (let attempt = 0; records.length < size; attempt++) {
    if (attempt > 50 * size + 100) {
      throw new Error(
        `generateSynthetic: only ${records.length} of ${size} pairs after ${attempt} prompts (all ties?)`,
      );
    }
    const prompt = renderPrompt(sampleTask(tasks, opts.task).task);
    // No draw without near pairs, so the default data stays what it was.
    if (nearShare > 0 && near.next() < nearShare) {
      const pair = makeNearPair(prompt, near, opts);
      if (pair)
        records.push({ ...pair, id: `synth-${seed}-${records.length}`, source: 'synthetic-near' });
      else tiesDropped += 1;
      continue;
    }
    const made = makePairs([prompt], writer, opts);
    tiesDropped += made.tiesDropped;
    for (const r of made.records) records.push({ ...r, id: `synth-${seed}-${records.length}` });
  }
  const demoPrompts = Array.from({ length: refineSize }, () =>
    renderPrompt(sampleTask(tasks, opts.task).task),
  );
  const demos = makeRefineDemos(demoPrompts, root.fork('synth/refine'), opts.rateRange).map(
    (d, i) => ({
      ...d,
      id: `synth-${seed}-refine-${i}`,
    }),
  );
  const flipped = records.filter(
    (r) => (r.meta!.chosen_score as number) < (r.meta!.rejected_score as number),
  ).length;
  return {
    pairs: new PreferenceDataset(records),
    demos,
    stats: { pairs: records.length, tiesDropped, flipped },
  };
}

export interface ScoreSummary {
  mean: number;
  std: number;
  /** Fraction of responses with q = 1 (fully correct). */
  perfect: number;
  min: number;
  max: number;
}

function summarize(xs: number[]): ScoreSummary {
  const n = Math.max(1, xs.length);
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  return {
    mean,
    std: Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / n),
    perfect: xs.filter((x) => x === 1).length / n,
    min: Math.min(...xs),
    max: Math.max(...xs),
  };
}

/** Judge statistics of y_w and y_l (from the scores saved in `meta`), for documenting difficulty. */
export function judgeStats(pairs: PreferenceDataset): {
  chosen: ScoreSummary;
  rejected: ScoreSummary;
  margin: number;
} {
  const w = pairs.records.map((r) => Number(r.meta?.chosen_score));
  const l = pairs.records.map((r) => Number(r.meta?.rejected_score));
  const chosen = summarize(w);
  const rejected = summarize(l);
  return { chosen, rejected, margin: chosen.mean - rejected.mean };
}
