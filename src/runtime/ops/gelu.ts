/**
 * Fused GELU, tanh approximation (GPT-2's): gelu(x) = ½x(1 + tanh z), z = √(2/π)(x + 0.044715x³),
 * one forward kernel and one backward kernel in place of 7 forward kernels and about twice as
 * many backward ones. On wasm they are SIMD WebAssembly (gelu.wat, written as x·σ(2z) with a
 * polynomial e^x); on cpu plain JS; other backends run the composite below, also x·σ(2z) (the
 * same function, since ½(1 + tanh z) = σ(2z); sigmoid is fast on wasm where tanh is not).
 *
 * The JS kernels evaluate tanh with a rational minimax approximation (Eigen's float tanh,
 * |error| ≤ 3.1e-8 against Math.tanh over [-12, 12], below float32's half-ulp at 1): scalar JS
 * Math.exp/Math.tanh cost ~42 ns per element here against ~15 ns for the rational form
 * (524k elements, loaded machine). Beyond |z| = 9, tanh rounds to ±1 in float32 and is set so.
 */
import * as tf from '@tensorflow/tfjs';
import { heapModule, sizeOf } from '../kernels/wasm';
import { fusedOnActiveBackend, registerFusedKernel, runFused } from './fused';
import { WASM_BASE64 } from './gelu_wasm';

/** gelu.wat's exports. */
interface GeluModule {
  forward(x: number, y: number, n: number): void;
  backward(dy: number, x: number, dx: number, n: number): void;
}

export const GELU = 'PitlabGelu';
export const GELU_GRAD = 'PitlabGeluGrad';

const K = Math.sqrt(2 / Math.PI); // z = K · (x + A x³)
const A = 0.044715;

// Eigen's generic_fast_tanh_float coefficients: tanh z ≈ z·P(z²) / Q(z²).
const P1 = 4.89352455891786e-3;
const P3 = 6.37261928875436e-4;
const P5 = 1.48572235717979e-5;
const P7 = 5.12229709037114e-8;
const P9 = -8.60467152213735e-11;
const P11 = 2.00018790482477e-13;
const P13 = -2.76076847742355e-16;
const Q0 = 4.89352518554385e-3;
const Q2 = 2.268434632439e-3;
const Q4 = 1.18534705686654e-4;
const Q6 = 1.19825839466702e-6;

function tanhApprox(z: number): number {
  if (z >= 9) return 1;
  if (z <= -9) return -1;
  const z2 = z * z;
  const p = z * (P1 + z2 * (P3 + z2 * (P5 + z2 * (P7 + z2 * (P9 + z2 * (P11 + z2 * P13))))));
  return p / (Q0 + z2 * (Q2 + z2 * (Q4 + z2 * Q6)));
}

let registered = false;
function ensureRegistered(): void {
  if (registered) return;
  registered = true;
  registerFusedKernel({
    kernelName: GELU,
    inputs: ['x'],
    outputShapes: ([x]) => [x!],
    compute([x], [y]) {
      const n = x!.length;
      for (let i = 0; i < n; i++) {
        const v = x![i]!;
        y![i] = 0.5 * v * (1 + tanhApprox(K * (v + A * v * v * v)));
      }
    },
    wasm(backend, [x], [y], [shape]) {
      heapModule<GeluModule>(backend, WASM_BASE64).forward(x!, y!, sizeOf(shape!));
    },
  });
  registerFusedKernel({
    kernelName: GELU_GRAD,
    inputs: ['dy', 'x'],
    outputShapes: ([, x]) => [x!],
    compute([dy, x], [dx]) {
      const n = x!.length;
      for (let i = 0; i < n; i++) {
        const v = x![i]!;
        const v2 = v * v;
        const t = tanhApprox(K * (v + A * v2 * v));
        // d/dx ½x(1 + tanh z) = ½(1 + t) + ½x(1 - t²) · K(1 + 3A x²).
        dx![i] = dy![i]! * (0.5 * (1 + t) + 0.5 * v * (1 - t * t) * K * (1 + 3 * A * v2));
      }
    },
    wasm(backend, [dy, x], [dx], [shape]) {
      heapModule<GeluModule>(backend, WASM_BASE64).backward(dy!, x!, dx!, sizeOf(shape!));
    },
  });
  if (!tf.getGradient(GELU)) {
    tf.registerGradient({
      kernelName: GELU,
      inputsToSave: ['x'],
      gradFunc: (dy, saved) => {
        const [x] = saved as [tf.Tensor];
        return { x: () => runFused(GELU_GRAD, { dy: dy as tf.Tensor, x }) as tf.Tensor };
      },
    });
  }
}

/** The composite formulation: what non-fused backends run, and the reference in tests. */
export function geluComposite(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const z2 = x.add(x.mul(x).mul(x).mul(A)).mul(2 * K);
    return x.mul(tf.sigmoid(z2));
  });
}

/** GELU (tanh approximation) of a float32 tensor of any shape; differentiable. */
export function gelu(x: tf.Tensor): tf.Tensor {
  ensureRegistered();
  if (x.dtype !== 'float32' || !fusedOnActiveBackend(GELU)) return geluComposite(x);
  return runFused(GELU, { x }) as tf.Tensor;
}
