/**
 * Token log-probabilities, log softmax(logits)[target] per row, as one forward kernel and one
 * backward kernel: the language-model loss of every train step.
 *
 * Why: the composite (models/loss.ts) runs logSoftmax's Max, Sub, Exp, Sum, Log, Sub, a one-hot
 * and a multiply-sum forward, and about as many kernels backward, ~6 ms of the stages' ~130 ms
 * step on logits [1024, 160]. Here each row is two passes forward (max, then the sum of
 * exp(x − max)) and one backward. SIMD WebAssembly on wasm (token_log_probs.wat, float32, with
 * the N logs in JS since WebAssembly has none), plain JS in float64 on cpu; other backends run
 * the composite.
 *
 * The forward also outputs each row's log-normaliser lse = max + log Σ exp(x − max), saved for
 * the backward: dlogits = dy · (onehot − exp(x − lse)), and its entropy lse − Σ p·x, which the
 * SFT trainer logs (one more sum in the same pass, where the composite took six kernels). Targets travel as float32 (fused kernels
 * take float32 only; ids below 2^24 are exact) and are checked against [0, V) before dispatch.
 */
import * as tf from '@tensorflow/tfjs';
import { heapModule, heapView } from '../kernels/wasm';
import { fusedOnActiveBackend, registerFusedKernel, runFused } from './fused';
import { WASM_BASE64 } from './token_log_probs_wasm';

/** token_log_probs.wat's exports (byte offsets, then sizes). */
interface TokenLogProbsModule {
  forward(x: number, max: number, sum: number, wsum: number, N: number, V: number): void;
  backward(
    dy: number,
    x: number,
    targets: number,
    lse: number,
    dx: number,
    N: number,
    V: number,
  ): void;
}

export const TOKEN_LOG_PROBS = 'PitlabTokenLogProbs';
export const TOKEN_LOG_PROBS_GRAD = 'PitlabTokenLogProbsGrad';

/**
 * Turns each row's max (in `lse`), S = Σ exp(x − max) (in `logp`) and Σ exp(x − max)·x (in
 * `entropy`) into lse, log p(target) and the entropy lse − Σ p·x, in float64 until the stores.
 */
function finishRows(
  x: Float32Array,
  targets: Float32Array,
  [logp, lse, entropy]: Float32Array[],
  N: number,
  V: number,
): void {
  for (let r = 0; r < N; r++) {
    const max = lse![r]!;
    const sum = logp![r]!;
    const logSum = Math.log(sum);
    lse![r] = max + logSum;
    logp![r] = x[r * V + targets[r]!]! - max - logSum;
    entropy![r] = max + logSum - entropy![r]! / sum;
  }
}

