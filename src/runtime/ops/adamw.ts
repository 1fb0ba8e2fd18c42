/**
 * One AdamW update of one parameter tensor. The composite formulation is a dozen elementwise
 * kernels per tensor, so a 40-tensor model paid about 500 kernel dispatches per step for its
 * optimizer alone. On wasm the fused kernel is one SIMD WebAssembly call per tensor (adamw.wat,
 * float32 in the composite's order of operations), on cpu plain JS in float64, stored in float32.
 * Other backends (or `setFusedOpsEnabled(false)`) run the composite.
 */
import * as tf from '@tensorflow/tfjs';
import { heapModule, sizeOf } from '../kernels/wasm';
import { WASM_BASE64 } from './adamw_wasm';
import { fusedOnActiveBackend, registerFusedKernel, runFused } from './fused';

/** adamw.wat's export. */
interface AdamWModule {
  update(...args: number[]): void;
}

export const ADAMW_UPDATE = 'PitlabAdamWUpdate';

/** The scalars of one update; the bias corrections are 1 − β^step. */
export interface AdamWUpdateAttrs {
  lr: number;
  beta1: number;
  beta2: number;
  biasCorrection1: number;
  biasCorrection2: number;
  eps: number;
  /** Decoupled weight decay for this tensor (0 for biases and norms). */
  weightDecay: number;
  /** Gradient multiplier (the global-norm clip; 1 = none). */
  gradScale: number;
}

/** New parameter and moments; the caller assigns them and disposes these tensors. */
export interface AdamWUpdated {
  x: tf.Tensor;
  m: tf.Tensor;
  v: tf.Tensor;
}

let registered = false;
function ensureRegistered(): void {
  if (registered) return;
  registered = true;
  registerFusedKernel<AdamWUpdateAttrs>({
    kernelName: ADAMW_UPDATE,
    inputs: ['x', 'g', 'm', 'v'],
    outputShapes: ([x]) => [x!, x!, x!],
    compute([x, g, m, v], [xOut, mOut, vOut], _shapes, a) {
      const { lr, beta1, beta2, biasCorrection1, biasCorrection2, eps, weightDecay, gradScale } = a;
      for (let i = 0; i < x!.length; i++) {
        const grad = g![i]! * gradScale;
        const mi = beta1 * m![i]! + (1 - beta1) * grad;
        const vi = beta2 * v![i]! + (1 - beta2) * grad * grad;
        mOut![i] = mi;
        vOut![i] = vi;
        const step = mi / biasCorrection1 / (Math.sqrt(vi / biasCorrection2) + eps);
        xOut![i] = x![i]! - lr * (step + weightDecay * x![i]!);
      }
    },
    wasm(backend, [x, g, m, v], [xOut, mOut, vOut], [shape], a) {
      heapModule<AdamWModule>(backend, WASM_BASE64).update(
        x!,
        g!,
        m!,
        v!,
        xOut!,
        mOut!,
        vOut!,
        sizeOf(shape!),
        a.lr,
        a.beta1,
        a.beta2,
        a.biasCorrection1,
        a.biasCorrection2,
        a.eps,
        a.weightDecay,
        a.gradScale,
        1 - a.beta1,
        1 - a.beta2,
      );
    },
  });
}

/** The same update as elementwise tfjs ops, for every backend. */
export function adamWUpdateComposite(
  x: tf.Tensor,
  g: tf.Tensor,
  m: tf.Tensor,
  v: tf.Tensor,
  a: AdamWUpdateAttrs,
): AdamWUpdated {
  return tf.tidy(() => {
    const grad = a.gradScale === 1 ? g : g.mul(a.gradScale);
    const mNew = m.mul(a.beta1).add(grad.mul(1 - a.beta1));
    const vNew = v.mul(a.beta2).add(grad.square().mul(1 - a.beta2));
    let step = mNew.div(a.biasCorrection1).div(vNew.div(a.biasCorrection2).sqrt().add(a.eps));
    if (a.weightDecay > 0) step = step.add(x.mul(a.weightDecay));
    return { x: x.sub(step.mul(a.lr)), m: mNew, v: vNew };
  });
}

/** One AdamW update of `x` with gradient `g` and moments `m`, `v` (all the same shape). */
export function adamWUpdate(
  x: tf.Tensor,
  g: tf.Tensor,
  m: tf.Tensor,
  v: tf.Tensor,
  attrs: AdamWUpdateAttrs,
): AdamWUpdated {
  const float = [x, g, m, v].every((t) => t.dtype === 'float32');
  ensureRegistered();
  if (!float || !fusedOnActiveBackend(ADAMW_UPDATE)) return adamWUpdateComposite(x, g, m, v, attrs);
  const shapes = [g, m, v].map((t) => t.shape.join(','));
  if (shapes.some((s) => s !== x.shape.join(','))) {
    throw new Error(`adamWUpdate: x, g, m, v must share x's shape [${x.shape}], got ${shapes}`);
  }
  const [xNew, mNew, vNew] = runFused(ADAMW_UPDATE, { x, g, m, v }, { ...attrs }) as tf.Tensor[];
  return { x: xNew!, m: mNew!, v: vNew! };
}
