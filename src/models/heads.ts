/**
 * A scalar head on the GPT trunk, read at weighted positions of each row (one-hot: one position).
 * The positions are picked by a product with a weight matrix over time rather than a gather, so
 * the backward pass is a dense multiply on every backend (gather's gradient is an
 * UnsortedSegmentSum, slow on wasm).
 */
import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../runtime';

/** Linear C → 1 with names `score.weight` [C, 1] and `score.bias` [1]. */
export class ScalarHead {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable;

  /**
   * Fresh head: N(0, 1/√(C+1)) weights as in Ziegler et al. (rlhf-practice §4.9), zero bias. With
   * `weight`/`bias`, copies them (the variables own their own memory).
   */
  constructor(C: number, init: { rng?: Rng; weight?: tf.Tensor; bias?: tf.Tensor } = {}) {
    const std = 1 / Math.sqrt(C + 1);
    const w = init.weight
      ? init.weight.reshape([C, 1])
      : tf.tensor2d(
          Float32Array.from({ length: C }, () => (init.rng?.normal() ?? 0) * std),
          [C, 1],
        );
    const b = init.bias ? init.bias.reshape([1]) : tf.zeros([1]);
    this.weight = tf.variable(w, true);
    this.bias = tf.variable(b, true);
    tf.dispose([w, b]);
  }

  params(): Map<string, tf.Variable> {
    return new Map([
      ['score.weight', this.weight],
      ['score.bias', this.bias],
    ]);
  }

  /** pooled [N, C] → [N]. */
  apply(pooled: tf.Tensor2D): tf.Tensor1D {
    return tf.tidy(() => {
      const N = pooled.shape[0];
      return tf
        .matMul(pooled, this.weight as tf.Tensor2D)
        .add(this.bias)
        .reshape([N]) as tf.Tensor1D;
    });
  }

  dispose(): void {
    tf.dispose([this.weight, this.bias]);
  }
}

/**
 * Weighted sum over time of each row's hidden states: hidden [B, T, C], weights [B, T] → [B, C].
 * With a one-hot row it picks that position.
 */
export function pickPositions(hidden: tf.Tensor3D, weights: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const [B, T] = weights.shape;
    return hidden.mul(weights.reshape([B, T, 1])).sum(1) as tf.Tensor2D; // [B, C]
  });
}
