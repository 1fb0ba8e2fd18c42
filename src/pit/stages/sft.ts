/**
 * The SFT stages: M_P on x → y_w (`sft_mp`), the improver M_PIT on (x, y_l) → y_w (`sft_pit`) and
 * the Self-Refine baseline's generate/critique/refine model (`sft_self_refine`). The improvers
 * start from M_P^SFT, as the paper starts every model from one pretrained LLM.
 */
import path from 'node:path';
import { Gpt, saveGpt } from '../../models';
import { runtime } from '../../runtime';
import type { TrainerHooks } from '../../train/loop';
import { resolveSftConfig, sftExamples, trainSft } from '../../train/sft';
import { type PipelineConfig, trainSettings } from '../config';
import { selfRefineExamples } from '../self_refine';
import { FILES, keepMetrics, loadPolicy, writeJson } from './artifacts';
import {
  type Ctx,
  estimatedSeconds,
  modelConfig,
  type PipelineStage,
  progressHooks,
  readTokenized,
} from './common';

/**
 * An SFT section as its stage's key sees it: gradient threads change where gradients are
 * computed, not what they are (tests/train/gradient_thread.test.ts), so they keep the artifact.
 */
function trainedBy(section: PipelineConfig['sft']): Omit<PipelineConfig['sft'], 'gradientThreads'> {
  const { gradientThreads: _threads, ...settings } = section;
  return settings;
}

/**
 * An SFT stage's share of the run's cores: its own (1 + gradient threads), and the spare ones it
 * can put to work as gradient threads if the runner lends them mid-run (one per micro-batch).
 */
function sftCores(section: PipelineConfig['sft']) {
  const { microBatches, gradientThreads } = resolveSftConfig(section);
  return { cores: 1 + gradientThreads, spareCores: microBatches - 1 - gradientThreads };
}

/** The trainer's hooks: progress, and the cores the runner lends the stage. */
const sftHooks = (ctx: Ctx): TrainerHooks => ({
  ...progressHooks(ctx),
  lentCores: () => ctx.lentCores?.() ?? 0,
});

/** M_P (from scratch) or M_PIT (from M_P^SFT) trained on the pairs in `kind`'s layout. */
function sftStage(
  name: 'sft_mp' | 'sft_pit',
  kind: 'mp' | 'mpit',
  section: 'sft' | 'sftImprover',
): PipelineStage {
  return {
    name,
    deps: kind === 'mp' ? { tok: 'tokenizer' } : { tok: 'tokenizer', base: 'sft_mp' },
    config: (c: PipelineConfig) => [c.model, trainedBy(c[section])],
    cores: (c) => sftCores(c[section]).cores,
    spareCores: (c) => sftCores(c[section]).spareCores,
    cost: (c) => estimatedSeconds(name, c[section].maxSteps * c[section].batchSize),
    artifacts: [FILES.policy, FILES.summary],
    async run(ctx: Ctx) {
      runtime.seed(ctx.seed);
      const { splits, tok } = readTokenized(ctx.inputs.tok!);
      const model = ctx.inputs.base
        ? loadPolicy(ctx.inputs.base)
        : new Gpt(modelConfig(ctx.config, tok, 'model'), undefined, `${name}.init`);
      const data = {
        train: sftExamples(tok, splits.train, kind),
        eval: sftExamples(tok, splits.valid, kind),
      };
      const result = await trainSft(
        { policy: model },
        data,
        trainSettings(ctx.config[section], ctx.workDir, 'sft'),
        sftHooks(ctx),
      );
      keepMetrics(ctx.workDir, ctx.outDir);
      saveGpt(path.join(ctx.outDir, FILES.policy), model);
      writeJson(ctx.outDir, FILES.summary, {
        lastTrain: result.lastTrain,
        lastEval: result.lastEval,
        seconds: result.seconds,
        threadedSteps: result.threadedSteps,
      });
      model.dispose();
    },
  };
}

const selfRefineStage: PipelineStage = {
  name: 'sft_self_refine',
  deps: { tok: 'tokenizer', base: 'sft_mp' },
  config: (c) => [c.model, trainedBy(c.sftImprover)],
  cores: (c) => sftCores(c.sftImprover).cores,
  spareCores: (c) => sftCores(c.sftImprover).spareCores,
  cost: (c) =>
    estimatedSeconds('sft_self_refine', c.sftImprover.maxSteps * c.sftImprover.batchSize),
  artifacts: [FILES.policy],
  async run(ctx) {
    runtime.seed(ctx.seed);
    const { splits, tok } = readTokenized(ctx.inputs.tok!);
    const model = loadPolicy(ctx.inputs.base!);
    const train = selfRefineExamples(tok, splits.train, splits.refine, model.config.blockSize);
    await trainSft(
      { policy: model },
      { train },
      trainSettings(ctx.config.sftImprover, ctx.workDir, 'sft'),
      sftHooks(ctx),
    );
    keepMetrics(ctx.workDir, ctx.outDir);
    saveGpt(path.join(ctx.outDir, FILES.policy), model);
    model.dispose();
  },
};

export const sftStages: PipelineStage[] = [
  sftStage('sft_mp', 'mp', 'sft'),
  sftStage('sft_pit', 'mpit', 'sftImprover'),
  selfRefineStage,
];
