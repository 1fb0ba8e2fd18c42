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
