/**
 * The experiments as cached stages, one per experiment, all starting from one y_0 ~ M_P^RL for
 * every system: `exp_main` samples it and generates every system's responses, which the others
 * read; `exp_temperature` samples the same y_0 itself (`sampleOriginal`), so it runs beside
 * `exp_main`:
 *
 *   exp_temperature ───┐
 *   exp_main ─┬▶ exp_curriculum ──┼▶ evaluate (+ M_P^SFT vs M_P^RL) ─▶ eval.json
 *             └▶ exp_iterations ──┘
 *
 * Each stage writes its part as JSON; `evaluate` merges them into the shape of `EvalResults`.
 */
import {
  type Comparison,
  compare,
  type Judge,
  type MeanCi,
  meanWithCi,
  oracleJudge,
} from '../../eval';
import type { Gpt } from '../../models';
import { runtime } from '../../runtime';
import {
  curriculumExperiment,
  type ExperimentContext,
  evaluationPairs,
  evaluationRows,
  type Generations,
  generateSystems,
  iterationsExperiment,
  mainExperiment,
  sampleOriginal,
  temperatureExperiment,
} from '../experiments';
import { respond, scoreRp } from '../generate';
import { type GapModel, lossAblation, sampleEdits } from '../loss_ablation';
import { type ArtifactFile, FILES, loadPolicy, loadReward, readJson, writeJson } from './artifacts';
import {
  type CostedStage,
  type Ctx,
  estimatedSeconds,
  type PipelineStage,
  readTokenized,
} from './common';
import { GAP_LOSS_ABLATIONS } from './reward';

/** The experiment stages and their result files, by the name `pitlab experiment <name>` uses. */
export const EXPERIMENTS = {
  main: { stage: 'exp_main', file: FILES.main },
  temperature: { stage: 'exp_temperature', file: FILES.temperature },
  curriculum: { stage: 'exp_curriculum', file: FILES.curriculum },
  iterations: { stage: 'exp_iterations', file: FILES.iterations },
  loss: { stage: 'exp_loss', file: FILES.loss },
} as const;
export type ExperimentName = keyof typeof EXPERIMENTS;

/** RLHF's effect on M_P under one judge. */
export interface RlhfRow {
  judge: string;
  /** Sampling temperature of both policies: y_0's (`improve.responseTemperature`), then PPO's rollout temperature. */
  temperature: number;
  sft: MeanCi;
  rl: MeanCi;
  /** M_P^RL (A) against M_P^SFT (B), row by row. */
  rlVsSft: Comparison;
}

/**
 * What every experiment stage shares: the test prompts, the judges (the exact judge exists only
 * for the synthetic task; on real data the RM judge leads) and the random streams.
 */
interface Shared {
  e: ExperimentContext;
  test: Array<{ prompt: string; chosen: string; rejected: string }>;
  /** The validation pairs (only the loss ablation reads them). */
  valid: Array<{ prompt: string; chosen: string; rejected: string }>;
  synthetic: boolean;
  /** The responses `exp_main` generated (absent in `exp_main` itself). */
  g?: Generations;
}

/**
 * An experiment stage: sets up what the stages share (and frees the judge RM afterwards), reads
 * `exp_main`'s responses when it depends on them, and writes what `compute` returns to `file`.
 */
function experimentStage(
  name: CostedStage,
  deps: Record<string, string>,
  file: ArtifactFile,
  compute: (ctx: Ctx, s: Shared) => Promise<unknown>,
): PipelineStage {
  return {
    name,
    deps: { tok: 'tokenizer', judge: 'judge_rm', ...deps },
    // Every experiment samples and judges with the improve section on the first evalSize distinct
    // test prompts;
    // `evaluate` also samples M_P at PPO's rollout temperature.
    config: (c) =>
      name === 'evaluate'
        ? [c.improve, c.data.evalSize, c.rlhf.temperature]
        : [c.improve, c.data.evalSize],
    cost: (c) => estimatedSeconds(name, c.improve.samples * c.data.evalSize),
    artifacts: name === 'exp_main' ? [file, FILES.generations] : [file],
    async run(ctx) {
      runtime.seed(ctx.seed);
      const { splits, tok } = readTokenized(ctx.inputs.tok!);
      const test = evaluationPairs(splits.test, ctx.config.data.evalSize);
      const judgeRm = loadReward(ctx.inputs.judge!);
      const rmJudge: Judge = { name: 'judge_rm', score: (x, y) => scoreRp(judgeRm, tok, x, y) };
      const e: ExperimentContext = {
        tok,
        ...evaluationRows(
          test.map((p) => p.prompt),
          ctx.config.improve.samples,
        ),
        judges: splits.synthetic ? [oracleJudge, rmJudge] : [rmJudge],
        config: ctx.config.improve,
        rng: (label) => runtime.rng(`eval/${label}`),
      };
      const g = ctx.inputs.main
        ? readJson<Generations>(ctx.inputs.main, FILES.generations)
        : undefined;
      try {
        writeJson(
          ctx.outDir,
          file,
          await compute(ctx, { e, test, valid: splits.valid, synthetic: splits.synthetic, g }),
        );
      } finally {
        judgeRm.dispose();
      }
    },
  };
}