let registered = false;
function ensureRegistered(): void {
  if (registered) return;
  registered = true;
  registerFusedKernel({
    kernelName: TOKEN_LOG_PROBS,
    inputs: ['logits', 'targets'],
    outputShapes: ([x]) => [[x![0]!], [x![0]!], [x![0]!]],
    compute([x, targets], outs, [shape]) {
      const [N, V] = shape as [number, number];
      const [logp, lse, entropy] = outs as [Float32Array, Float32Array, Float32Array];
      for (let r = 0, base = 0; r < N; r++, base += V) {
        let max = Number.NEGATIVE_INFINITY;
        for (let j = 0; j < V; j++) max = Math.max(max, x![base + j]!);
        let sum = 0;
        let weighted = 0;
        for (let j = 0; j < V; j++) {
          const e = Math.exp(x![base + j]! - max);
          sum += e;
          weighted += e * x![base + j]!;
        }
        lse[r] = max;
        logp[r] = sum;
        entropy[r] = weighted;
      }
      finishRows(x!, targets!, outs, N, V);
    },
    wasm(backend, [x, targets], [logp, lse, entropy], [shape]) {
      const [N, V] = shape as [number, number];
      const m = heapModule<TokenLogProbsModule>(backend, WASM_BASE64);
      m.forward(x!, lse!, logp!, entropy!, N, V);
      const f32 = (offset: number, size: number) =>
        heapView(backend, 'float32', offset, size) as Float32Array;
      const outs = [f32(logp!, N), f32(lse!, N), f32(entropy!, N)];
      finishRows(f32(x!, N * V), f32(targets!, N), outs, N, V);
    },
  });
  registerFusedKernel({
    kernelName: TOKEN_LOG_PROBS_GRAD,
    inputs: ['dy', 'logits', 'targets', 'lse'],
    outputShapes: ([, x]) => [x!],
    compute([dy, x, targets, lse], [dx], [, shape]) {
      const [N, V] = shape as [number, number];
      for (let r = 0, base = 0; r < N; r++, base += V) {
        const d = dy![r]!;
        const l = lse![r]!;
        for (let j = 0; j < V; j++) dx![base + j] = -d * Math.exp(x![base + j]! - l);
        dx![base + targets![r]!]! += d;
      }
    },
    wasm(backend, [dy, x, targets, lse], [dx], [, shape]) {
      const [N, V] = shape as [number, number];
      const m = heapModule<TokenLogProbsModule>(backend, WASM_BASE64);
      m.backward(dy!, x!, targets!, lse!, dx!, N, V);
    },
  });
  if (!tf.getGradient(TOKEN_LOG_PROBS)) {
    tf.registerGradient({
      kernelName: TOKEN_LOG_PROBS,
      inputsToSave: ['logits', 'targets'],
      outputsToSave: [false, true, false],
      gradFunc: (dys, saved) => {
        const [logits, targets, lse] = saved as [tf.Tensor, tf.Tensor, tf.Tensor];
        // dys[1] and dys[2] are the tape's zero fills: lse is internal, and the entropy is a
        // statistic that no loss differentiates.
        const dy = (dys as tf.Tensor[])[0]!;
        return {
          logits: () => runFused(TOKEN_LOG_PROBS_GRAD, { dy, logits, targets, lse }) as tf.Tensor,
          targets: () => tf.zerosLike(targets),
        };
      },
    });
  }
}

/** Throws unless every target is an integer id in [0, V). */
function checkTargets(ids: ArrayLike<number>, V: number): void {
  for (let r = 0; r < ids.length; r++) {
    const t = ids[r]!;
    if (!(Number.isInteger(t) && t >= 0 && t < V)) {
      throw new Error(`tokenLogProbs: row ${r} has target ${t}, outside the vocabulary [0, ${V})`);
    }
  }
}

export function fusedTokenLogProbsAvailable(): boolean {
  ensureRegistered();
  return fusedOnActiveBackend(TOKEN_LOG_PROBS);
}

/**
 * log softmax(logits)[r, targets[r]] for every row r: logits [N, V] float32, targets [N] integer
 * ids (int32, or float32 holding integers) → [N]. Differentiable in logits. Callers check
 * `fusedTokenLogProbsAvailable()` first.
 */
export function fusedTokenLogProbs(logits: tf.Tensor2D, targets: tf.Tensor1D): tf.Tensor1D {
  return fusedTokenStats(logits, targets).logp;
}

/**
 * `fusedTokenLogProbs` and, from the same pass, each row's entropy −Σ p log p of
 * softmax(logits) (a statistic: its gradient is not defined here).
 */
export function fusedTokenStats(
  logits: tf.Tensor2D,
  targets: tf.Tensor1D,
): { logp: tf.Tensor1D; entropy: tf.Tensor1D } {
  ensureRegistered();
  const [N, V] = logits.shape;
  if (logits.rank !== 2 || targets.rank !== 1 || targets.shape[0] !== N) {
    throw new Error(
      `tokenLogProbs: logits [${logits.shape}] and targets [${targets.shape}] are not [N, V] and [N]`,
    );
  }
  // Before dispatch: the kernels index rows by these ids. One read of N ids, cheap on wasm/cpu.
  checkTargets(targets.dataSync(), V);
  return tf.tidy(() => {
    const ids = targets.dtype === 'float32' ? targets : tf.cast(targets, 'float32');
    const [logp, , entropy] = runFused(TOKEN_LOG_PROBS, { logits, targets: ids }) as tf.Tensor[];
    return { logp: logp as tf.Tensor1D, entropy: entropy as tf.Tensor1D };
  });
}
