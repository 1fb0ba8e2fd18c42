/**
 * The PIT pipeline's stages. Each is a pure function of its declared inputs (artifact dirs), its
 * config section and the seed; it writes its artifact into `ctx.outDir` and its trainer
 * checkpoints into `ctx.workDir`, so a killed stage resumes from its last checkpoint.
 *
 *   data ─▶ tokenizer ─┬▶ sft_mp ─▶ rm_rp ─┬▶ rl_mp ───────────┐
 *                      │                   ├▶ rm_rpit ─┐        │
 *                      │                   └───────────┤        │   (R_P: pit_rl's held-out check)
 *                      ├▶ sft_pit ─────────────────────┴▶ pit_rl (+ r0, r1) ─┐
 *                      ├▶ sft_self_refine ───────────────────────────────────┼▶ experiments
 *                      └▶ judge_rm ──────────────────────────────────────────┘
 *
 * The experiment stages (exp_main ... evaluate) are in `experiment_stages.ts`.
 */
import { copyFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  BpeTokenizer,
  generateSynthetic,
  loadPreferences,
  loadRefineDemos,
  loadSynthetic,
  type RefineDemo,
  type Tokenizer,
  WordTokenizer,
} from '../data';
import { type Format, guessFormat } from '../data/load';
import { SPECIAL_IDS } from '../data/tokenizer/special';
import { Gpt, type GptConfig, loadGpt, saveGpt } from '../models';
import { copyTrunk, loadRewardModel, RewardModel, saveRewardModel } from '../models/reward';
import { runtime } from '../runtime';
import { policyPrompt } from '../train/batches';
import type { TrainerHooks } from '../train/loop';
import { trainPitRl } from '../train/pit_rl';
import { type RewardFn, trainPpo, ValueModel } from '../train/ppo';
import { evaluateReward, type Pair, trainReward } from '../train/reward';
import { sftExamples, trainSft } from '../train/sft';
import type { PipelineConfig } from './config';
import { improveOnce, respond, scoreGap, scoreRp } from './generate';
import type { StageContext, StageDef } from './graph';
import { selfRefineExamples } from './self_refine';

export interface Splits {
  train: Pair[];
  valid: Pair[];
  test: Pair[];
  refine: RefineDemo[];
  /** The independent judge's own training pairs (absent: it trains on `valid`). */
  judge?: Pair[];
  synthetic: boolean;
}

const json = (file: string) => JSON.parse(readFileSync(file, 'utf8'));
const writeJson = (dir: string, name: string, value: unknown) =>
  writeFileSync(path.join(dir, name), `${JSON.stringify(value, null, 1)}\n`);

export function readSplits(dir: string): Splits {
  return json(path.join(dir, 'splits.json'));
}

export function readTokenizer(dir: string): Tokenizer {
  const j = json(path.join(dir, 'tokenizer.json'));
  return j.kind === 'word' ? WordTokenizer.fromJSON(j) : BpeTokenizer.fromJSON(j);
}

export const loadPolicy = (dir: string) => loadGpt(path.join(dir, 'model.safetensors'));
export const loadReward = (dir: string) => loadRewardModel(path.join(dir, 'rm.safetensors'));

/** Copies the trainer's metrics files from the work dir into the artifact (for the report). */
function keepMetrics(ctx: StageContext<unknown>): void {
  for (const f of readdirSync(ctx.workDir)) {
    if (f.endsWith('.metrics.jsonl'))
      copyFileSync(path.join(ctx.workDir, f), path.join(ctx.outDir, f));
  }
}

function hooks(ctx: StageContext<unknown>, _total: number): TrainerHooks {
  return {
    onProgress: (step, total) =>
      ctx.progress(Math.min(1, step / Math.max(1, total)), `step ${step}/${total}`),
  };
}

function modelConfig(
  c: PipelineConfig,
  tok: Tokenizer,
  which: 'model' | 'judgeModel',
): Partial<GptConfig> {
  return { ...c[which], vocabSize: tok.vocabSize };
}

