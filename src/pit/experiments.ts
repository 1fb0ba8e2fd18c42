/**
 * The paper's experiments on trained models, one function each (and one pipeline stage each):
 * `generateSystems` (every system's responses, from one y_0), `mainExperiment` (the main table),
 * `iterationsExperiment` (iterations 0..T with both stopping rules, ELO), `temperatureExperiment`
 * and `curriculumExperiment`. Each draws from its own named random streams, so running them
 * together or apart gives the same numbers.
 *
 * Choices that are ours (the paper does not pin them down):
 * - every system starts from the same y_0 ~ M_P^RL (sampled at `responseTemperature`, `samples`
 *   draws per prompt), so differences come from the improvement step alone, which samples at
 *   `temperature`;
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
  type EditAgreement,
  editAgreement,
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
import { gapRuleAt, type ImproveTrace, selfImprove } from './improve';
import { type SelfRefineTrace, selfRefine } from './self_refine';

export type System = 'pit' | 'original' | 'resample' | 'best_of_n' | 'sft_improver' | 'self_refine';

export interface EvalModels {
  policy: Gpt; // M_P^RL
  improver: Gpt; // M_PIT^RL, the full curriculum
  sftImprover: Gpt; // M_PIT before RL
  /** Absent where Self-Refine does not apply (real data without a rubric). */
  selfRefine?: Gpt;
  rp: RewardModel;
  rpit: RewardModel;
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
  /** Rows judged per system: `prompts` × `samples`. */
  n: number;
  /** Distinct test prompts evaluated, the unit every interval resamples. */
  prompts: number;
  /** Draws of y_0 per prompt. */
  samples: number;
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
  /**
   * The reward models against the lead judge on PIT's own first step (y_0 → y_1, test rows):
   * R_PIT(x, y_1, y_0) and R_P(x, y_1) − R_P(x, y_0) should have the sign of the judge's change.
   * PIT RL optimises R_PIT and selects with R_P on exactly such edits.
   */
  rewardAgreement: { judge: string; rpit: EditAgreement; rp: EditAgreement };
}

async function scoresOf(judge: Judge, xs: string[], ys: string[]): Promise<number[]> {
  return Array.from(await judge.score(xs, ys));
}

/** Shared settings of the experiment functions. */
export interface ExperimentContext {
  tok: Tokenizer;
  /** One row per (prompt, draw of y_0): the test prompts repeated `config.samples` times. */
  xs: string[];
  /** Prompt of each row: every interval resamples prompts, not rows (see `evaluationRows`). */
  groups: Int32Array;
  judges: Judge[];
  config: PipelineConfig['improve'];
  rng: (label: string) => Rng;
}

const genOptions = (e: ExperimentContext, label: string, temperature = e.config.temperature) => ({
  temperature,
  maxNewTokens: e.config.maxNewTokens,
  rng: e.rng(label),
});
const bootOptions = (e: ExperimentContext, label: string) => ({
  resamples: e.config.bootstrap,
  rng: e.rng(`bootstrap/${label}`),
  groups: e.groups,
});

/**
 * The test pairs evaluated: the first `size` with distinct prompts. The committed test split
 * repeats some prompts (the first 200 rows hold 171 distinct ones); judging each prompt once
 * keeps prompts equally weighted and makes every interval count prompts.
 */
export function evaluationPairs<T extends { prompt: string }>(
  test: readonly T[],
  size: number,
): T[] {
  const seen = new Set<string>();
  return test.filter((p) => !seen.has(p.prompt) && Boolean(seen.add(p.prompt))).slice(0, size);
}

/** The evaluation rows: each prompt `samples` times (draw-major), with its prompt index. */
export function evaluationRows(
  prompts: readonly string[],
  samples: number,
): { xs: string[]; groups: Int32Array } {
  const xs = Array.from({ length: samples }, () => prompts).flat();
  return { xs, groups: Int32Array.from(xs, (_, i) => i % prompts.length) };
}

/** Every system's responses to the test prompts, all starting from one y_0 ~ M_P^RL. */
export interface Generations {
  original: string[];
  resample: string[];
  bestOfN: string[];
  sftImproved: string[];
  /** PIT's trajectory t = 0..T under the fixed rule, plus the gap rule's stops. */
  pit: ImproveTrace;
  selfRefine?: SelfRefineTrace;
  /** R_P of y_0 and of PIT's first step: R_P's own view of that edit. */
  rpScores: { original: number[]; pit: number[] };
}