/** Loads policies by input name, runs `use`, then frees them. */
async function withPolicies<T>(
  ctx: Ctx,
  names: Record<string, string | undefined>,
  use: (models: Record<string, Gpt>) => Promise<T>,
): Promise<T> {
  const models: Record<string, Gpt> = {};
  for (const [label, input] of Object.entries(names)) {
    if (input) models[label] = loadPolicy(ctx.inputs[input]!);
  }
  try {
    return await use(models);
  } finally {
    for (const m of Object.values(models)) m.dispose();
  }
}

/** Every system's responses from one y_0 ~ M_P^RL, and the main table. */
const mainStage = experimentStage(
  'exp_main',
  {
    policy: 'rl_mp',
    improver: 'pit_rl',
    sftImprover: 'sft_pit',
    selfRefine: 'sft_self_refine',
    rp: 'rm_rp',
    rpit: 'rm_rpit',
  },
  FILES.main,
  async (ctx, { e, synthetic }) => {
    const policies = {
      policy: 'policy',
      improver: 'improver',
      sftImprover: 'sftImprover',
      selfRefine: synthetic ? 'selfRefine' : undefined,
    };
    return withPolicies(ctx, policies, async (m) => {
      const [rp, rpit] = [loadReward(ctx.inputs.rp!), loadReward(ctx.inputs.rpit!)];
      const models = {
        policy: m.policy!,
        improver: m.improver!,
        sftImprover: m.sftImprover!,
        selfRefine: m.selfRefine,
        rp,
        rpit,
      };
      const g = generateSystems(models, e, (f, d) => ctx.progress(0.8 * f, d));
      rp.dispose();
      rpit.dispose();
      ctx.progress(0.85, 'judging');
      writeJson(ctx.outDir, FILES.generations, g);
      return mainExperiment(g, e);
    });
  },
);

/** Merges the experiments' parts into `EvalResults`, with RLHF's own effect on M_P. */
const evaluateStage = experimentStage(
  'evaluate',
  {
    main: 'exp_main',
    temperature: 'exp_temperature',
    curriculum: 'exp_curriculum',
    iterations: 'exp_iterations',
    policySft: 'sft_mp',
    policyRl: 'rl_mp',
  },
  FILES.evaluation,
  async (ctx, { e, g, test }) => {
    const main = readJson<Record<string, unknown> & { distributions: Record<string, number[]> }>(
      ctx.inputs.main!,
      FILES.main,
    );
    // RLHF's own effect: M_P^SFT sampled at the main table's settings against its y_0, and
    // both policies at PPO's rollout temperature, the distribution PPO optimises.
    const rlhf = await withPolicies(ctx, { sft: 'policySft', rl: 'policyRl' }, (m) =>
      compareRlhf(m.sft!, m.rl!, g!.original, e, ctx.config.rlhf.temperature),
    );
    const lead = e.judges[0]!;
    const prompts = test.map((p) => p.prompt);
    main.distributions.y_w = Array.from(
      await lead.score(
        prompts,
        test.map((p) => p.chosen),
      ),
    );
    main.distributions.y_l = Array.from(
      await lead.score(
        prompts,
        test.map((p) => p.rejected),
      ),
    );
    return {
      ...main,
      temperatureSweep: readJson(ctx.inputs.temperature!, FILES.temperature),
      curriculumAblation: readJson(ctx.inputs.curriculum!, FILES.curriculum),
      ...readJson<object>(ctx.inputs.iterations!, FILES.iterations),
      rlhf,
      judges: e.judges.map((j) => j.name),
    };
  },
);

export function experimentStages(): PipelineStage[] {
  return [
    mainStage,

    // Samples y_0 itself (the same y_0 as exp_main's, from the same stream), so it runs beside
    // exp_main instead of after it.
    experimentStage(
      'exp_temperature',
      { policy: 'rl_mp', improver: 'pit_rl', selfRefine: 'sft_self_refine' },
      FILES.temperature,
      (ctx, { e, synthetic }) =>
        withPolicies(
          ctx,
          {
            policy: 'policy',
            improver: 'improver',
            selfRefine: synthetic ? 'selfRefine' : undefined,
          },
          (m) =>
            temperatureExperiment(
              { improver: m.improver!, selfRefine: m.selfRefine },
              sampleOriginal(m.policy!, e),
              e,
            ),
        ),
    ),
    experimentStage(
      'exp_curriculum',
      { main: 'exp_main', r0: 'pit_rl_r0', r1: 'pit_rl_r1' },
      FILES.curriculum,
      (ctx, { e, g }) =>
        withPolicies(ctx, { 'round 0 only': 'r0', 'round 1 only': 'r1' }, (ablations) =>
          curriculumExperiment(ablations, g!, e),
        ),
    ),
    experimentStage('exp_iterations', { main: 'exp_main' }, FILES.iterations, (_ctx, { e, g }) =>
      iterationsExperiment(g!, e),
    ),
    evaluateStage,
    lossStage,
  ];
}