/**
 * Token-level truncation for real text, so every layout (up to x, y_ref and y together) fits the
 * context: prompts keep their end, responses their start. Re-encoding decoded text can add tokens
 * (a cut inside a multi-byte character decodes to U+FFFD), so each cut is checked and shortened.
 */
function fitPair(tok: Tokenizer, p: Pair, blockSize: number): Pair {
  const budget = Math.floor((blockSize - 6) / 3);
  const fit = (ids: number[], keepEnd: boolean): string => {
    for (let k = Math.min(budget, ids.length); k >= 0; k--) {
      const text = tok.decode(keepEnd ? ids.slice(ids.length - k) : ids.slice(0, k));
      if (tok.encode(text).length <= budget) return text;
    }
    return '';
  };
  return {
    prompt: fit(tok.encode(p.prompt), true),
    chosen: fit(tok.encode(p.chosen), false),
    rejected: fit(tok.encode(p.rejected), false),
  };
}

const trainCfg = (
  s: { steps: number; batchSize: number; lr: number },
  outDir: string,
  stage: string,
) => ({
  maxSteps: s.steps,
  batchSize: s.batchSize,
  lr: s.lr,
  warmupSteps: Math.min(20, Math.floor(s.steps / 10)),
  logEvery: Math.max(1, Math.min(10, Math.floor(s.steps / 10))),
  evalEvery: 0,
  // A checkpoint every ~quarter of the run (a multiple of logEvery), so a killed stage resumes.
  checkpointEvery:
    Math.max(1, Math.min(10, Math.floor(s.steps / 10))) * Math.max(1, Math.round(s.steps / 40)),
  outDir,
  stage,
});

type Ctx = StageContext<PipelineConfig>;

