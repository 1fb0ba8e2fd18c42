/** Token log-probabilities, the masked language-model loss, and the reward models' ranking losses. */
import * as tf from '@tensorflow/tfjs';
import * as ops from '../runtime/ops';
import type { Gpt } from './gpt';

/**
 * log p(target) per row: logits [N, V], targets [N] int32 → [N]. One fused kernel each way on
 * the wasm and cpu backends (runtime/ops/token_log_probs.ts; an id outside [0, V) throws there),
 * the composite below elsewhere.
 */
export function tokenLogProbs(logits: tf.Tensor2D, targets: tf.Tensor1D): tf.Tensor1D {
  if (logits.dtype !== 'float32' || !ops.fusedTokenLogProbsAvailable()) {
    return tokenLogProbsComposite(logits, targets);
  }
  return ops.fusedTokenLogProbs(logits, targets);
}

/**
 * `tokenLogProbs` and each row's entropy −Σ p log p of softmax(logits), the statistic SFT logs:
 * from the same fused pass on wasm and cpu, from one log-softmax elsewhere.
 */
export function tokenLogProbsAndEntropy(
  logits: tf.Tensor2D,
  targets: tf.Tensor1D,
): { logp: tf.Tensor1D; entropy: tf.Tensor1D } {
  if (logits.dtype === 'float32' && ops.fusedTokenLogProbsAvailable()) {
    return ops.fusedTokenStats(logits, targets);
  }
  return tf.tidy(() => {
    const all = tf.logSoftmax(logits);
    const entropy = all.exp().mul(all).sum(-1).neg() as tf.Tensor1D;
    return { logp: atTargets(all, targets), entropy };
  });
}

/**
 * `tokenLogProbs` as tfjs ops: picks the target through a one-hot product rather than a gather,
 * so the gradient is a dense multiply on every backend.
 */
export function tokenLogProbsComposite(logits: tf.Tensor2D, targets: tf.Tensor1D): tf.Tensor1D {
  return tf.tidy(() => atTargets(tf.logSoftmax(logits), targets));
}

/** Row r's entry at column targets[r] of [N, V], through a one-hot product (see above). */
function atTargets(rows: tf.Tensor, targets: tf.Tensor1D): tf.Tensor1D {
  return rows.mul(tf.oneHot(targets, rows.shape[1]!)).sum(-1) as tf.Tensor1D;
}

/** Mean negative log-likelihood over positions whose mask is 1 (0 elsewhere contributes nothing). */
export function maskedCrossEntropy(
  logits: tf.Tensor2D,
  targets: tf.Tensor1D,
  mask: tf.Tensor1D,
): tf.Scalar {
  return tf.tidy(() => {
    const nll = tokenLogProbs(logits, targets).neg();
    return nll.mul(mask).sum().div(mask.sum().maximum(1)) as tf.Scalar;
  });
}

/**
 * Log-probabilities of each token given its prefix: ids [B, L] → [B, L-1], entry t scoring
 * ids[:, t+1]. `temperature` divides the logits first (PPO scores responses at the sampling
 * temperature). `keyMask` [B, L] marks real tokens for left-padded rows.
 */
export function sequenceLogProbs(
  model: Gpt,
  ids: tf.Tensor2D,
  options: { keyMask?: tf.Tensor2D; positions?: tf.Tensor2D; temperature?: number } = {},
): tf.Tensor2D {
  return tf.tidy(() =>
    hiddenLogProbs(model, model.forward(ids, options).hidden, ids, options.temperature),
  );
}

/** `sequenceLogProbs` from a forward pass already made (a reward model reads the same pass). */
export function hiddenLogProbs(
  model: Gpt,
  hidden: tf.Tensor3D,
  ids: tf.Tensor2D,
  temperature?: number,
): tf.Tensor2D {
  return tf.tidy(() => {
    const [B, L] = ids.shape;
    const h = hidden.slice([0, 0, 0], [B, L - 1, model.config.nEmbd]);
    let logits = model.logits(h).reshape([B * (L - 1), model.config.vocabSize]) as tf.Tensor2D;
    if (temperature !== undefined && temperature !== 1) logits = logits.div(temperature);
    const targets = ids.slice([0, 1], [B, L - 1]).reshape([B * (L - 1)]) as tf.Tensor1D;
    return tokenLogProbs(logits, targets).reshape([B, L - 1]) as tf.Tensor2D;
  });
}

/**
 * Language-model loss on a batch: ids [B, L] are inputs and (shifted) targets; lossMask [B, L-1]
 * selects the target positions that count (e.g. response tokens only, for SFT).
 */
export function lmLoss(model: Gpt, ids: tf.Tensor2D, lossMask?: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => {
    const [B, L] = ids.shape;
    const inputs = ids.slice([0, 0], [B, L - 1]) as tf.Tensor2D;
    const targets = ids.slice([0, 1], [B, L - 1]).reshape([B * (L - 1)]) as tf.Tensor1D;
    const { hidden } = model.forward(inputs);
    const logits = model.logits(hidden).reshape([B * (L - 1), model.config.vocabSize]);
    const mask = (lossMask ?? tf.ones([B, L - 1])).reshape([B * (L - 1)]) as tf.Tensor1D;
    return maskedCrossEntropy(logits as tf.Tensor2D, targets, mask);
  });
}

/** −log σ(d), elementwise (softplus(−d): stable for large |d|). */
const negLogSigmoid = (d: tf.Tensor) => tf.softplus(d.neg());

/** Bradley–Terry loss, mean over pairs: −log σ(r_chosen − r_rejected). */
export function bradleyTerryLoss(chosen: tf.Tensor1D, rejected: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => negLogSigmoid(chosen.sub(rejected)).mean() as tf.Scalar);
}

/** R_PIT's loss variants (issue 4 §1); 'rp-difference' trains an R_P-layout model with BT. */
export const PIT_LOSSES = ['five-constraints', 'swap-only', 'rp-difference'] as const;
export type PitLoss = (typeof PIT_LOSSES)[number];

/** Scores of the four pairings r(x, a, b) = "how much better a is than b". */
export interface PairingScores {
  wl: tf.Tensor1D;
  ww: tf.Tensor1D;
  ll: tf.Tensor1D;
  lw: tf.Tensor1D;
}

/**
 * PIT's Eq. 2, mean over the batch of the sum of five terms −log σ(·):
 * r(w,l)>r(w,w), r(w,l)>r(l,l), r(w,l)>r(l,w), r(w,w)>r(l,w), r(l,l)>r(l,w).
 * 'swap-only' keeps only r(w,l)>r(l,w).
 */
export function pitRankingLoss(
  r: PairingScores,
  variant: 'five-constraints' | 'swap-only',
): tf.Scalar {
  return tf.tidy(() => {
    if (variant === 'swap-only') return negLogSigmoid(r.wl.sub(r.lw)).mean() as tf.Scalar;
    const terms = [
      r.wl.sub(r.ww),
      r.wl.sub(r.ll),
      r.wl.sub(r.lw),
      r.ww.sub(r.lw),
      r.ll.sub(r.lw),
    ].map(negLogSigmoid);
    return tf.addN(terms).mean() as tf.Scalar;
  });
}
