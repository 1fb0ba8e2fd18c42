/**
 * PPO configuration: every field with its meaning and default in one place. Defaults follow TRL's
 * `PPOConfig` where that makes sense at small-model scale; where they differ the reason is given.
 */
import {
  check,
  checkNonNegative,
  checkNonNegativeInt,
  checkOneOf,
  checkPositiveInt,
  resolveConfig,
} from '../../runtime/validate';
import type { LrSchedule } from '../loop';
import type { KlEstimator } from './core';

/** How PPO estimates advantages: a learned critic with GAE, or a group baseline without one. */
export type AdvantageKind = 'gae' | 'rloo' | 'grpo';

export interface PpoConfig {
  // ── training length and batches ──
  /** PPO updates (rollout + optimisation rounds) to run. @defaultValue 100 */
  totalUpdates: number;
  /** Prompts per rollout (TRL's `batch_size` = per-device batch × accumulation). @defaultValue 16 */
  batchSize: number;
  /** Minibatches each rollout is split into per PPO epoch. @defaultValue 2 */
  nMinibatches: number;
  /** Passes over each rollout (TRL `num_ppo_epochs`). @defaultValue 4 */
  ppoEpochs: number;

  // ── generation ──
  /** Most response tokens sampled per prompt (TRL `response_length` 53). @defaultValue 24 */
  responseLength: number;
  /** Sampling temperature; logits are divided by it in rollout and update. @defaultValue 0.7 */
  temperature: number;
  /** Stop token id; everything after it is padding. @defaultValue 2 (EOS) */
  eosId: number;
  /** Pad token id; must differ from `eosId` (rlhf-practice §4.2). @defaultValue 0 */
  padId: number;

  // ── objective ──
  /** Ratio clip ε (TRL `cliprange`). @defaultValue 0.2 */
  clipRange: number;
  /** Value clip ε_v (TRL `cliprange_value`). @defaultValue 0.2 */
  clipRangeValue: number;
  /** Weight of the value loss (TRL `vf_coef`). @defaultValue 0.1 */
  vfCoef: number;
  /** Initial KL coefficient β (TRL `kl_coef` 0.05). @defaultValue 0.05 */
  klCoef: number;
  /** Per-token KL estimator: 'k1' (TRL default) or 'k3' (always ≥ 0). @defaultValue 'k1' */
  klEstimator: KlEstimator;
  /** Target per-sequence KL for the adaptive controller; 0 keeps β fixed (TRL today). @defaultValue 0 */
  klTarget: number;
  /** Horizon, in episodes, of the adaptive controller (Ziegler et al.: 10000). @defaultValue 10000 */
  klHorizon: number;
  /** Subtracted from the score of responses without EOS; 0 = off. @defaultValue 1 */
  missingEosPenalty: number;
  /** GAE discount γ. @defaultValue 1 */
  gamma: number;
  /** GAE λ. @defaultValue 0.95 */
  lam: number;
  /** Whiten per-token rewards by scale only (TRL `whiten_rewards`). @defaultValue false */
  whitenRewards: boolean;

  // ── advantage estimator ──
  /**
   * 'gae': the learned critic and GAE (actor–critic PPO). 'rloo' and 'grpo' drop the critic for
   * a baseline from `groupSize` samples of the same prompt (see `group.ts`): RLOO (Ahmadian et
   * al. 2024) subtracts the other samples' mean reward, with β·KL summed into the reward; GRPO
   * (Shao et al. 2024) standardises within the group and adds β·KL (k3) to the loss. Both keep
   * the clipped ratio objective; `vfCoef`, `clipRangeValue`, `gamma`, `lam` and `whitenRewards`
   * only apply to 'gae'. @defaultValue 'gae'
   */
  advantage: AdvantageKind;
  /**
   * Samples per prompt for 'rloo'/'grpo': each rollout holds batchSize/groupSize prompts, each
   * answered groupSize times. It must divide `batchSize` and be ≥ 2. With 'gae' (one sample per
   * prompt) it is ignored and must stay at its default, so a stray setting is caught rather than
   * silently dropped. @defaultValue 4
   */
  groupSize: number;

  // ── optimiser ──
  /**
   * AdamW learning rate for policy and critic together. TRL's 3e-6 suits 1B models; a 100k
   * parameter GPT needs a much larger step to move in tens of updates. @defaultValue 1e-4
   */
  lr: number;
  /** Global gradient-norm clip ([N]/OpenRLHF 1.0). @defaultValue 1 */
  maxGradNorm: number;
  /** Learning-rate schedule over `totalUpdates` ('linear' anneals to 0 as TRL does). @defaultValue 'constant' */
  lrSchedule: LrSchedule;

