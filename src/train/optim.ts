/** AdamW with global-norm gradient clipping, and a state that checkpoints exactly. */
import * as tf from '@tensorflow/tfjs';
import { ops } from '../runtime';

export interface AdamWConfig {
  /** Step size. @defaultValue 3e-4 */
  lr: number;
  /** @defaultValue 0.9 */
  beta1: number;
  /** @defaultValue 0.95 (nanoGPT's choice for small transformers) */
  beta2: number;
  /** @defaultValue 1e-8 */
  eps: number;
  /** Decoupled weight decay, applied to matrices only (not biases, norms). @defaultValue 0.0 */
  weightDecay: number;
  /** Clip the global gradient norm to this value (0 = off). @defaultValue 1.0 */
  maxGradNorm: number;
}

export const DEFAULT_ADAMW: Readonly<AdamWConfig> = Object.freeze({
  lr: 3e-4,
  beta1: 0.9,
  beta2: 0.95,
  eps: 1e-8,
  weightDecay: 0,
  maxGradNorm: 1,
});

export interface StepStats {
  /** Global gradient norm before clipping. */
  gradNorm: number;
}

/** Optimizer over a fixed, ordered list of variables. */
export class AdamW {
  readonly config: AdamWConfig;
  step = 0;
  private readonly m: tf.Variable[];
  private readonly v: tf.Variable[];

  constructor(
    readonly vars: tf.Variable[],
    config: Partial<AdamWConfig> = {},
  ) {
    this.config = { ...DEFAULT_ADAMW, ...config };
    // tf.variable copies its initial value, so the zeros are freed here rather than leaked
    const zeros = (x: tf.Variable) => {
      const z = tf.zerosLike(x);
      const v = tf.variable(z, false);
      z.dispose();
      return v;
    };
    this.m = vars.map(zeros);
    this.v = vars.map(zeros);
  }

  /**
   * Applies one update from `grads` (same order as `vars`), which it disposes. `lr` overrides the
   * configured rate for schedules. Returns the pre-clip gradient norm.
   */
  apply(grads: tf.Tensor[], lr = this.config.lr): StepStats {
    const { beta1, beta2, eps, weightDecay, maxGradNorm } = this.config;
    this.step += 1;
    const normT = tf.tidy(() => tf.sqrt(tf.addN(grads.map((g) => g.square().sum()))));
    const gradNorm = normT.dataSync()[0]!;
    normT.dispose();
    if (!Number.isFinite(gradNorm)) {
      tf.dispose(grads);
      throw new Error(`AdamW: non-finite gradient norm (${gradNorm}) at step ${this.step}`);
    }
    const clip = maxGradNorm > 0 && gradNorm > maxGradNorm ? maxGradNorm / (gradNorm + 1e-6) : 1;
    const shared = {
      lr,
      beta1,
      beta2,
      biasCorrection1: 1 - beta1 ** this.step,
      biasCorrection2: 1 - beta2 ** this.step,
      eps,
      gradScale: clip,
    };
    for (const [i, x] of this.vars.entries()) {
      const decay = weightDecay > 0 && x.rank >= 2 ? weightDecay : 0;
      const next = ops.adamWUpdate(x, grads[i]!, this.m[i]!, this.v[i]!, {
        ...shared,
        weightDecay: decay,
      });
      this.m[i]!.assign(next.m);
      this.v[i]!.assign(next.v);
      x.assign(next.x);
      tf.dispose([next.x, next.m, next.v]);
    }
    tf.dispose(grads);
    return { gradNorm };
  }

  /** Moments and step count, for checkpoints. */
  state(): { step: number; m: tf.Variable[]; v: tf.Variable[] } {
    return { step: this.step, m: this.m, v: this.v };
  }

  /** Restores a state produced by `state()` (values are copied). */
  setState(step: number, m: tf.Tensor[], v: tf.Tensor[]): void {
    this.step = step;
    for (let i = 0; i < this.vars.length; i++) {
      this.m[i]!.assign(m[i]!);
      this.v[i]!.assign(v[i]!);
    }
  }

  dispose(): void {
    tf.dispose([...this.m, ...this.v]);
  }
}
