/**
 * Third-party judges: anything that scores (prompt, response) rows, so comparisons and ELO
 * ratings can be computed under the synthetic task's exact judge (`oracle`) or an independent
 * reward model (`judge_rm`, the analogue of the PIT paper's DeBERTa evaluator) alike.
 */
import { judge as exactJudge } from '../data/synth/judge';
import type { BootstrapOptions, MeanCi } from './bootstrap';
import { meanWithCi } from './bootstrap';
import { type CompareOptions, type Comparison, compare } from './compare';

/** A judge scores each response to its prompt; higher is better. Batched, maybe asynchronous. */
export interface Judge {
  /** `oracle` (exact synthetic judge), `judge_rm` (held-out reward model), or another name. */
  name: 'oracle' | 'judge_rm' | (string & {});
  /** One score per row; `prompts[i]` pairs with `responses[i]`. */
  score(prompts: string[], responses: string[]): Promise<Float32Array> | Float32Array;
}

/**
 * The synthetic task's exact judge q(x, y) as the `oracle`: the fraction of the prompt's
 * constraints the response meets, in [0, 1]. Throws on prompts that are not synthetic-task
 * prompts, since it has no opinion on, say, HH-RLHF dialogue.
 */
export const oracleJudge: Judge = {
  name: 'oracle',
  score(prompts, responses) {
    checkRows(prompts, responses, 'oracle');
    return Float32Array.from(prompts, (p, i) => exactJudge(p, responses[i]!).score);
  },
};

function checkRows(prompts: string[], responses: string[], who: string): void {
  if (prompts.length !== responses.length) {
    throw new Error(
      `judge '${who}': ${prompts.length} prompts but ${responses.length} responses; rows must pair up`,
    );
  }
}

/** Scores rows with any judge, checking that it returned one finite score per row. */
export async function scoreWith(
  j: Judge,
  prompts: string[],
  responses: string[],
): Promise<Float32Array> {
  checkRows(prompts, responses, j.name);
  const out = await j.score(prompts, responses);
  if (out.length !== prompts.length) {
    throw new Error(`judge '${j.name}' returned ${out.length} scores for ${prompts.length} rows`);
  }
  const bad = out.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) throw new Error(`judge '${j.name}' gave row ${bad} the score ${out[bad]}`);
  return out;
}

/** A comparison as `results.json` lists it: which systems, under which judge. */
export interface ComparisonRecord extends Comparison {
  a: string;
  b: string;
  judge: string;
}

/**
 * Judges the responses of systems A and B to the same prompts and compares them row by row.
 * The stream defaults to `eval/compare/<a>/<b>/<judge>`, so each comparison has its own.
 */
export async function compareResponses(
  j: Judge,
  prompts: string[],
  a: { name: string; responses: string[] },
  b: { name: string; responses: string[] },
  opts: CompareOptions = {},
): Promise<ComparisonRecord> {
  const sa = await scoreWith(j, prompts, a.responses);
  const sb = await scoreWith(j, prompts, b.responses);
  const label = opts.label ?? `eval/compare/${a.name}/${b.name}/${j.name}`;
  return { a: a.name, b: b.name, judge: j.name, ...compare(sa, sb, { ...opts, label }) };
}

/** Mean judge score of one system's responses with its bootstrap CI, tagged by judge. */
export async function meanScore(
  j: Judge,
  prompts: string[],
  responses: string[],
  opts: BootstrapOptions = {},
): Promise<MeanCi & { judge: string }> {
  const s = await scoreWith(j, prompts, responses);
  return { judge: j.name, ...meanWithCi(s, { label: `eval/mean/${j.name}`, ...opts }) };
}
