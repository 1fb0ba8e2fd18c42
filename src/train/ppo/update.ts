/**
 * Phase 6 of a PPO update: several epochs over shuffled minibatches of one rollout, each step
 * minimising L = L_clip + vf_coef·L_V over policy and critic together with one AdamW and a global
 * gradient-norm clip (TRL wraps policy and value in one module and one optimizer the same way).
 * The critic-free modes ('rloo', 'grpo') minimise L_clip alone, plus GRPO's KL term.
 */
import * as tf from '@tensorflow/tfjs';
import type { Gpt } from '../../models';
import { tokenLogProbs } from '../../models';
import type { Rng } from '../../runtime';
import { guardedStep } from '../loop';
import type { AdamW } from '../optim';
import type { PpoConfig } from './config';
import {
  clippedPolicyLoss,
  clippedValueLoss,
  entropyFromLogits,
  k3KlLoss,
  maskedMeanT,
} from './losses';
import { type Packed, pickRows, responseHidden, responseLogits, selectRows } from './rollout';
import type { ValueModel } from './value';

/** What one rollout's optimisation needs; all [B, R] row-major except `packed`. */
export interface UpdateBatch {
  packed: Packed;
  logprobs: Float32Array;
  advantages: Float32Array;
  /** The critic's rollout values and GAE returns: a value loss only when both are given. */
  values?: Float32Array;
  returns?: Float32Array;
  /**
   * Per-token weights replacing the mask in the policy loss (GRPO's per-sequence mean); its
   * clipfrac, approxkl and ratio statistics then average per sequence too.
   */
  lossWeights?: Float32Array;
  /** GRPO's KL loss term: coef · k3(π_ref/π), averaged as the policy loss is. */
  klLoss?: { refLogprobs: Float32Array; coef: number };
}

/** Per-minibatch statistics, one entry per optimiser step (epochs × minibatches). */
export interface UpdateStats {
  pgLoss: number[];
  /** Empty without a critic, as is `vfClipfrac`. */
  vfLoss: number[];
  clipfrac: number[];
  vfClipfrac: number[];
  approxkl: number[];
  ratio: number[];
  entropy: number[];
  gradNorm: number[];
}

type StatKey = Exclude<keyof UpdateStats, 'gradNorm'>;
const STAT_KEYS: readonly StatKey[] = [
  'pgLoss',
  'vfLoss',
  'clipfrac',
  'vfClipfrac',
  'approxkl',
  'ratio',
  'entropy',
];
const CRITIC_FREE_KEYS: readonly StatKey[] = ['pgLoss', 'clipfrac', 'approxkl', 'ratio', 'entropy'];

/**
 * Runs `ppoEpochs` × `nMinibatches` optimiser steps on `batch`. `step` (the 1-based PPO update)
 * names the update in a `NonFiniteError`, raised before a NaN/Inf reaches the weights. Leaves no
 * tensors behind. A batch without `returns` trains the policy alone (no critic forward).
 */
export function ppoEpochs(
  models: { policy: Gpt; critic?: ValueModel },
  optimizer: AdamW,
  batch: UpdateBatch,
  config: PpoConfig,
  rng: Rng,
  lr: number,
  step: number,
): UpdateStats {
  const { B } = batch.packed;
  const mbSize = B / config.nMinibatches;
  const critic = batch.values && batch.returns ? models.critic : undefined;
  if (batch.returns && !critic) throw new Error('ppoEpochs: value targets given without a critic');
  const keys = critic ? STAT_KEYS : CRITIC_FREE_KEYS;
  const stats: UpdateStats = {
    pgLoss: [],
    vfLoss: [],
    clipfrac: [],
    vfClipfrac: [],
    approxkl: [],
    ratio: [],
    entropy: [],
    gradNorm: [],
  };
  for (let epoch = 0; epoch < config.ppoEpochs; epoch++) {
    const order = rng.shuffle(Array.from({ length: B }, (_, i) => i));
    for (let start = 0; start < B; start += mbSize) {
      const rows = order.slice(start, start + mbSize);
      const r = guardedStep(
        optimizer,
        () => minibatchLoss(models.policy, critic, batch, rows, config),
        { stage: 'ppo', step, lr },
      );
      for (const [i, k] of keys.entries()) stats[k].push(r.aux.stats[i]!);
      const gradNorm = r.gradNorm;
      stats.gradNorm.push(gradNorm);
    }
  }
  return stats;
}

/**
 * One minibatch's loss: L_clip (+ vf_coef·L_V with a critic, + coef·KL for GRPO) and its stats
 * stacked in the order of `STAT_KEYS` (with a critic) or `CRITIC_FREE_KEYS`.
 */
function minibatchLoss(
  policy: Gpt,
  critic: ValueModel | undefined,
  batch: UpdateBatch,
  rows: number[],
  config: PpoConfig,
): { loss: tf.Scalar; aux: { stats: tf.Tensor } } {
  const R = batch.packed.R;
  const mb = selectRows(batch.packed, rows);
  const N = mb.B * R;
  const t = (a: Float32Array) => tf.tensor1d(pickRows(a, rows, R)); // [mb*R]
  const mask = tf.tensor1d(mb.mask);
  const weights = batch.lossWeights ? t(batch.lossWeights) : mask;
  const { logits, targets } = responseLogits(policy, mb, config.temperature);
  const logp = tokenLogProbs(logits, targets);
  const pl = clippedPolicyLoss(
    logp,
    t(batch.logprobs),
    t(batch.advantages),
    weights,
    config.clipRange,
  );
  if (!critic) {
    const entropy = maskedMeanT(entropyFromLogits(logits), mask);
    const stats = tf.stack([pl.loss, pl.clipfrac, pl.approxkl, pl.ratio, entropy]);
    const kl = batch.klLoss;
    const loss = kl
      ? pl.loss.add(k3KlLoss(logp, t(kl.refLogprobs), weights).mul(kl.coef))
      : pl.loss;
    return { loss: loss as tf.Scalar, aux: { stats } };
  }
  const vpred = critic.head(responseHidden(critic.trunk, mb)).reshape([N]);
  const vl = clippedValueLoss(
    vpred as tf.Tensor1D,
    t(batch.values!),
    t(batch.returns!),
    mask,
    config.clipRangeValue,
  );
  const entropy = maskedMeanT(entropyFromLogits(logits), mask);
  const stats = tf.stack([
    pl.loss,
    vl.loss,
    pl.clipfrac,
    vl.clipfrac,
    pl.approxkl,
    pl.ratio,
    entropy,
  ]);
  return { loss: pl.loss.add(vl.loss.mul(config.vfCoef)) as tf.Scalar, aux: { stats } };
}
