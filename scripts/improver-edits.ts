/**
 * The improver's edits, as the reward-model diagnostics read them: M_P^RL answers each distinct
 * prompt `draws` times (y_0, sampled as the evaluation samples it) and M_PIT^SFT improves each
 * answer twice (y_1 and a sibling, at the improver's temperature). The exact judge scores all
 * three. Callers pass validation prompts to score models, training prompts to label new pairs.
 */
import type { Tokenizer } from '../src/data';
import { judge } from '../src/data/synth/judge';
import { DEFAULT_TAU, labelPair } from '../src/data/synth/pairs';
import { parsePrompt } from '../src/data/synth/task';
import { clusteredEditAgreement, clusteredEditReadout, type EditReadout } from '../src/eval';
import type { resolvePipelineConfig } from '../src/index';
import type { Gpt } from '../src/models';
import { improveOnce, respond } from '../src/pit/generate';
import { type Rng, runtime } from '../src/runtime';
import type { Pair } from '../src/train/reward';

export interface ImproverEdits {
  xs: string[];
  /** Each row's prompt index: the bootstrap's cluster. */
  groups: number[];
  y0: string[];
  y1: string[];
  /** The exact judge's scores of y_0 and y_1. */
  before: number[];
  after: number[];
  /** A second improvement of each y_0 and its score: what a group baseline compares y_1 with. */
  sibling: string[];
  siblingScore: number[];
}

export function improverEdits(
  models: { mpRl: Gpt; mpit: Gpt; tok: Tokenizer },
  prompts: readonly string[],
  improve: ReturnType<typeof resolvePipelineConfig>['improve'],
  draws: number,
  label: string,
): ImproverEdits {
  const { mpRl, mpit, tok } = models;
  const distinct = [...new Set(prompts)];
  const xs = distinct.flatMap((x) => Array.from({ length: draws }, () => x));
  const groups = distinct.flatMap((_, g) => Array.from({ length: draws }, () => g));
  const { responseTemperature, temperature, maxNewTokens } = improve;
  const y0 = respond(mpRl, tok, xs, {
    temperature: responseTemperature,
    maxNewTokens,
    rng: runtime.rng(`${label}.y0`),
  });
  const y1 = improveOnce(mpit, tok, xs, y0, {
    temperature,
    maxNewTokens,
    rng: runtime.rng(`${label}.y1`),
  });
  const sibling = improveOnce(mpit, tok, xs, y0, {
    temperature,
    maxNewTokens,
    rng: runtime.rng(`${label}.y1b`),
  });
  const score = (ys: string[]) => xs.map((x, i) => judge(x, ys[i]!).score);
  return {
    xs,
    groups,
    y0,
    y1,
    before: score(y0),
    after: score(y1),
    sibling,
    siblingScore: score(sibling),
  };
}

/** `clusteredEditReadout` of `gain`, a predicted score of y_1 over y_0, on these edits. */
export function editReadout(e: ImproverEdits, gain: ArrayLike<number>, label: string): EditReadout {
  return clusteredEditReadout(e.before, e.after, gain, { groups: e.groups, label });
}

/**
 * How often `gain` and `siblingGain` (the predicted scores of y_1 and of its sibling, each over
 * y_0) order the two improvements the judge's way, where the judge's scores differ. RLOO and GRPO
 * advantages compare samples of one query like this, so a constant bias toward edits cancels.
 */
export function siblingReadout(
  e: ImproverEdits,
  gain: ArrayLike<number>,
  siblingGain: ArrayLike<number>,
  label: string,
) {
  const predicted = Float32Array.from(
    { length: gain.length },
    (_, i) => gain[i]! - siblingGain[i]!,
  );
  return clusteredEditAgreement(e.siblingScore, e.after, predicted, {
    groups: e.groups,
    label: `${label}.siblings`,
  });
}

/** One line: all [CI], improving, worsening, balanced. */
export function readoutText(r: EditReadout): string {
  const ci = r.all.ci95 ? ` [${r.all.ci95[0].toFixed(3)}, ${r.all.ci95[1].toFixed(3)}]` : '';
  return `${r.all.accuracy.toFixed(3)}${ci} (${r.all.edits}); up ${r.improving.accuracy.toFixed(3)} (${r.improving.edits}), down ${r.worsening.accuracy.toFixed(3)} (${r.worsening.edits}), balanced ${r.balanced.toFixed(3)}`;
}

/** (x, as[i], bs[i]) labelled by the task's simulated labeller (`labelPair`); ties dropped. */
export function labelledPairs(xs: string[], as: string[], bs: string[], labeller: Rng): Pair[] {
  const pairs: Pair[] = [];
  xs.forEach((x, i) => {
    const pair = labelPair(parsePrompt(x), as[i]!, bs[i]!, labeller, DEFAULT_TAU);
    if (pair) pairs.push({ prompt: pair.prompt, chosen: pair.chosen, rejected: pair.rejected });
  });
  return pairs;
}

/** `data` with `extra` repeated so that it makes up `share` of the mixture the trainers sample. */
export function mixture(data: Pair[], extra: Pair[], share: number) {
  if (extra.length === 0 || share <= 0) return { pairs: data, repeats: 0 };
  const repeats = Math.max(1, Math.round((share / (1 - share)) * (data.length / extra.length)));
  return { pairs: [...data, ...Array.from({ length: repeats }, () => extra).flat()], repeats };
}