/** Every stage of the pipeline for one config; `pit_rl_r0`/`r1` are the curriculum ablations. */
export function pitStages(): StageDef<PipelineConfig>[] {
  return [
    {
      name: 'data',
      deps: {},
      async run(ctx: Ctx) {
        const { source, format, maxTrain } = ctx.config.data;
        const cap = <T>(rows: T[]) => (maxTrain > 0 ? rows.slice(0, maxTrain) : rows);
        const pick = (r: Pair): Pair => ({
          prompt: r.prompt,
          chosen: r.chosen,
          rejected: r.rejected,
        });
        let splits: Splits;
        if (source === 'synthetic') {
          const [train, valid, test] = await Promise.all(
            (['train', 'valid', 'test'] as const).map((s) => loadSynthetic(s)),
          );
          const heldOut = [...valid!.toRecords(), ...test!.toRecords()].map(pick);
          let trainRows = train!.toRecords().map(pick);
          let refine = await loadRefineDemos();
          const { synthSize } = ctx.config.data;
          const seen = new Set(heldOut.map((p) => p.prompt));
          if (synthSize > 0) {
            // A larger training set from the same generator (seeded by the run's seed), minus any
            // prompt of the committed valid/test files, so evaluation stays on unseen prompts.
            const gen = generateSynthetic({ seed: 1000 + ctx.seed, size: synthSize });
            trainRows = gen.pairs
              .toRecords()
              .map(pick)
              .filter((p) => !seen.has(p.prompt));
            refine = gen.demos.filter((d) => !seen.has(d.prompt));
          }
          splits = {
            train: cap(trainRows),
            valid: valid!.toRecords().map(pick),
            test: test!.toRecords().map(pick),
            refine: cap(refine),
            synthetic: true,
          };
          const { judgeSize } = ctx.config.data;
          if (judgeSize > 0) {
            // The judge's data: another draw of the generator (its own seed), sharing no prompt
            // with the policy's training pairs or the evaluation prompts.
            const used = new Set([...seen, ...splits.train.map((p) => p.prompt)]);
            const gen = generateSynthetic({
              seed: 2000 + ctx.seed,
              size: judgeSize,
              refineSize: 0,
            });
            splits.judge = gen.pairs
              .toRecords()
              .map(pick)
              .filter((p) => !used.has(p.prompt));
          }
        } else {
          const fmt = (format ?? guessFormat(source)) as Format;
          const { data } = await loadPreferences(source, { format: fmt });
          runtime.seed(ctx.seed);
          const parts = data.split({
            seed: ctx.seed,
            fractions: { train: 0.8, valid: 0.1, test: 0.1 },
          });
          splits = {
            train: cap(parts.train!.toRecords().map(pick)),
            valid: parts.valid!.toRecords().map(pick),
            test: parts.test!.toRecords().map(pick),
            refine: [],
            synthetic: false,
          };
        }
        writeJson(ctx.outDir, 'splits.json', splits);
      },
    },
    {
      name: 'tokenizer',
      deps: { data: 'data' },
      async run(ctx: Ctx) {
        const splits = readSplits(ctx.inputs.data!);
        let tok: Tokenizer;
        if (splits.synthetic) {
          tok = WordTokenizer.synthetic();
        } else {
          const texts = splits.train.flatMap((p) => [p.prompt, p.chosen, p.rejected]);
          tok = BpeTokenizer.train(texts, {
            vocabSize: Math.max(300, ctx.config.model.vocabSize ?? 512),
          });
          const block = ctx.config.model.blockSize ?? 80;
          for (const key of ['train', 'valid', 'test'] as const) {
            splits[key] = splits[key].map((p) => fitPair(tok, p, block));
          }
        }
        writeJson(ctx.outDir, 'tokenizer.json', tok.toJSON());
        writeJson(ctx.outDir, 'splits.json', splits);
      },
    },
    sftStage('sft_mp', 'mp'),
    sftStage('sft_pit', 'mpit'),
    {
      name: 'sft_self_refine',
      deps: { tok: 'tokenizer', base: 'sft_mp' },
      async run(ctx: Ctx) {
        runtime.seed(ctx.seed);
        const splits = readSplits(ctx.inputs.tok!);
        const tok = readTokenizer(ctx.inputs.tok!);
        const model = loadPolicy(ctx.inputs.base!); // the improvers share M_P's start (sftImprover)
        const train = selfRefineExamples(tok, splits.train, splits.refine, model.config.blockSize);
        await trainSft(
          { policy: model },
          { train },
          trainCfg(ctx.config.sftImprover, ctx.workDir, 'sft'),
          hooks(ctx, ctx.config.sftImprover.steps),
        );
        keepMetrics(ctx);
        saveGpt(path.join(ctx.outDir, 'model.safetensors'), model);
        model.dispose();
      },
    },
    rewardStage('rm_rp', 'rp'),
    rewardStage('rm_rpit', 'rpit'),
    {
      name: 'judge_rm',
      deps: { tok: 'tokenizer' },
      async run(ctx: Ctx) {
        // The "third-party" judge: another size and init stream, trained on pairs the policies
        // never see (its own generated set on the synthetic task, the valid split otherwise).
        // Like R_P it starts from a language model, its own: SFT on its pairs' chosen responses
        // (trained from scratch on the synthetic task it stayed near chance, 0.59 on test pairs).
        runtime.seed(ctx.seed + 1);
        const splits = readSplits(ctx.inputs.tok!);
        const tok = readTokenizer(ctx.inputs.tok!);
        const pairs = splits.judge ?? splits.valid;
        const j = ctx.config.judge;
        const lm = new Gpt(modelConfig(ctx.config, tok, 'judgeModel'), undefined, 'judge.init');
        await trainSft(
          { policy: lm },
          { train: sftExamples(tok, pairs, 'mp') },
          trainCfg({ ...j, steps: j.sftSteps }, ctx.workDir, 'judge_sft'),
          { onProgress: (step) => ctx.progress(0.5 * (step / j.sftSteps), `lm step ${step}`) },
        );
        const rm = new RewardModel('rp', copyTrunk(lm), { pooling: j.pooling });
        lm.dispose();
        const cfg = {
          ...trainCfg(ctx.config.judge, ctx.workDir, 'judge'),
          loss: 'rp-difference' as const,
        };
        const result = await trainReward(
          { reward: rm },
          { tokenizer: tok, train: pairs, eval: splits.test },
          cfg,
          { onProgress: (step) => ctx.progress(0.5 + 0.5 * (step / j.steps), `rm step ${step}`) },
        );
        keepMetrics(ctx);
        saveRewardModel(path.join(ctx.outDir, 'rm.safetensors'), rm);
        writeJson(ctx.outDir, 'summary.json', {
          lastEval: result.lastEval,
          seconds: result.seconds,
        });
        rm.dispose();
      },
    },
    {
      name: 'rl_mp',
      deps: { tok: 'tokenizer', sft: 'sft_mp', rm: 'rm_rp' },
      async run(ctx: Ctx) {
        runtime.seed(ctx.seed);
        const splits = readSplits(ctx.inputs.tok!);
        const tok = readTokenizer(ctx.inputs.tok!);
        const policy = loadPolicy(ctx.inputs.sft!);
        const ref = loadPolicy(ctx.inputs.sft!);
        const rm = loadReward(ctx.inputs.rm!);
        const critic = ValueModel.fromTrunk(rm);
        const r = ctx.config.rlhf;
        const prompts = splits.train.map((p) => policyPrompt(tok, p.prompt));
        await trainPpo({ policy, ref, critic }, prompts, rpReward(rm, tok), ppoCfg(r), {
          dir: ctx.workDir,
          stage: 'rl_mp',
          decode: (ids) => tok.decode(ids),
          ...hooks(ctx, r.iterations),
        });
        keepMetrics(ctx);
        saveGpt(path.join(ctx.outDir, 'model.safetensors'), policy);
        for (const m of [policy, ref, rm, critic]) m.dispose();
      },
    },
    pitRlStage('pit_rl', undefined),
    pitRlStage('pit_rl_r0', [0]),
    pitRlStage('pit_rl_r1', [1]),
  ];
}

