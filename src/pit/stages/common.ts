/** What every stage module shares: the stage type over the pipeline config, and small helpers. */
import type { Tokenizer } from '../../data';
import type { GptConfig } from '../../models';
import type { TrainerHooks } from '../../train/loop';
import type { PipelineConfig } from '../config';
import type { StageContext, StageDef } from '../graph';
import { readSplits, readTokenizer, type Splits } from './artifacts';

export type PipelineStage = StageDef<PipelineConfig>;
export type Ctx = StageContext<PipelineConfig>;

/** Trainer hooks that report a stage's progress as steps done of `total`. */
export function progressHooks(ctx: Ctx): TrainerHooks {
  return {
    onProgress: (step, total) =>
      ctx.progress(Math.min(1, step / Math.max(1, total)), `step ${step}/${total}`),
  };
}

/** A profile's model section sized to the tokenizer's vocabulary. */
export function modelConfig(
  c: PipelineConfig,
  tok: Tokenizer,
  which: 'model' | 'judgeModel',
): Partial<GptConfig> {
  return { ...c[which], vocabSize: tok.vocabSize };
}

/** The tokenizer stage's splits and tokenizer (every training stage starts from both). */
export function readTokenized(dir: string): { splits: Splits; tok: Tokenizer } {
  return { splits: readSplits(dir), tok: readTokenizer(dir) };
}

/**
 * Seconds per unit of each stage's work on the default model: a training row for the SFT stages,
 * a preference pair for the reward models (a row for the judge's language model; a judge RM step
 * costs about three), a PPO query for RL, one draw of one evaluated prompt for the experiments.
 * Measured from a fresh default run on the 2-core reference machine (wasm, commit 66e5d05). The
 * stages' `cost` estimates multiply them by their config's sizes; only ratios order a run.
 */
const UNIT_SECONDS = {
  sft_mp: 4.1e-3,
  sft_pit: 5.7e-3,
  sft_self_refine: 6.9e-3,
  rm_rp: 8.1e-3,
  rm_rpit: 22e-3,
  judge_rm: 3e-3,
  rl_mp: 27e-3,
  pit_rl: 28e-3,
  exp_main: 48e-3,
  exp_temperature: 35e-3,
  exp_iterations: 19e-3,
  exp_curriculum: 10e-3,
  evaluate: 9e-3,
  exp_loss: 60e-3,
} as const;

/** A stage with a measured unit cost. */
export type CostedStage = keyof typeof UNIT_SECONDS;

/** Estimated seconds of `units` of `kind`'s work (see `UNIT_SECONDS`). */
export const estimatedSeconds = (kind: CostedStage, units: number): number =>
  UNIT_SECONDS[kind] * units;
