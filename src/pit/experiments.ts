/**
 * The paper's experiments on trained models: the main table, the temperature sweep, the
 * curriculum ablation and iterations 1..T with both stopping rules, plus ELO over iterations.
 *
 * Choices that are ours (the paper does not pin them down):
 * - every system starts from the same y_0 ~ M_P^RL (sampled once at the main temperature), so
 *   differences come from the improvement step alone;
 * - the main table compares after one improvement step (one critique→refine round for
 *   Self-Refine), and best-of-N uses N = T + 1 = 2 samples of M_P^RL ranked by R_P: the same
 *   number of generations as y_0 plus one improvement;
 * - Self-Refine refines the same y_0 (it does not regenerate its own);
 * - ties are |Δscore| ≤ 1e-6; CIs are percentile bootstrap over prompts.
 */
import type { Tokenizer } from '../data';
import {
  type Comparison,
  compare,
  eloFromScores,
  type Judge,
  type MeanCi,
  meanWithCi,
} from '../eval';
import type { Gpt } from '../models';
import type { RewardModel } from '../models/reward';
import type { Rng } from '../runtime';
import type { PipelineConfig } from './config';
import { improveOnce, respond, scoreRp } from './generate';
import { gapRuleAt, selfImprove } from './improve';
import { selfRefine } from './self_refine';

export type System = 'pit' | 'original' | 'resample' | 'best_of_n' | 'sft_improver' | 'self_refine';

export interface EvalModels {
  policy: Gpt; // M_P^RL
  improver: Gpt; // M_PIT^RL, the full curriculum
  sftImprover: Gpt; // M_PIT before RL
  /** Absent where Self-Refine does not apply (real data without a rubric). */
  selfRefine?: Gpt;
  rp: RewardModel;
  rpit: RewardModel;
  /** Improvers trained with other curricula, by label ("round 0 only", ...). */
  ablations: Record<string, Gpt>;
}

export interface ComparisonRow extends Comparison {
  a: System | string;
  b: System | string;
  judge: string;
}

export interface ScoreRow extends MeanCi {
  system: string;
  judge: string;
}

export interface EvalResults {
  n: number;
  comparisons: ComparisonRow[];
  meanScores: ScoreRow[];
  temperatureSweep: Array<
    { system: string; temperature: number; judge: string } & Comparison & { mean: number }
  >;
  curriculumAblation: Array<{ curriculum: string; judge: string } & Comparison & { mean: number }>;
  iterations: Array<{
    system: string;
    rule: string;
    iteration: number;
    judge: string;
    mean: number;
    ci95: [number, number];
    delta: number;
    deltaCi95: [number, number];
  }>;
  elo: Array<{ judge: string; players: string[]; rating: number[]; ci95: Array<[number, number]> }>;
  /** Gap rule: mean iterations used per row. */
  gapRuleMeanIterations: number;
  /** A few rows side by side for the report. */
  examples: Array<{
    prompt: string;
    original: string;
    pit: string;
    selfRefine: string;
    scores: Record<string, number>;
  }>;
  /** Responses behind Figure 2 (reward distributions). */
  distributions: Record<string, number[]>;
}

async function scoresOf(judge: Judge, xs: string[], ys: string[]): Promise<number[]> {
  return Array.from(await judge.score(xs, ys));
}