/** RLHF's reward: R_P on each decoded (query, response), as the rl_mp stage trains against. */
export function rpReward(rm: RewardModel, tok: Tokenizer): RewardFn {
  // Queries are <bos> x <sep>: decoding drops the specials and gives x back.
  return (queries, responses) =>
    scoreRp(
      rm,
      tok,
      queries.map((q) => tok.decode(q)),
      responses.map((y) => decodeUntilEos(tok, y)),
    );
}

/** A sampled response's text, up to (not including) its EOS. */
export function decodeUntilEos(tok: Tokenizer, y: readonly number[]): string {
  const end = y.indexOf(SPECIAL_IDS.eos);
  return tok.decode(end < 0 ? y : y.slice(0, end));
}

/** A profile's PPO section as `trainPpo`'s config (RLHF and PIT RL alike). */
export function ppoCfg(r: PipelineConfig['rlhf']) {
  return {
    totalUpdates: r.iterations,
    batchSize: r.batchSize,
    lr: r.lr,
    klCoef: r.klCoef,
    temperature: r.temperature,
    nMinibatches: 2,
    ppoEpochs: 2,
  };
}

function sftStage(name: 'sft_mp' | 'sft_pit', kind: 'mp' | 'mpit'): StageDef<PipelineConfig> {
  return {
    name,
    deps: kind === 'mp' ? { tok: 'tokenizer' } : { tok: 'tokenizer', base: 'sft_mp' },
    async run(ctx: Ctx) {
      runtime.seed(ctx.seed);
      const splits = readSplits(ctx.inputs.tok!);
      const tok = readTokenizer(ctx.inputs.tok!);
      const model = ctx.inputs.base
        ? loadPolicy(ctx.inputs.base)
        : new Gpt(modelConfig(ctx.config, tok, 'model'), undefined, `${name}.init`);
      const section = kind === 'mp' ? ctx.config.sft : ctx.config.sftImprover;
      const data = {
        train: sftExamples(tok, splits.train, kind),
        eval: sftExamples(tok, splits.valid, kind),
      };
      const result = await trainSft(
        { policy: model },
        data,
        trainCfg(section, ctx.workDir, 'sft'),
        hooks(ctx, section.steps),
      );
      keepMetrics(ctx);
      saveGpt(path.join(ctx.outDir, 'model.safetensors'), model);
      writeJson(ctx.outDir, 'summary.json', {
        lastTrain: result.lastTrain,
        lastEval: result.lastEval,
        seconds: result.seconds,
      });
      model.dispose();
    },
  };
}