/**
 * y_0 ~ M_P^RL for every evaluation row: the responses every system improves. Its random stream
 * depends only on the seed and its label, so every stage that calls this gets the same y_0 and
 * none has to wait for another's.
 */
export function sampleOriginal(policy: Gpt, e: ExperimentContext): string[] {
  return respond(policy, e.tok, e.xs, genOptions(e, 'original', e.config.responseTemperature));
}

export function generateSystems(
  models: EvalModels,
  e: ExperimentContext,
  progress: (fraction: number, detail: string) => void = () => {},
): Generations {
  const { tok, xs } = e;
  const T = e.config.iterations;
  progress(0.05, 'original responses');
  const original = sampleOriginal(models.policy, e);
  const resample = respond(
    models.policy,
    tok,
    xs,
    genOptions(e, 'resample', e.config.responseTemperature),
  );
  const rpA = scoreRp(models.rp, tok, xs, original);
  const rpB = scoreRp(models.rp, tok, xs, resample);
  const bestOfN = original.map((y, i) => (rpB[i]! > rpA[i]! ? resample[i]! : y));
  progress(0.2, 'PIT iterations');
  const pit = selfImprove(models.improver, models.rpit, tok, xs, original, {
    ...genOptions(e, 'pit'),
    iterations: T,
    gapThreshold: e.config.gapThreshold,
  });
  progress(0.6, 'SFT improver and Self-Refine');
  const sftImproved = improveOnce(
    models.sftImprover,
    tok,
    xs,
    original,
    genOptions(e, 'sft_improver'),
  );
  const selfRefineTrace = models.selfRefine
    ? selfRefine(models.selfRefine, tok, xs, original, T, genOptions(e, 'self_refine'))
    : undefined;
  const rpPit = scoreRp(models.rp, tok, xs, pit.ys[1]!);
  return {
    original,
    resample,
    bestOfN,
    sftImproved,
    pit,
    ...(selfRefineTrace ? { selfRefine: selfRefineTrace } : {}),
    rpScores: { original: Array.from(rpA), pit: Array.from(rpPit) },
  };
}

/** Systems of the main table: each after one improvement step. */
function mainSystems(g: Generations): Partial<Record<System, string[]>> {
  return {
    pit: g.pit.ys[1]!,
    original: g.original,
    resample: g.resample,
    best_of_n: g.bestOfN,
    sft_improver: g.sftImproved,
    ...(g.selfRefine ? { self_refine: g.selfRefine.ys[1]! } : {}),
  };
}

export type MainResults = Pick<
  EvalResults,
  | 'n'
  | 'prompts'
  | 'samples'
  | 'comparisons'
  | 'meanScores'
  | 'examples'
  | 'distributions'
  | 'rewardAgreement'
>;

/** The main table: every system against y_0 and PIT against each baseline, under every judge. */
export async function mainExperiment(g: Generations, e: ExperimentContext): Promise<MainResults> {
  const { xs, judges } = e;
  const systems = mainSystems(g);
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
        ...meanWithCi(v, bootOptions(e, `mean/${judge.name}/${name}`)),
      });
    }
    for (const b of ['original', 'self_refine', 'resample', 'best_of_n', 'sft_improver'] as const) {
      if (!s[b]) continue;
      comparisons.push({
        a: 'pit',
        b,
        judge: judge.name,
        ...compare(s.pit!, s[b]!, bootOptions(e, `cmp/${judge.name}/${b}`)),
      });
    }
    if (s.self_refine)
      comparisons.push({
        a: 'self_refine',
        b: 'original',
        judge: judge.name,
        ...compare(s.self_refine!, s.original!, bootOptions(e, `cmp/${judge.name}/sr-orig`)),
      });
  }
  const o = scored[judges[0]!.name]!;
  return {
    n: xs.length,
    prompts: xs.length / e.config.samples,
    samples: e.config.samples,
    comparisons,
    meanScores,
    examples: xs.slice(0, 8).map((x, i) => ({
      prompt: x,
      original: g.original[i]!,
      pit: systems.pit![i]!,
      selfRefine: systems.self_refine?.[i] ?? '(not applicable)',
      scores: {
        original: o.original![i]!,
        pit: o.pit![i]!,
        self_refine: o.self_refine?.[i] ?? Number.NaN,
      },
    })),
    distributions: { original: o.original!, pit: o.pit! },
    rewardAgreement: {
      judge: judges[0]!.name,
      rpit: editAgreement(o.original!, o.pit!, g.pit.gaps[0]!),
      rp: editAgreement(
        o.original!,
        o.pit!,
        g.rpScores.pit.map((v, i) => v - g.rpScores.original[i]!),
      ),
    },
  };
}

