/**
 * PPO's differentiable pieces as tensor functions: masked mean, the clipped policy (surrogate)
 * loss, the clipped value loss and entropy from logits. Formulas and statistics follow TRL's
 * `PPOTrainer.train` so that logged numbers mean the same thing as there.
 *
 * All inputs are flat [N] tensors over minibatch × response tokens with a 0/1 float mask; every
 * function runs inside `tf.tidy` and the caller owns the returned tensors.
 */
import * as tf from '@tensorflow/tfjs';

/** Σ(x·mask)/max(Σmask, 1): a scalar; masked entries receive exactly zero gradient. */
export function maskedMeanT(x: tf.Tensor, mask: tf.Tensor): tf.Scalar {
  return tf.tidy(() => x.mul(mask).sum().div(mask.sum().maximum(1)) as tf.Scalar);
}

export interface PolicyLossResult {
  /** max(−A·ρ, −A·clip(ρ, 1−ε, 1+ε)) averaged over real tokens. */
  loss: tf.Scalar;
  /** Fraction of real tokens where the clipped term was the active one. */
  clipfrac: tf.Scalar;
  /** ½·E[(log π − log π_old)²], TRL's `approxkl`. */
  approxkl: tf.Scalar;
  /** Mean ratio ρ = π/π_old over real tokens (≈ 1 when healthy). */
  ratio: tf.Scalar;
}

/**
 * PPO-clip surrogate (Schulman et al. 2017, eq. 7), written as a loss: the pessimistic max of the
 * unclipped and clipped terms, so a step gains nothing by pushing ρ beyond [1−ε, 1+ε].
 */
export function clippedPolicyLoss(
  logprobs: tf.Tensor1D,
  oldLogprobs: tf.Tensor1D,
  advantages: tf.Tensor1D,
  mask: tf.Tensor1D,
  clipRange: number,
): PolicyLossResult {
  return tf.tidy(() => {
    const diff = logprobs.sub(oldLogprobs);
    const ratio = tf.exp(diff);
    const losses = advantages.neg().mul(ratio);
    const clipped = advantages.neg().mul(tf.clipByValue(ratio, 1 - clipRange, 1 + clipRange));
    const loss = maskedMeanT(tf.maximum(losses, clipped), mask);
    const clipfrac = maskedMeanT(tf.greater(clipped, losses).toFloat(), mask);
    const approxkl = maskedMeanT(diff.square(), mask).mul(0.5) as tf.Scalar;
    return { loss, clipfrac, approxkl, ratio: maskedMeanT(ratio, mask) };
  });
}

export interface ValueLossResult {
  /** ½·max((V − G)², (clip(V, V_old ± ε_v) − G)²) averaged over real tokens. */
  loss: tf.Scalar;
  /** Fraction of real tokens where the clipped error was the larger one. */
  clipfrac: tf.Scalar;
}

/**
 * Clipped value loss ([N] detail; TRL `cliprange_value` 0.2): the new prediction may move at most
 * ε_v from the rollout's value before the loss stops rewarding the move, mirroring the policy clip.
 */
export function clippedValueLoss(
  values: tf.Tensor1D,
  oldValues: tf.Tensor1D,
  returns: tf.Tensor1D,
  mask: tf.Tensor1D,
  clipRange: number,
): ValueLossResult {
  return tf.tidy(() => {
    const clippedValues = tf
      .clipByValue(values.sub(oldValues), -clipRange, clipRange)
      .add(oldValues);
    const loss1 = values.sub(returns).square();
    const loss2 = clippedValues.sub(returns).square();
    const loss = maskedMeanT(tf.maximum(loss1, loss2), mask).mul(0.5) as tf.Scalar;
    const clipfrac = maskedMeanT(tf.greater(loss2, loss1).toFloat(), mask);
    return { loss, clipfrac };
  });
}

/** Entropy of softmax(logits) per row: logits [N, V] → [N], as logsumexp(l) − Σ softmax(l)·l. */
export function entropyFromLogits(logits: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => {
    const lse = tf.logSumExp(logits, -1);
    const p = tf.softmax(logits);
    return lse.sub(p.mul(logits).sum(-1)) as tf.Tensor1D;
  });
}

/**
 * GRPO's KL penalty as a loss term (DeepSeekMath eq. 4): the k3 estimate
 * π_ref/π − log(π_ref/π) − 1 per token, ≥ 0 and unbiased, differentiated through the current
 * log-probs and averaged with `weights` (the mask, or per-sequence weights). k3 rather than
 * `klEstimator`: k1's gradient through log π vanishes in expectation, so it would not anchor.
 */
export function k3KlLoss(
  logprobs: tf.Tensor1D,
  refLogprobs: tf.Tensor1D,
  weights: tf.Tensor1D,
): tf.Scalar {
  return tf.tidy(() => {
    // Padding carries weight 0 but no real log-probs (the reference's are 0 there, the policy's
    // can be −300 at T = 0.2): e^300 overflows, and ∞·0 would make the whole loss NaN.
    const logr = tf.where(weights.greater(0), refLogprobs.sub(logprobs), tf.zerosLike(logprobs));
    return maskedMeanT(tf.exp(logr).sub(logr).sub(1), weights);
  });
}