function rewardStage(name: 'rm_rp' | 'rm_rpit', kind: 'rp' | 'rpit'): StageDef<PipelineConfig> {
  const deps: Record<string, string> =
    kind === 'rp' ? { tok: 'tokenizer', sft: 'sft_mp' } : { tok: 'tokenizer', rp: 'rm_rp' };
  return {
    name,
    deps,
    async run(ctx: Ctx) {
      runtime.seed(ctx.seed);
      const splits = readSplits(ctx.inputs.tok!);
      const tok = readTokenizer(ctx.inputs.tok!);
      let rm: RewardModel;
      if (kind === 'rp') {
        // R_P starts from M_P^SFT's trunk and a fresh head, as is usual ([N], TRL).
        const sft = loadPolicy(ctx.inputs.sft!);
        rm = new RewardModel(kind, copyTrunk(sft), { pooling: ctx.config.reward.pooling });
        sft.dispose();
      } else {
        // R_PIT starts from R_P, trunk and head: its input <bos> x <sep> y <eos> <sep_ref> y_ref
        // <eos> begins with R_P's whole input, so at the first EOS it reads R_P(x, y) exactly and
        // training adds what depends on y_ref (see models/reward.ts). (Measured from M_PIT^SFT
        // instead: swap accuracy 0.57 after 100 steps, loss still at the chance value 5·ln 2.)
        const init = loadReward(ctx.inputs.rp!);
        rm = new RewardModel('rpit', init.trunk, {
          head: init.head,
          pooling: init.pooling,
          loglikWeight: init.loglikWeight,
        });
      }
      const rp = ctx.inputs.rp ? loadReward(ctx.inputs.rp) : undefined;
      const section = kind === 'rp' ? ctx.config.reward : ctx.config.gapReward;
      const cfg = {
        ...trainCfg(section, ctx.workDir, name),
        loss: kind === 'rp' ? ('rp-difference' as const) : ('five-constraints' as const),
      };
      const result = await trainReward(
        { reward: rm, rp },
        { tokenizer: tok, train: splits.train, eval: splits.valid },
        cfg,
        hooks(ctx, section.steps),
      );
      keepMetrics(ctx);
      saveRewardModel(path.join(ctx.outDir, 'rm.safetensors'), rm);
      // The test pairs are held out too (training evaluates on valid only): both splits together
      // give the accuracy a tighter interval than 199 validation pairs alone.
      const testEval = evaluateReward(rm, tok, splits.test, { rp, loss: cfg.loss });
      writeJson(ctx.outDir, 'summary.json', {
        lastTrain: result.lastTrain,
        lastEval: result.lastEval,
        testEval,
        offset: result.offset,
        seconds: result.seconds,
      });
      rm.dispose();
      rp?.dispose();
    },
  };
}

/** What `pit_rl` (and its ablations) record beside the model: each round's held-out selection. */
export interface PitRlSummary {
  rounds: Array<{
    /** 0: y_ref = y_l; 1: y_ref ~ M_P^RL. */
    round: number;
    /** PPO updates run (fewer than configured when patience ended the round). */
    updates: number;
    /** The update whose policy the round kept (0 = the policy it started from). */
    keptUpdate?: number;
    /** The kept policy's mean held-out score. */
    heldoutScore?: number;
    stoppedEarly?: boolean;
  }>;
}

