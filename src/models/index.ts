/** Models: the GPT, its sampler, losses and checkpoints. */
export { loadGpt, paramsToTensors, saveGpt } from './checkpoint';
export { DEFAULT_GPT_CONFIG, type GptConfig, resolveGptConfig } from './config';
export {
  compactCache,
  disposeCache,
  type ForwardOptions,
  Gpt,
  type KvCache,
  type LayerCache,
  type ParamMap,
  paramShapes,
} from './gpt';
export { pickPositions, ScalarHead } from './heads';
export {
  bradleyTerryLoss,
  lmLoss,
  maskedCrossEntropy,
  type PairingScores,
  PIT_LOSSES,
  type PitLoss,
  pitRankingLoss,
  sequenceLogProbs,
  tokenLogProbs,
  tokenLogProbsAndEntropy,
  tokenLogProbsComposite,
} from './loss';
export {
  loglikLayout,
  REWARD_POOLINGS,
  type RewardKind,
  RewardModel,
  type RewardModelOptions,
  type RewardPooling,
  readoutWeights,
} from './reward';
export { copyTrunk, loadRewardModel, rewardModelFrom, saveRewardModel } from './reward_store';
export { loadSafetensors, type StTensor, saveSafetensors, writeFileAtomic } from './safetensors';
export { type SampleOptions, type SampleResult, sample, sampleToken } from './sample';
