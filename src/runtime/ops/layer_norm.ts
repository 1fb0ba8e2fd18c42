/**
 * Fused LayerNorm over the last axis: y = (x - mean) / sqrt(var + eps) · weight + bias, with the
 * biased variance (as PyTorch and `tf.moments`). One forward kernel and one backward kernel
 * (dx, dweight, dbias together) in place of the ~10 forward and ~20 backward kernels of the
 * composite: SIMD WebAssembly on wasm (layer_norm.wat, float32), plain JS on cpu; other backends
 * run the composite below (same math).
 *
 * Statistics come from a two-pass mean/variance (float64 in the JS kernel, float32 in the SIMD
 * one, as in the composite). The backward pass recomputes mean and 1/std from x rather than
 * saving them: C is small (96-128 here) and an extra saved output would cost a tensor per call
 * and a zero-filled dy for it in the tape.
 */
import * as tf from '@tensorflow/tfjs';
import { heapModule } from '../kernels/wasm';
import { fusedOnActiveBackend, registerFusedKernel, runFused } from './fused';
import { WASM_BASE64 } from './layer_norm_wasm';

/** layer_norm.wat's exports (byte offsets, then sizes). */
interface LayerNormModule {
  forward(x: number, w: number, b: number, y: number, N: number, C: number, eps: number): void;
  backward(...args: number[]): void;
}

export const LAYER_NORM = 'PitlabLayerNorm';
export const LAYER_NORM_GRAD = 'PitlabLayerNormGrad';

interface LayerNormAttrs {
  eps: number;
}

/** Row count and width of an [..., C] tensor shape. */
function rowsOf(shape: number[]): [number, number] {
  const C = shape[shape.length - 1] ?? 1;
  let N = 1;
  for (let i = 0; i < shape.length - 1; i++) N *= shape[i]!;
  return [N, C];
}

/**
 * Writes each row's mean and 1/sqrt(var + eps) into `stats` ([mean0, rstd0, mean1, ...]), two
 * passes per row in float64 (a single sum/sum-of-squares pass loses the variance when |mean| is
 * large against the spread; the row is in L1 for the second pass, so it costs little).
 */
function rowStats(x: Float32Array, N: number, C: number, eps: number, stats: Float64Array): void {
  for (let r = 0, base = 0; r < N; r++, base += C) {
    let sum = 0;
    for (let c = 0; c < C; c++) sum += x[base + c]!;
    const mean = sum / C;
    let sq = 0;
    for (let c = 0; c < C; c++) {
      const d = x[base + c]! - mean;
      sq += d * d;
    }
    stats[2 * r] = mean;
    stats[2 * r + 1] = 1 / Math.sqrt(sq / C + eps);
  }
}