function pitRlStage(name: string, rounds: number[] | undefined): StageDef<PipelineConfig> {
  return {
    name,
    deps: { tok: 'tokenizer', sft: 'sft_pit', rpit: 'rm_rpit', sampler: 'rl_mp', rp: 'rm_rp' },
    async run(ctx: Ctx) {
      runtime.seed(ctx.seed);
      const splits = readSplits(ctx.inputs.tok!);
      const tok = readTokenizer(ctx.inputs.tok!);
      const policy = loadPolicy(ctx.inputs.sft!);
      const ref = loadPolicy(ctx.inputs.sft!);
      const sampler = loadPolicy(ctx.inputs.sampler!);
      const rpit = loadReward(ctx.inputs.rpit!);
      const rp = loadReward(ctx.inputs.rp!);
      const critic = ValueModel.fromTrunk(rpit);
      const p = ctx.config.pitRl;
      const curriculumRounds = rounds ?? p.rounds;
      const curriculum = curriculumRounds.map((r) => ({
        reference: r === 0 ? ('data' as const) : ('policy' as const),
        updates: p.iterations,
      }));
      const data = splits.train.map((e) => ({
        prompt: policyPrompt(tok, e.prompt).slice(0, -1), // <bos> x; pitQuery adds <sep_ref> y_ref <sep>
        rejected: tok.encode(e.rejected),
      }));
      const text = (ids: number[]) => decodeUntilEos(tok, ids);
      const gap = (xs: number[][], ys: number[][], refs: number[][]) =>
        scoreGap(
          rpit,
          tok,
          xs.map((x) => tok.decode(x)),
          ys.map(text),
          refs.map(text),
        );
      const trained = await trainPitRl(
        { policy, ref, critic, sampler },
        data,
        gap,
        {
          rounds: curriculum,
          ppo: {
            ...ppoCfg(p),
            totalUpdates: undefined,
            validateEvery: p.validateEvery,
            patience: p.patience,
            selectionMargin: p.selectionMargin,
          },
        },
        {
          dir: ctx.workDir,
          decode: (ids) => tok.decode(ids),
          validate: heldOutImprovement(policy, sampler, rp, tok, splits.valid, ctx),
          ...hooks(ctx, p.iterations * curriculum.length),
        },
      );
      keepMetrics(ctx);
      saveGpt(path.join(ctx.outDir, 'model.safetensors'), policy);
      writeJson(ctx.outDir, 'summary.json', {
        rounds: trained.map((r, i) => ({
          round: curriculumRounds[i]!,
          updates: r.updates,
          keptUpdate: r.best?.update,
          heldoutScore: r.best?.score,
          stoppedEarly: r.stoppedEarly,
        })),
      } satisfies PitRlSummary);
      for (const m of [policy, ref, sampler, rpit, rp, critic]) m.dispose();
    },
  };
}

/**
 * PIT RL's held-out check: the improver, applied once at the inference temperature to M_P^RL's
 * responses (sampled as the evaluation samples y_0) on validation prompts, scored per prompt by
 * R_P's improvement R_P(x, y') − R_P(x, y_0), so the trainer can compare two checks pairwise. R_P
 * is not the reward being optimised (R_PIT is), so a policy that games R_PIT does not score here
 * by construction. The y_0 are sampled once; each check re-seeds its sampler, so equal weights
 * give equal scores (and a resumed run selects as an uninterrupted one).
 */
function heldOutImprovement(
  improver: Gpt,
  sampler: Gpt,
  rp: RewardModel,
  tok: Tokenizer,
  pairs: readonly Pair[],
  ctx: Ctx,
): () => Float32Array {
  const { temperature, responseTemperature, maxNewTokens } = ctx.config.improve;
  const xs = pairs.slice(0, ctx.config.pitRl.validationSize).map((p) => p.prompt);
  const y0 = respond(sampler, tok, xs, {
    temperature: responseTemperature,
    maxNewTokens,
    rng: runtime.rng('pit_rl.validate.y0'),
  });
  const base = scoreRp(rp, tok, xs, y0);
  return () => {
    const y1 = improveOnce(improver, tok, xs, y0, {
      temperature,
      maxNewTokens,
      rng: runtime.rng('pit_rl.validate.y1'),
    });
    const after = scoreRp(rp, tok, xs, y1);
    return after.map((v, i) => v - base[i]!);
  };
}
