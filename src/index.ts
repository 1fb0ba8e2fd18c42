/** pitlab's public API: what notebooks and scripts import from 'pitlab'. */
export * from './data';
export * from './eval';
export * from './models';
export * from './pit/cells';
export {
  type PipelineConfig,
  PROFILES,
  type Profile,
  profileConfig,
  resolvePipelineConfig,
} from './pit/config';
export * from './pit/experiments';
export * from './pit/generate';
export type { GraphNode, StageStatus } from './pit/graph';
export * from './pit/improve';
export type { Agreement, LossAblation, LossAblationRow } from './pit/loss_ablation';
export * from './pit/notebook';
export {
  defaultCacheDir,
  type PipelineRun,
  pipelineGraph,
  type RunOptions,
  runExperiment,
  runPipeline,
  runStages,
} from './pit/pipeline';
export type { HeldOutSplits, Results } from './pit/results';
export * from './pit/self_refine';
export {
  EXPERIMENTS,
  type ExperimentName,
  FILES,
  loadPolicy,
  loadReward,
  metricsFiles,
  type PipelineStage,
  pipelineStages,
  readJson,
  readSplits,
  readSummary,
  readTokenizer,
  type Splits,
} from './pit/stages';
export * from './runtime';
export * from './train';
export * from './viz/data';
export * from './viz/eval';
export * from './viz/notebook';
export * from './viz/training';
