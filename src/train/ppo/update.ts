/**
 * Phase 6 of a PPO update: several epochs over shuffled minibatches of one rollout, each step
 * minimising L = L_clip + vf_coef·L_V over policy and critic together with one AdamW and a global
 * gradient-norm clip (TRL wraps policy and value in one module and one optimizer the same way).
 */
import * as tf from '@tensorflow/tfjs';
import type { Gpt } from '../../models';
import { tokenLogProbs } from '../../models';
import type { Rng } from '../../runtime';
import { guardedStep } from '../loop';
import type { AdamW } from '../optim';
import type { PpoConfig } from './config';
import { clippedPolicyLoss, clippedValueLoss, entropyFromLogits, maskedMeanT } from './losses';
import { type Packed, pickRows, responseHidden, responseLogits, selectRows } from './rollout';
import type { ValueModel } from './value';

/** What one rollout's optimisation needs; all [B, R] row-major except `packed`. */
export interface UpdateBatch {
  packed: Packed;
  logprobs: Float32Array;
  values: Float32Array;
  advantages: Float32Array;
  returns: Float32Array;
}

/** Per-minibatch statistics, one entry per optimiser step (epochs × minibatches). */
export interface UpdateStats {
  pgLoss: number[];
  vfLoss: number[];
  clipfrac: number[];
  vfClipfrac: number[];
  approxkl: number[];
  ratio: number[];
  entropy: number[];
  gradNorm: number[];
}

const STAT_KEYS = [
  'pgLoss',
  'vfLoss',
  'clipfrac',
  'vfClipfrac',
  'approxkl',
  'ratio',
  'entropy',
] as const;

/**
 * Runs `ppoEpochs` × `nMinibatches` optimiser steps on `batch`. `step` (the 1-based PPO update)
 * names the update in a `NonFiniteError`, raised before a NaN/Inf reaches the weights. Leaves no
 * tensors behind.
 */
export function ppoEpochs(
  models: { policy: Gpt; critic: ValueModel },
  optimizer: AdamW,
  batch: UpdateBatch,
  config: PpoConfig,
  rng: Rng,
  lr: number,
  step: number,
): UpdateStats {
  const { B, R } = batch.packed;
  const mbSize = B / config.nMinibatches;
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
      const mb = selectRows(batch.packed, rows);
      const N = mb.B * R;
      const t = (a: Float32Array) => tf.tensor1d(pickRows(a, rows, R)); // [mb*R]
      const r = guardedStep(
        optimizer,
        () => {
          const mask = tf.tensor1d(mb.mask);
          const { logits, targets } = responseLogits(models.policy, mb, config.temperature);
          const logp = tokenLogProbs(logits, targets);
          const pl = clippedPolicyLoss(
            logp,
            t(batch.logprobs),
            t(batch.advantages),
            mask,
            config.clipRange,
          );
          const vpred = models.critic.head(responseHidden(models.critic.trunk, mb)).reshape([N]);
          const vl = clippedValueLoss(
            vpred as tf.Tensor1D,
            t(batch.values),
            t(batch.returns),
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
        },
        { stage: 'ppo', step, lr },
      );
      for (const [i, k] of STAT_KEYS.entries()) stats[k].push(r.aux.stats[i]!);
      const gradNorm = r.gradNorm;
      stats.gradNorm.push(gradNorm);
    }
  }
  return stats;
}
