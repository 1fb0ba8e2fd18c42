/**
 * The experiments as cached stages, one per experiment, all starting from the responses that
 * `exp_main` generates (one y_0 ~ M_P^RL for every system):
 *
 *   exp_main ─┬▶ exp_temperature ─┐
 *             ├▶ exp_curriculum ──┼▶ evaluate (+ M_P^SFT vs M_P^RL) ─▶ eval.json
 *             └▶ exp_iterations ──┘
 *
 * Each stage writes its part as JSON; `evaluate` merges them into the shape of `EvalResults`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  type Comparison,
  compare,
  type Judge,
  type MeanCi,
  meanWithCi,
  oracleJudge,
} from '../eval';
import type { Gpt } from '../models';
import { runtime } from '../runtime';
import type { PipelineConfig } from './config';
import {
  curriculumExperiment,
  type ExperimentContext,
  type Generations,
  generateSystems,
  iterationsExperiment,
  mainExperiment,
  temperatureExperiment,
} from './experiments';
import { respond, scoreRp } from './generate';
import type { StageContext, StageDef } from './graph';
import { loadPolicy, loadReward, readSplits, readTokenizer } from './stages';

type Ctx = StageContext<PipelineConfig>;

/** The experiment stages, by the name `pitlab experiment <name>` uses. */
export const EXPERIMENTS = {
  main: 'exp_main',
  temperature: 'exp_temperature',
  curriculum: 'exp_curriculum',
  iterations: 'exp_iterations',
} as const;
export type ExperimentName = keyof typeof EXPERIMENTS;

/** RLHF's effect on M_P under one judge. */
export interface RlhfRow {
  judge: string;
  sft: MeanCi;
  rl: MeanCi;
  /** M_P^RL (A) against M_P^SFT (B), row by row. */
  rlVsSft: Comparison;
}

const readJson = <T>(dir: string, file: string): T =>
  JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as T;
const writeJson = (dir: string, file: string, value: unknown) =>
  writeFileSync(path.join(dir, file), JSON.stringify(value));

/**
 * What every experiment stage shares: the test prompts, the judges (the exact judge exists only
 * for the synthetic task; on real data the RM judge leads) and the random streams.
 */
function context(ctx: Ctx): {
  e: ExperimentContext;
  test: Array<{ chosen: string; rejected: string }>;
  dispose: () => void;
} {
  runtime.seed(ctx.seed);
  const tok = readTokenizer(ctx.inputs.tok!);
  const splits = readSplits(ctx.inputs.tok!);
  const test = splits.test.slice(0, ctx.config.data.evalSize);
  const judgeRm = loadReward(ctx.inputs.judge!);
  const rmJudge: Judge = { name: 'judge_rm', score: (x, y) => scoreRp(judgeRm, tok, x, y) };
  const judges = splits.synthetic ? [oracleJudge, rmJudge] : [rmJudge];
  const e: ExperimentContext = {
    tok,
    xs: test.map((p) => p.prompt),
    judges,
    config: ctx.config.improve,
    rng: (label) => runtime.rng(`eval/${label}`),
  };
  return { e, test, dispose: () => judgeRm.dispose() };
}

const synthetic = (ctx: Ctx) => readSplits(ctx.inputs.tok!).synthetic;