  // ── logging and checkpoints ──
  /** Log a (prompt, response, score) table every this many updates; 0 = never. @defaultValue 10 */
  sampleInterval: number;
  /** Rows in each sample table. @defaultValue 4 */
  sampleRows: number;
  /** Save a checkpoint every this many updates (when a directory is given); 0 = end only. @defaultValue 10 */
  saveInterval: number;

  // ── held-out selection (needs `PpoOptions.validate`) ──
  /**
   * Score the policy on held-out prompts before the first update and every this many updates
   * (and after the last); the best-scoring policy is restored at the end, like TRL's
   * `load_best_model_at_end`. A learned reward can be over-optimised: the held-out check uses
   * another model than the training reward. 0 = off. @defaultValue 0
   */
  validateEvery: number;
  /** Stop once this many checks in a row fail to beat the best; 0 = never stop early. @defaultValue 0 */
  patience: number;
  /**
   * A later policy replaces the kept one only when its per-prompt held-out scores beat the kept
   * one's by more than this many standard errors of the paired difference (`beatsKept`); 0 keeps
   * any higher mean. A margin needs `validate` to return per-prompt scores. @defaultValue 0
   */
  selectionMargin: number;
}

export const DEFAULT_PPO_CONFIG: Readonly<PpoConfig> = Object.freeze({
  totalUpdates: 100,
  batchSize: 16,
  nMinibatches: 2,
  ppoEpochs: 4,
  responseLength: 24,
  temperature: 0.7,
  eosId: 2,
  padId: 0,
  clipRange: 0.2,
  clipRangeValue: 0.2,
  vfCoef: 0.1,
  klCoef: 0.05,
  klEstimator: 'k1',
  klTarget: 0,
  klHorizon: 10000,
  missingEosPenalty: 1,
  gamma: 1,
  lam: 0.95,
  whitenRewards: false,
  advantage: 'gae',
  groupSize: 4,
  lr: 1e-4,
  maxGradNorm: 1,
  lrSchedule: 'constant',
  sampleInterval: 10,
  sampleRows: 4,
  saveInterval: 10,
  validateEvery: 0,
  patience: 0,
  selectionMargin: 0,
});

/**
 * Fills defaults and rejects unknown keys, wrong types and inconsistent values, naming the field;
 * `path` names the config in errors ('PpoConfig', or 'config.rlhf' for a pipeline section).
 */
export function resolvePpoConfig(partial: Partial<PpoConfig> = {}, path = 'PpoConfig'): PpoConfig {
  const c = resolveConfig(DEFAULT_PPO_CONFIG, partial, path);
  const at = (key: keyof PpoConfig) => `${path}.${key}`;
  for (const key of ['validateEvery', 'patience'] as const) checkNonNegativeInt(at(key), c[key]);
  checkNonNegative(at('selectionMargin'), c.selectionMargin);
  for (const key of [
    'totalUpdates',
    'batchSize',
    'nMinibatches',
    'ppoEpochs',
    'responseLength',
  ] as const) {
    checkPositiveInt(at(key), c[key]);
  }
  check(
    c.batchSize % c.nMinibatches === 0,
    at('batchSize'),
    `divisible by nMinibatches (${c.nMinibatches})`,
    c.batchSize,
  );
  checkOneOf(at('klEstimator'), c.klEstimator, ['k1', 'k3']);
  checkOneOf(at('lrSchedule'), c.lrSchedule, ['constant', 'linear', 'cosine']);
  check(
    c.padId !== c.eosId,
    at('padId'),
    `different from eosId (${c.eosId}): padding would mask EOS`,
    c.padId,
  );
  check(c.temperature > 0, at('temperature'), '> 0 (PPO needs a sampling policy)', c.temperature);
  checkGroupFields(c, at);
  return c;
}

/** `advantage` and `groupSize`: a group needs ≥ 2 members and must tile the batch. */
function checkGroupFields(c: PpoConfig, at: (key: keyof PpoConfig) => string): void {
  checkOneOf(at('advantage'), c.advantage, ['gae', 'rloo', 'grpo']);
  checkPositiveInt(at('groupSize'), c.groupSize);
  const byDefault = DEFAULT_PPO_CONFIG.groupSize;
  if (c.advantage === 'gae') {
    const rule = `left at ${byDefault} with advantage 'gae' (it counts samples per prompt for 'rloo' and 'grpo')`;
    check(c.groupSize === byDefault, at('groupSize'), rule, c.groupSize);
    return;
  }
  const why = `a group baseline needs other samples of the prompt`;
  check(
    c.groupSize >= 2,
    at('groupSize'),
    `at least 2 with advantage '${c.advantage}' (${why})`,
    c.groupSize,
  );
  const tiles = `a divisor of batchSize (${c.batchSize})`;
  check(c.batchSize % c.groupSize === 0, at('groupSize'), tiles, c.groupSize);
}
