/**
 * The critic: a GPT trunk with a scalar head read at every position, V(s_t) for each prefix.
 * PPO initialises it from the reward model ([N+], TRL) so that it starts with the reward's
 * features and tokenizer; `ValueModel.fromTrunk` copies the weights, never shares them.
 */
import * as tf from '@tensorflow/tfjs';
import { type ForwardOptions, Gpt } from '../../models';

/** Anything with a GPT trunk and a scalar head [C, 1] + [1] (e.g. a reward model). */
export interface ScalarHeadSource {
  trunk: Gpt;
  headWeight: tf.Tensor; // [C, 1]
  headBias: tf.Tensor; // [1]
  /** Normalisation subtracted from the source's scores; folded into the critic's bias. */
  offset?: number;
}

/**
 * A trainable variable holding a copy of `init`, which it disposes: tf.variable keeps the initial
 * tensor alive (and counted) otherwise.
 */
function ownVariable(init: tf.Tensor): tf.Variable {
  const v = tf.variable(init, true);
  v.assign(init); // detach from init's data before disposing it
  init.dispose();
  return v;
}

/** A value model V(x, y_<t): its own copy of a trunk plus a linear scalar head. */
export class ValueModel {
  readonly headWeight: tf.Variable;
  readonly headBias: tf.Variable;

  constructor(
    readonly trunk: Gpt,
    headWeight?: tf.Tensor,
    headBias?: tf.Tensor,
  ) {
    const C = trunk.config.nEmbd;
    // Without a reward head to copy, start at V ≡ 0 as [N] does for a fresh value head.
    this.headWeight = ownVariable(headWeight ? headWeight.reshape([C, 1]) : tf.zeros([C, 1]));
    this.headBias = ownVariable(headBias ? headBias.reshape([1]) : tf.zeros([1]));
  }

  /** A critic whose trunk and head are copies of `source`'s (e.g. R_P or R_PIT). */
  static fromTrunk(source: ScalarHeadSource): ValueModel {
    const copies = new Map(
      [...source.trunk.params].map(([name, v]) => [name, ownVariable(v.clone())]),
    );
    // Fold the reward's offset into the bias so V starts on the normalised score scale PPO uses.
    const bias = tf.tidy(() => source.headBias.sub(source.offset ?? 0));
    const critic = new ValueModel(new Gpt(source.trunk.config, copies), source.headWeight, bias);
    bias.dispose();
    return critic;
  }

  variables(): tf.Variable[] {
    return [...this.trunk.variables(), this.headWeight, this.headBias];
  }

  /** Scalar per hidden state: [B, T, C] → [B, T]. The linear runs on [B*T, C] (fast on wasm). */
  head(hidden: tf.Tensor3D): tf.Tensor2D {
    return tf.tidy(() => {
      const [B, T, C] = hidden.shape;
      const flat = hidden.reshape([B * T, C]) as tf.Tensor2D; // [B*T, C]
      return tf
        .matMul(flat, this.headWeight as tf.Tensor2D)
        .add(this.headBias)
        .reshape([B, T]) as tf.Tensor2D;
    });
  }

  /** V at every position of `ids` [B, T] → [B, T]. Caller owns the result. */
  values(ids: tf.Tensor2D, options: ForwardOptions = {}): tf.Tensor2D {
    return tf.tidy(() => this.head(this.trunk.forward(ids, options).hidden));
  }

  dispose(): void {
    this.trunk.dispose();
    this.headWeight.dispose();
    this.headBias.dispose();
  }
}