export function experimentStages(): StageDef<PipelineConfig>[] {
  const base = { tok: 'tokenizer', judge: 'judge_rm' };
  return [
    {
      name: 'exp_main',
      deps: {
        ...base,
        policy: 'rl_mp',
        improver: 'pit_rl',
        sftImprover: 'sft_pit',
        selfRefine: 'sft_self_refine',
        rp: 'rm_rp',
        rpit: 'rm_rpit',
      },
      async run(ctx) {
        const { e, dispose } = context(ctx);
        const load = (k: string) => loadPolicy(ctx.inputs[k]!);
        const models = {
          policy: load('policy'),
          improver: load('improver'),
          sftImprover: load('sftImprover'),
          selfRefine: synthetic(ctx) ? load('selfRefine') : undefined,
          rp: loadReward(ctx.inputs.rp!),
          rpit: loadReward(ctx.inputs.rpit!),
        };
        const g = generateSystems(models, e, (f, d) => ctx.progress(0.8 * f, d));
        ctx.progress(0.85, 'judging');
        writeJson(ctx.outDir, 'generations.json', g);
        writeJson(ctx.outDir, 'main.json', await mainExperiment(g, e));
        for (const m of Object.values(models)) m?.dispose();
        dispose();
      },
    },
    {
      name: 'exp_temperature',
      deps: { ...base, main: 'exp_main', improver: 'pit_rl', selfRefine: 'sft_self_refine' },
      async run(ctx) {
        const { e, dispose } = context(ctx);
        const g = readJson<Generations>(ctx.inputs.main!, 'generations.json');
        const improver = loadPolicy(ctx.inputs.improver!);
        const selfRefine = synthetic(ctx) ? loadPolicy(ctx.inputs.selfRefine!) : undefined;
        const rows = await temperatureExperiment({ improver, selfRefine }, g.original, e);
        writeJson(ctx.outDir, 'temperature.json', rows);
        improver.dispose();
        selfRefine?.dispose();
        dispose();
      },
    },
    {
      name: 'exp_curriculum',
      deps: { ...base, main: 'exp_main', r0: 'pit_rl_r0', r1: 'pit_rl_r1' },
      async run(ctx) {
        const { e, dispose } = context(ctx);
        const g = readJson<Generations>(ctx.inputs.main!, 'generations.json');
        const ablations = {
          'round 0 only': loadPolicy(ctx.inputs.r0!),
          'round 1 only': loadPolicy(ctx.inputs.r1!),
        };
        writeJson(ctx.outDir, 'curriculum.json', await curriculumExperiment(ablations, g, e));
        for (const m of Object.values(ablations)) m.dispose();
        dispose();
      },
    },
    {
      name: 'exp_iterations',
      deps: { ...base, main: 'exp_main' },
      async run(ctx) {
        const { e, dispose } = context(ctx);
        const g = readJson<Generations>(ctx.inputs.main!, 'generations.json');
        writeJson(ctx.outDir, 'iterations.json', await iterationsExperiment(g, e));
        dispose();
      },
    },
    {
      name: 'evaluate',
      deps: {
        ...base,
        main: 'exp_main',
        temperature: 'exp_temperature',
        curriculum: 'exp_curriculum',
        iterations: 'exp_iterations',
        policy: 'rl_mp',
        policySft: 'sft_mp',
      },
      async run(ctx) {
        const { e, test, dispose } = context(ctx);
        const main = readJson<
          Record<string, unknown> & { distributions: Record<string, number[]> }
        >(ctx.inputs.main!, 'main.json');
        // RLHF's own effect: M_P^SFT and M_P^RL sampled at the same settings, judged alike.
        const [sft, rl] = [loadPolicy(ctx.inputs.policySft!), loadPolicy(ctx.inputs.policy!)];
        const rlhf = await compareRlhf(sft, rl, e);
        sft.dispose();
        rl.dispose();
        const lead = e.judges[0]!;
        main.distributions.y_w = Array.from(
          await lead.score(
            e.xs,
            test.map((p) => p.chosen),
          ),
        );
        main.distributions.y_l = Array.from(
          await lead.score(
            e.xs,
            test.map((p) => p.rejected),
          ),
        );
        writeJson(ctx.outDir, 'eval.json', {
          ...main,
          temperatureSweep: readJson(ctx.inputs.temperature!, 'temperature.json'),
          curriculumAblation: readJson(ctx.inputs.curriculum!, 'curriculum.json'),
          ...readJson<object>(ctx.inputs.iterations!, 'iterations.json'),
          rlhf,
          judges: e.judges.map((j) => j.name),
        });
        dispose();
      },
    },
  ];
}

/** Mean judge scores of M_P^SFT and M_P^RL (same prompts, temperature and length), RL vs SFT. */
async function compareRlhf(sft: Gpt, rl: Gpt, e: ExperimentContext): Promise<RlhfRow[]> {
  const { temperature, maxNewTokens, bootstrap } = e.config;
  const gen = (label: string) => ({ temperature, maxNewTokens, rng: e.rng(label) });
  const ySft = respond(sft, e.tok, e.xs, gen('mp_sft'));
  const yRl = respond(rl, e.tok, e.xs, gen('original')); // the same draw as the main table's y_0
  const rows: RlhfRow[] = [];
  for (const judge of e.judges) {
    const [a, b] = [await judge.score(e.xs, ySft), await judge.score(e.xs, yRl)];
    const boot = (k: string) => ({ resamples: bootstrap, rng: e.rng(`rlhf/${judge.name}/${k}`) });
    rows.push({
      judge: judge.name,
      sft: meanWithCi(a, boot('sft')),
      rl: meanWithCi(b, boot('rl')),
      rlVsSft: compare(b, a, boot('cmp')),
    });
  }
  return rows;
}
