/**
 * The R_PIT loss ablation: R_PIT trained from the same R_P with each loss of `PIT_LOSSES`, and R_P
 * itself read as a difference of two scores, each asked the two questions PIT RL depends on:
 *
 * - does it rank the held-out pairs (y_w over y_l), as its training loss asks;
 * - does it rank the improver's own edits (y_0 → y_1) the lead judge's way, which is what the RL
 *   reward has to do. An edit counts where the judge's score changed; a zero gap is a miss.
 *
 * Both are asked on validation prompts (where a choice between losses may be made) and on test
 * prompts (read for the table only), with intervals that resample prompts.
 */

import type { Tokenizer } from '../data';
import { clusteredFraction, type Judge, type MeanCi } from '../eval';
import { DEFAULT_TIE_EPS } from '../eval/compare';
import type { Gpt, PitLoss } from '../models';
import type { RewardModel } from '../models/reward';
import type { Rng } from '../runtime';
import { improveOnce, respond, scoreGap } from './generate';

/** One gap model under ablation: a trained R_PIT, or R_P as R_P(x, y) − R_P(x, y_ref). */
export interface GapModel {
  label: string;
  /** The R_PIT loss it was trained with; 'none' for R_P's difference. */
  loss: PitLoss | 'none';
  model: RewardModel;
}

/** What the ablation reads on one split. */
export interface AblationSplit {
  /** Held-out preference pairs. */
  pairs: ReadonlyArray<{ prompt: string; chosen: string; rejected: string }>;
  /** One row per (prompt, draw): y_0 and the improver's y_1, with the prompt's index. */
  edits: { xs: string[]; before: string[]; after: string[]; groups: Int32Array };
}

/** A fraction with its prompt-resampled interval and the number of units it counts. */
export type Agreement = MeanCi;

export interface LossAblationRow {
  model: string;
  loss: PitLoss | 'none';
  /** Fraction of held-out pairs with gap(x, y_w, y_l) > 0. */
  pairs: { valid: Agreement; test: Agreement };
  /** Fraction of the improver's judge-changing edits whose gap has the judge's sign. */
  edits: { valid: Agreement; test: Agreement };
}

export interface LossAblation {
  judge: string;
  rows: LossAblationRow[];
}

/** Index of each prompt's text among the distinct texts: the unit an interval resamples. */
export function promptGroups(xs: readonly string[]): Int32Array {
  const ids = new Map<string, number>();
  return Int32Array.from(xs, (x) => {
    if (!ids.has(x)) ids.set(x, ids.size);
    return ids.get(x)!;
  });
}

/**
 * y_0 ~ M_P^RL and y_1 = M_PIT(x, y_0) for `draws` draws of every prompt, sampled as the main
 * table samples them (y_0 at `responseTemperature`, y_1 at the improver's `temperature`).
 */
export function sampleEdits(
  models: { policy: Gpt; improver: Gpt },
  tok: Tokenizer,
  prompts: readonly string[],
  o: { draws: number; responseTemperature: number; temperature: number; maxNewTokens: number },
  rng: (label: string) => Rng,
): AblationSplit['edits'] {
  const xs = Array.from({ length: o.draws }, () => prompts).flat();
  const gen = (label: string, temperature: number) => ({
    temperature,
    maxNewTokens: o.maxNewTokens,
    rng: rng(label),
  });
  const before = respond(models.policy, tok, xs, gen('y0', o.responseTemperature));
  const after = improveOnce(models.improver, tok, xs, before, gen('y1', o.temperature));
  return { xs, before, after, groups: promptGroups(xs) };
}

/** Every gap model's pair accuracy and edit agreement on both splits. */
export async function lossAblation(
  models: readonly GapModel[],
  tok: Tokenizer,
  splits: { valid: AblationSplit; test: AblationSplit },
  judge: Judge,
  boot: (label: string) => { resamples: number; rng: Rng },
): Promise<LossAblation> {
  const judged: Record<string, { edits: number[]; groups: Int32Array; delta: number[] }> = {};
  for (const [name, s] of Object.entries(splits)) {
    const { xs, before, after, groups } = s.edits;
    const [q0, q1] = [await judge.score(xs, before), await judge.score(xs, after)];
    const delta = Array.from(q1, (v, i) => v - q0[i]!);
    const edits = delta.flatMap((d, i) => (Math.abs(d) > DEFAULT_TIE_EPS ? [i] : []));
    judged[name] = { edits, groups: Int32Array.from(edits, (i) => groups[i]!), delta };
  }
  const rows: LossAblationRow[] = [];
  for (const m of models) {
    const row = { model: m.label, loss: m.loss, pairs: {}, edits: {} } as LossAblationRow;
    for (const name of ['valid', 'test'] as const) {
      const { pairs, edits } = splits[name];
      const px = pairs.map((p) => p.prompt);
      const pairGap = scoreGap(
        m.model,
        tok,
        px,
        pairs.map((p) => p.chosen),
        pairs.map((p) => p.rejected),
      );
      row.pairs[name] = clusteredFraction(
        Array.from(pairGap, (g) => (g > 0 ? 1 : 0)),
        { ...boot(`${m.label}/${name}/pairs`), groups: promptGroups(px) },
      );
      const j = judged[name]!;
      const gap = scoreGap(
        m.model,
        tok,
        j.edits.map((i) => edits.xs[i]!),
        j.edits.map((i) => edits.after[i]!),
        j.edits.map((i) => edits.before[i]!),
      );
      const agrees = (i: number, k: number) =>
        gap[k]! !== 0 && Math.sign(gap[k]!) === Math.sign(j.delta[i]!);
      const hits = j.edits.map((i, k) => (agrees(i, k) ? 1 : 0));
      row.edits[name] = hits.length
        ? clusteredFraction(hits, { ...boot(`${m.label}/${name}/edits`), groups: j.groups })
        : { n: 0, mean: Number.NaN, ci95: [Number.NaN, Number.NaN] };
    }
    rows.push(row);
  }
  return { judge: judge.name, rows };
}