let registered = false;
function ensureRegistered(): void {
  if (registered) return;
  registered = true;
  registerFusedKernel<LayerNormAttrs>({
    kernelName: LAYER_NORM,
    inputs: ['x', 'weight', 'bias'],
    outputShapes: ([x]) => [x!],
    compute([x, w, b], [y], [shape], { eps }) {
      const [N, C] = rowsOf(shape!);
      const stats = new Float64Array(2 * N);
      rowStats(x!, N, C, eps, stats);
      for (let r = 0, base = 0; r < N; r++, base += C) {
        const mean = stats[2 * r]!;
        const rstd = stats[2 * r + 1]!;
        for (let c = 0; c < C; c++) y![base + c] = (x![base + c]! - mean) * rstd * w![c]! + b![c]!;
      }
    },
    wasm(backend, [x, w, b], [y], [shape], { eps }) {
      const [N, C] = rowsOf(shape!);
      heapModule<LayerNormModule>(backend, WASM_BASE64).forward(x!, w!, b!, y!, N, C, eps);
    },
  });
  registerFusedKernel<LayerNormAttrs>({
    kernelName: LAYER_NORM_GRAD,
    inputs: ['dy', 'x', 'weight'],
    outputShapes: ([, x, w]) => [x!, w!, w!],
    compute([dy, x, w], [dx, dw, db], [, shape], { eps }) {
      const [N, C] = rowsOf(shape!);
      // dweight and dbias accumulate over rows in float64, then are stored once.
      const gw = new Float64Array(C);
      const gb = new Float64Array(C);
      const stats = new Float64Array(2 * N);
      rowStats(x!, N, C, eps, stats);
      for (let r = 0, base = 0; r < N; r++, base += C) {
        const mean = stats[2 * r]!;
        const rstd = stats[2 * r + 1]!;
        // dx = rstd · (g - mean(g) - x̂ · mean(g · x̂)) with g = dy · weight, x̂ normalised x.
        let sumG = 0;
        let sumGX = 0;
        for (let c = 0; c < C; c++) {
          const xhat = (x![base + c]! - mean) * rstd;
          const d = dy![base + c]!;
          const g = d * w![c]!;
          sumG += g;
          sumGX += g * xhat;
          gw[c]! += d * xhat;
          gb[c]! += d;
        }
        const meanG = sumG / C;
        const meanGX = sumGX / C;
        for (let c = 0; c < C; c++) {
          const xhat = (x![base + c]! - mean) * rstd;
          dx![base + c] = rstd * (dy![base + c]! * w![c]! - meanG - xhat * meanGX);
        }
      }
      dw!.set(gw);
      db!.set(gb);
    },
    wasm(backend, [dy, x, w], [dx, dw, db], [, shape], { eps }) {
      const [N, C] = rowsOf(shape!);
      heapModule<LayerNormModule>(backend, WASM_BASE64).backward(
        dy!,
        x!,
        w!,
        dx!,
        dw!,
        db!,
        N,
        C,
        eps,
      );
    },
  });
  if (!tf.getGradient(LAYER_NORM)) {
    tf.registerGradient({
      kernelName: LAYER_NORM,
      inputsToSave: ['x', 'weight'],
      gradFunc: (dy, saved, attrs) => {
        const [x, weight] = saved as [tf.Tensor, tf.Tensor];
        const eps = (attrs as unknown as LayerNormAttrs).eps;
        // All three at once (one kernel); grads the tape does not ask for are freed by its tidy.
        const [dx, dw, db] = runFused(
          LAYER_NORM_GRAD,
          { dy: dy as tf.Tensor, x, weight },
          { eps },
        ) as tf.Tensor[];
        return { x: () => dx!, weight: () => dw!, bias: () => db! };
      },
    });
  }
}

/** The composite formulation: what non-fused backends run, and the reference in tests. */
export function layerNormComposite(
  x: tf.Tensor,
  weight: tf.Tensor,
  bias: tf.Tensor,
  eps = 1e-5,
): tf.Tensor {
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(x, -1, true);
    return x
      .sub(mean)
      .mul(tf.rsqrt(variance.add(eps)))
      .mul(weight)
      .add(bias);
  });
}

/**
 * LayerNorm over the last axis of `x` ([..., C]; the model passes [N, C]) with `weight` and
 * `bias` of shape [C]. Differentiable in all three (through `tf.grad`/`tf.variableGrads`).
 */
export function layerNorm(x: tf.Tensor, weight: tf.Tensor, bias: tf.Tensor, eps = 1e-5): tf.Tensor {
  const C = x.shape[x.shape.length - 1];
  if (x.rank < 1 || weight.size !== C || bias.size !== C || weight.rank !== 1 || bias.rank !== 1) {
    throw new Error(
      `layerNorm: x [${x.shape}] needs weight and bias of shape [${C}], got [${weight.shape}] and [${bias.shape}]`,
    );
  }
  ensureRegistered();
  const float = x.dtype === 'float32' && weight.dtype === 'float32' && bias.dtype === 'float32';
  if (!float || !fusedOnActiveBackend(LAYER_NORM)) return layerNormComposite(x, weight, bias, eps);
  return runFused(LAYER_NORM, { x, weight, bias }, { eps }) as tf.Tensor;
}