export async function runExperiments(
  models: EvalModels,
  tok: Tokenizer,
  xs: string[],
  judges: Judge[],
  config: PipelineConfig['improve'],
  rng: (label: string) => Rng,
  progress: (fraction: number, detail: string) => void = () => {},
): Promise<EvalResults> {
  const gen = (label: string, temperature = config.temperature) => ({
    temperature,
    maxNewTokens: config.maxNewTokens,
    rng: rng(label),
  });
  const boot = (label: string) => ({ resamples: config.bootstrap, rng: rng(`bootstrap/${label}`) });
  const T = config.iterations;

  // 1. Starting points and baselines at the main temperature.
  progress(0.02, 'original responses');
  const original = respond(models.policy, tok, xs, gen('original'));
  const resample = respond(models.policy, tok, xs, gen('resample'));
  const rpA = scoreRp(models.rp, tok, xs, original);
  const rpB = scoreRp(models.rp, tok, xs, resample);
  const bestOfN = original.map((y, i) => (rpB[i]! > rpA[i]! ? resample[i]! : y));
  progress(0.1, 'PIT iterations');
  const trace = selfImprove(models.improver, models.rpit, tok, xs, original, {
    ...gen('pit'),
    iterations: T,
    gapThreshold: config.gapThreshold,
  });
  progress(0.35, 'SFT improver and Self-Refine');
  const sftImproved = improveOnce(models.sftImprover, tok, xs, original, gen('sft_improver'));
  const sr = models.selfRefine
    ? selfRefine(models.selfRefine, tok, xs, original, T, gen('self_refine'))
    : undefined;
  const systems: Partial<Record<System, string[]>> = {
    pit: trace.ys[1]!,
    original,
    resample,
    best_of_n: bestOfN,
    sft_improver: sftImproved,
    ...(sr ? { self_refine: sr.ys[1]! } : {}),
  };

  // 2. Scores under every judge; the main comparisons and means.
  progress(0.55, 'judging');
  const comparisons: ComparisonRow[] = [];
  const meanScores: ScoreRow[] = [];
  const scored: Record<string, Record<string, number[]>> = {};
  for (const judge of judges) {
    const s: Record<string, number[]> = {};
    for (const [name, ys] of Object.entries(systems)) s[name] = await scoresOf(judge, xs, ys);
    scored[judge.name] = s;
    for (const [name, v] of Object.entries(s)) {
      meanScores.push({
        system: name,
        judge: judge.name,
        ...meanWithCi(v, boot(`mean/${judge.name}/${name}`)),
      });
    }
    for (const b of ['original', 'self_refine', 'resample', 'best_of_n', 'sft_improver'] as const) {
      if (!s[b]) continue;
      comparisons.push({
        a: 'pit',
        b,
        judge: judge.name,
        ...compare(s.pit!, s[b]!, boot(`cmp/${judge.name}/${b}`)),
      });
    }
    if (s.self_refine)
      comparisons.push({
        a: 'self_refine',
        b: 'original',
        judge: judge.name,
        ...compare(s.self_refine!, s.original!, boot(`cmp/${judge.name}/sr-orig`)),
      });
  }

  // 3. Temperature sweep: PIT and Self-Refine applied once to the same y_0 at each temperature.
  progress(0.65, 'temperature sweep');
  const temperatureSweep: EvalResults['temperatureSweep'] = [];
  const oracle = judges[0]!;
  const base = scored[oracle.name]!.original!;
  for (const temp of config.temperatures) {
    const pit = improveOnce(models.improver, tok, xs, original, gen(`sweep/pit/${temp}`, temp));
    const runs: Array<[string, string[]]> = [['pit', pit]];
    if (models.selfRefine) {
      const srT = selfRefine(
        models.selfRefine,
        tok,
        xs,
        original,
        1,
        gen(`sweep/sr/${temp}`, temp),
      );
      runs.push(['self_refine', srT.ys[1]!]);
    }
    for (const [system, ys] of runs) {
      const s = await scoresOf(oracle, xs, ys);
      const c = compare(s, base, boot(`sweep/${system}/${temp}`));
      temperatureSweep.push({ system, temperature: temp, judge: oracle.name, mean: mean(s), ...c });
    }
  }

  // 4. Curriculum ablation: each improver applied once to y_0.
  progress(0.8, 'curriculum ablation');
  const curriculumAblation: EvalResults['curriculumAblation'] = [];
  const variants: Record<string, Gpt> = { ...models.ablations, 'rounds 0+1': models.improver };
  for (const [label, model] of Object.entries(variants)) {
    const ys =
      label === 'rounds 0+1'
        ? systems.pit!
        : improveOnce(model, tok, xs, original, gen(`ablation/${label}`));
    for (const judge of judges) {
      const s = await scoresOf(judge, xs, ys);
      const c = compare(s, scored[judge.name]!.original!, boot(`ablation/${label}/${judge.name}`));
      curriculumAblation.push({ curriculum: label, judge: judge.name, mean: mean(s), ...c });
    }
  }

  // 5. Iterations 0..T: PIT (fixed and gap rule) and Self-Refine; ELO over iterations.
  progress(0.9, 'iterations and ELO');
  const iterations: EvalResults['iterations'] = [];
  const elo: EvalResults['elo'] = [];
  for (const judge of judges) {
    const players: Record<string, number[]> = {};
    const orig = scored[judge.name]!.original!;
    for (let t = 0; t <= T; t++) {
      const rows: Array<[string, string, string[]]> = [
        ['pit', 'fixed', trace.ys[t]!],
        ['pit', 'gap', gapRuleAt(trace, t)],
      ];
      if (sr) rows.push(['self_refine', 'fixed', sr.ys[t]!]);
      for (const [system, rule, ys] of rows) {
        const s = await scoresOf(judge, xs, ys);
        const m = meanWithCi(s, boot(`iter/${judge.name}/${system}/${rule}/${t}`));
        const c = compare(s, orig, boot(`iter-cmp/${judge.name}/${system}/${rule}/${t}`));
        iterations.push({
          system,
          rule,
          iteration: t,
          judge: judge.name,
          mean: m.mean,
          ci95: m.ci95,
          delta: c.delta,
          deltaCi95: c.ci95,
        });
        if (rule === 'fixed') players[`${system} t=${t}`] = s;
      }
    }
    const r = eloFromScores(players, {
      resamples: Math.min(config.bootstrap, 200),
      rng: rng(`elo/${judge.name}`),
    });
    elo.push({ judge: judge.name, players: r.players, rating: r.rating, ci95: r.ci95 });
  }

  const o = scored[oracle.name]!;
  return {
    n: xs.length,
    comparisons,
    meanScores,
    temperatureSweep,
    curriculumAblation,
    iterations,
    elo,
    gapRuleMeanIterations: mean(trace.stoppedAt),
    examples: xs.slice(0, 8).map((x, i) => ({
      prompt: x,
      original: original[i]!,
      pit: systems.pit![i]!,
      selfRefine: systems.self_refine?.[i] ?? '(not applicable)',
      scores: {
        original: o.original![i]!,
        pit: o.pit![i]!,
        self_refine: o.self_refine?.[i] ?? Number.NaN,
      },
    })),
    distributions: { original: o.original!, pit: o.pit! },
  };
}

function mean(xs: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i]!;
  return xs.length ? s / xs.length : Number.NaN;
}