/**
 * The R_PIT loss ablation (`pitlab experiment loss`; not part of `pitlab run`, since it trains two
 * more gap models): every loss's R_PIT, and R_P's difference, on held-out pairs and on M_PIT^SFT's
 * edits of y_0 ~ M_P^RL, the edits PIT RL starts from. Test edits are `exp_main`'s own
 * (y_0 → the SFT improver's y_1); validation edits are sampled the same way here.
 */
const lossStage = experimentStage(
  'exp_loss',
  {
    main: 'exp_main',
    policy: 'rl_mp',
    improver: 'sft_pit',
    rp: 'rm_rp',
    rpit: 'rm_rpit',
    ...Object.fromEntries(Object.keys(GAP_LOSS_ABLATIONS).map((name) => [name, name])),
  },
  FILES.loss,
  (ctx, { e, g, test, valid: validPairs }) =>
    withPolicies(ctx, { policy: 'policy', improver: 'improver' }, async (m) => {
      const tok = e.tok;
      const gapModels: GapModel[] = [
        { label: 'R_PIT', loss: ctx.config.gapReward.loss ?? 'five-constraints', input: 'rpit' },
        ...Object.entries(GAP_LOSS_ABLATIONS).map(([name, loss]) => ({
          label: `R_PIT (${loss})`,
          loss,
          input: name,
        })),
        { label: 'R_P difference', loss: 'none' as const, input: 'rp' },
      ].map(({ input, ...rest }) => ({ ...rest, model: loadReward(ctx.inputs[input]!) }));
      try {
        const valid = sampleEdits(
          { policy: m.policy!, improver: m.improver! },
          tok,
          [...new Set(validPairs.map((p) => p.prompt))],
          { draws: e.config.samples, ...e.config },
          (label) => e.rng(`loss/${label}`),
        );
        const testEdits = {
          xs: e.xs,
          before: g!.original,
          after: g!.sftImproved,
          groups: e.groups,
        };
        return await lossAblation(
          gapModels,
          tok,
          { valid: { pairs: validPairs, edits: valid }, test: { pairs: test, edits: testEdits } },
          e.judges[0]!,
          (label) => ({ resamples: e.config.bootstrap, rng: e.rng(`bootstrap/loss/${label}`) }),
        );
      } finally {
        for (const gm of gapModels) gm.model.dispose();
      }
    }),
);

/**
 * Mean judge scores of M_P^SFT and M_P^RL, and M_P^RL vs M_P^SFT, at two temperatures: the main
 * table's, where M_P^SFT is sampled with the same prompts and length as the table's y_0 ~ M_P^RL
 * (`yRl`), and PPO's rollout temperature, where both are sampled afresh (skipped when the two are
 * equal). RL sharpens the distribution it samples from; low-temperature sampling may hide that.
 */
async function compareRlhf(
  sft: Gpt,
  rl: Gpt,
  yRl: string[],
  e: ExperimentContext,
  rolloutTemperature: number,
): Promise<RlhfRow[]> {
  const { responseTemperature: temperature, maxNewTokens, bootstrap } = e.config;
  const sampled = (model: Gpt, t: number, label: string) =>
    respond(model, e.tok, e.xs, { temperature: t, maxNewTokens, rng: e.rng(label) });
  const settings: Array<{ t: number; ySft: string[]; yRl: string[]; tag: string }> = [
    { t: temperature, ySft: sampled(sft, temperature, 'mp_sft'), yRl, tag: '' },
  ];
  if (rolloutTemperature !== temperature) {
    settings.push({
      t: rolloutTemperature,
      ySft: sampled(sft, rolloutTemperature, 'mp_sft.rollout'),
      yRl: sampled(rl, rolloutTemperature, 'mp_rl.rollout'),
      tag: '/rollout',
    });
  }
  const rows: RlhfRow[] = [];
  for (const { t, ySft, yRl: yPolicy, tag } of settings) {
    for (const judge of e.judges) {
      const [a, b] = [await judge.score(e.xs, ySft), await judge.score(e.xs, yPolicy)];
      const boot = (k: string) => ({
        resamples: bootstrap,
        rng: e.rng(`rlhf/${judge.name}${tag}/${k}`),
        groups: e.groups,
      });
      rows.push({
        judge: judge.name,
        temperature: t,
        sft: meanWithCi(a, boot('sft')),
        rl: meanWithCi(b, boot('rl')),
        rlVsSft: compare(b, a, boot('cmp')),
      });
    }
  }
  return rows;
}