/** PIT and Self-Refine applied once to the same y_0 at each temperature, under the lead judge. */
export async function temperatureExperiment(
  models: { improver: Gpt; selfRefine?: Gpt },
  original: string[],
  e: ExperimentContext,
): Promise<EvalResults['temperatureSweep']> {
  const { tok, xs } = e;
  const lead = e.judges[0]!;
  const base = await scoresOf(lead, xs, original);
  const rows: EvalResults['temperatureSweep'] = [];
  for (const temp of e.config.temperatures) {
    const at = (stream: string) => genOptions(e, `sweep/${stream}/${temp}`, temp);
    const runs: Array<[string, string[]]> = [
      ['pit', improveOnce(models.improver, tok, xs, original, at('pit'))],
    ];
    if (models.selfRefine) {
      runs.push([
        'self_refine',
        selfRefine(models.selfRefine, tok, xs, original, 1, at('sr')).ys[1]!,
      ]);
    }
    for (const [system, ys] of runs) {
      const s = await scoresOf(lead, xs, ys);
      const c = compare(s, base, bootOptions(e, `sweep/${system}/${temp}`));
      rows.push({ system, temperature: temp, judge: lead.name, mean: mean(s), ...c });
    }
  }
  return rows;
}

/** Each curriculum's improver applied once to y_0 ('rounds 0+1' is the main PIT model). */
export async function curriculumExperiment(
  ablations: Record<string, Gpt>,
  g: Generations,
  e: ExperimentContext,
): Promise<EvalResults['curriculumAblation']> {
  const { tok, xs } = e;
  const rows: EvalResults['curriculumAblation'] = [];
  const labels = [...Object.keys(ablations), 'rounds 0+1'];
  const base: Record<string, number[]> = {};
  for (const judge of e.judges) base[judge.name] = await scoresOf(judge, xs, g.original);
  for (const label of labels) {
    const ys =
      label === 'rounds 0+1'
        ? g.pit.ys[1]!
        : improveOnce(ablations[label]!, tok, xs, g.original, genOptions(e, `ablation/${label}`));
    for (const judge of e.judges) {
      const s = await scoresOf(judge, xs, ys);
      const c = compare(s, base[judge.name]!, bootOptions(e, `ablation/${label}/${judge.name}`));
      rows.push({ curriculum: label, judge: judge.name, mean: mean(s), ...c });
    }
  }
  return rows;
}

export type IterationResults = Pick<EvalResults, 'iterations' | 'elo' | 'gapRuleMeanIterations'>;

/** Iterations 0..T: PIT (fixed and gap rule) and Self-Refine against y_0; ELO over iterations. */
export async function iterationsExperiment(
  g: Generations,
  e: ExperimentContext,
): Promise<IterationResults> {
  const { xs } = e;
  const T = e.config.iterations;
  const iterations: EvalResults['iterations'] = [];
  const elo: EvalResults['elo'] = [];
  for (const judge of e.judges) {
    const players: Record<string, number[]> = {};
    const orig = await scoresOf(judge, xs, g.original);
    for (let t = 0; t <= T; t++) {
      const rows: Array<[string, string, string[]]> = [
        ['pit', 'fixed', g.pit.ys[t]!],
        ['pit', 'gap', gapRuleAt(g.pit, t)],
      ];
      if (g.selfRefine) rows.push(['self_refine', 'fixed', g.selfRefine.ys[t]!]);
      for (const [system, rule, ys] of rows) {
        const s = await scoresOf(judge, xs, ys);
        const m = meanWithCi(s, bootOptions(e, `iter/${judge.name}/${system}/${rule}/${t}`));
        const c = compare(s, orig, bootOptions(e, `iter-cmp/${judge.name}/${system}/${rule}/${t}`));
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
      resamples: Math.min(e.config.bootstrap, 200),
      rng: e.rng(`elo/${judge.name}`),
      groups: e.groups,
    });
    elo.push({ judge: judge.name, players: r.players, rating: r.rating, ci95: r.ci95 });
  }
  return { iterations, elo, gapRuleMeanIterations: mean(g.pit.stoppedAt) };
}

function mean(xs: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i]!;
  return xs.length ? s / xs.length : Number.NaN;
}
