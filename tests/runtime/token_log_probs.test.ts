/**
 * Fused token log-probabilities (src/runtime/ops/token_log_probs.ts) against the composite
 * (models/loss.ts's tokenLogProbsComposite): values and the gradient of Σ w·logp wrt the logits
 * for random weights w, on `cpu` and, where it loads, `wasm`; edge shapes (N = 1, V = 1, 2, 5,
 * 160), logits of ±80 and a row holding −1e9, targets at 0 and V − 1; the fused kernels are
 * really the ones dispatched; out-of-range targets are clear errors; nothing leaks. The entropy the
 * forward also returns matches −Σ p log p of the composite's log-softmax at the same cases.
 *
 * Tolerance: |fused − composite| ≤ 1e-4 · max(1, |composite|) per element. Both sides round
 * the logits' magnitude: the composite chains ~6 float32 ops (x − max, exp, sum, log, subtract;
 * backward exp, multiply, sum), the fused kernel stores lse in float32 and uses a polynomial
 * e^x (relative error ~1e-7). At |x| ≤ 80 each rounding is ≤ 80 · 6e-8 ≈ 5e-6 (measured on
 * [1024, 160]: ≤ 2.2e-7 for logp, ≤ 2.9e-6 for the gradient, both backends), so 1e-4 leaves a
 * 30× margin, while a formula slip shows up above it (scaling the one-hot term by 0.999 fails).
 */
import * as tf from '@tensorflow/tfjs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { maskedCrossEntropy, tokenLogProbs, tokenLogProbsComposite } from '../../src/models';
import {
  fusedTokenLogProbs,
  fusedTokenStats,
  setFusedOpsEnabled,
  TOKEN_LOG_PROBS,
  TOKEN_LOG_PROBS_GRAD,
} from '../../src/runtime/ops';
import { ensureWasm, onBackend } from '../helpers';

let seed = 11;
function rand(): number {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  return seed / 2 ** 32;
}
const randArray = (n: number, scale = 1) =>
  Float32Array.from({ length: n }, () => scale * (rand() * 2 - 1));

interface Case {
  label: string;
  N: number;
  V: number;
  logits: Float32Array;
  targets: Int32Array;
}

/** Random logits of `scale`, random targets with row 0 at id 0 and the last row at V − 1. */
function makeCase(N: number, V: number, scale: number, edit?: (c: Case) => void): Case {
  const targets = Int32Array.from({ length: N }, () => Math.floor(rand() * V));
  targets[0] = 0;
  if (N > 1) targets[N - 1] = V - 1;
  const c = {
    label: `[${N}, ${V}] scale ${scale}`,
    N,
    V,
    logits: randArray(N * V, scale),
    targets,
  };
  edit?.(c);
  return c;
}

function cases(): Case[] {
  const out: Case[] = [];
  for (const [N, V] of [
    [1, 1],
    [4, 1],
    [1, 2],
    [3, 2],
    [1, 5],
    [7, 5],
    [1, 160],
    [33, 160],
    [1024, 160],
  ] as const) {
    for (const scale of [1, 80]) out.push(makeCase(N, V, scale));
  }
  out.push(
    makeCase(1, 5, 3, (c) => {
      c.targets[0] = 4;
      c.label += ' target V − 1';
    }),
    makeCase(6, 7, 5, (c) => {
      c.logits[2 * 7 + 3] = -1e9; // a masked entry in row 2 (not its target)
      c.targets[2] = 1;
      c.label += ' with −1e9';
    }),
    makeCase(5, 160, 80, (c) => {
      for (let j = 0; j < 160; j++) c.logits[160 + j] = 80 - j * 1e-3; // a near-flat row at +80
      c.label += ' flat row at 80';
    }),
  );
  return out;
}

type LogProbs = (logits: tf.Tensor2D, targets: tf.Tensor1D) => tf.Tensor1D;

/** logp and d(Σ w·logp)/dlogits for random w (the same w for both sides: reseeded by caller). */
function valueAndGrad(c: Case, f: LogProbs): [number[], number[]] {
  return tf.tidy(() => {
    const x = tf.tensor2d(c.logits, [c.N, c.V]);
    const t = tf.tensor1d(c.targets, 'int32');
    const w = tf.tensor1d(randArray(c.N));
    const logp = f(x, t);
    const dx = tf.grad((l: tf.Tensor) =>
      f(l as tf.Tensor2D, t)
        .mul(w)
        .sum(),
    )(x);
    return [Array.from(logp.dataSync()), Array.from(dx.dataSync())];
  });
}

function assertClose(label: string, got: number[], want: number[], tol: number): void {
  assert.is(got.length, want.length, `${label} size`);
  got.forEach((v, j) => {
    const w = want[j]!;
    if (!(Math.abs(v - w) <= tol * Math.max(1, Math.abs(w)))) {
      assert.unreachable(`${label} at ${j}: fused ${v} vs composite ${w}`);
    }
  });
}

async function compare(c: Case): Promise<void> {
  const label = `${tf.getBackend()} ${c.label}`;
  const seedBefore = seed;
  const before = tf.memory().numTensors;
  let got: [number[], number[]] = [[], []];
  const profile = await tf.profile(() => {
    got = valueAndGrad(c, fusedTokenLogProbs);
  });
  assert.is(tf.memory().numTensors, before, `${label}: leaked tensors`);
  const names = new Set(profile.kernels.map((k) => k.name));
  for (const k of [TOKEN_LOG_PROBS, TOKEN_LOG_PROBS_GRAD]) {
    assert.ok(names.has(k), `${label}: ${k} was not dispatched`);
  }
  seed = seedBefore; // same weights w for the reference
  // tf.oneHot needs depth ≥ 2, so V = 1 is checked against the exact answer: p = 1, logp 0, grad 0.
  const zeros = (n: number) => new Array<number>(n).fill(0);
  const want = c.V === 1 ? [zeros(c.N), zeros(c.N)] : valueAndGrad(c, tokenLogProbsComposite);
  assertClose(`${label} logp`, got[0], want[0], 1e-4);
  assertClose(`${label} dlogits`, got[1], want[1], 1e-4);
}

/** Kernel names `fn` dispatches. */
async function kernelsOf(fn: () => void): Promise<Set<string>> {
  return new Set((await tf.profile(fn)).kernels.map((k) => k.name));
}

for (const backend of ['cpu', 'wasm']) {
  const body = async (fn: () => Promise<void>) => {
    if (!(await ensureWasm('token_log_probs.test')) && backend === 'wasm') return;
    const ran = await onBackend(backend, fn);
    assert.ok(ran || backend === 'wasm', `${backend} backend unavailable`);
  };

  test(`tokenLogProbs: values and gradients match the composite on ${backend}`, () =>
    body(async () => {
      for (const c of cases()) await compare(c);
    }));

  test(`fusedTokenStats: the entropy matches −Σ p log p, and logp fusedTokenLogProbs, on ${backend}`, () =>
    body(async () => {
      for (const c of cases()) {
        const label = `${backend} ${c.label}`;
        const before = tf.memory().numTensors;
        const [logp, entropy, want, wantLogp] = tf.tidy(() => {
          const x = tf.tensor2d(c.logits, [c.N, c.V]);
          const t = tf.tensor1d(c.targets, 'int32');
          const stats = fusedTokenStats(x, t);
          const all = tf.logSoftmax(x);
          const reference = all.exp().mul(all).sum(-1).neg();
          return [stats.logp, stats.entropy, reference, fusedTokenLogProbs(x, t)].map((v) =>
            Array.from(v.dataSync()),
          );
        });
        assert.is(tf.memory().numTensors, before, `${label}: leaked tensors`);
        assertClose(`${label} entropy`, entropy!, want!, 1e-4);
        assert.equal(logp, wantLogp, `${label}: logp differs from fusedTokenLogProbs`);
      }
    }));

  test(`tokenLogProbs: a target outside [0, V) is a clear error on ${backend}`, () =>
    body(async () => {
      const x = tf.tensor2d(randArray(15), [3, 5]);
      const before = tf.memory().numTensors;
      for (const [ids, row, id] of [
        [[0, 5, 1], 1, 5],
        [[0, 1, -1], 2, -1],
      ] as const) {
        const t = tf.tensor1d(ids as unknown as number[], 'int32');
        const pattern = new RegExp(
          `tokenLogProbs: row ${row} has target ${id}, outside .*\\[0, 5\\)`,
        );
        assert.throws(() => tokenLogProbs(x, t), pattern);
        assert.throws(() => tf.grad((l: tf.Tensor) => tokenLogProbs(l as tf.Tensor2D, t).sum())(x));
        t.dispose();
      }
      assert.is(tf.memory().numTensors, before, 'leaked tensors');
      x.dispose();
    }));

  test(`tokenLogProbs dispatches the fused kernel, or the composite when fused ops are off, on ${backend}`, () =>
    body(async () => {
      const x = tf.tensor2d(randArray(8 * 6), [8, 6]);
      const t = tf.tensor1d([0, 1, 2, 3, 4, 5, 0, 5], 'int32');
      const run = () => void tf.tidy(() => tokenLogProbs(x, t).dataSync());
      assert.ok((await kernelsOf(run)).has(TOKEN_LOG_PROBS));
      setFusedOpsEnabled(false);
      try {
        assert.not.ok((await kernelsOf(run)).has(TOKEN_LOG_PROBS));
      } finally {
        setFusedOpsEnabled(true);
      }
      tf.dispose([x, t]);
    }));
}

test('maskedCrossEntropy: tf.variableGrads through the fused kernel matches the composite', async () => {
  await onBackend('cpu', async () => {
    const x = tf.variable(tf.tensor2d(randArray(9 * 7, 4), [9, 7]));
    const t = tf.tensor1d([0, 6, 3, 2, 1, 6, 5, 4, 0], 'int32');
    const mask = tf.tensor1d([1, 1, 0, 1, 1, 0, 1, 1, 1]);
    const before = tf.memory().numTensors;
    const loss = () => maskedCrossEntropy(x, t, mask);
    const fused = tf.variableGrads(loss, [x]);
    setFusedOpsEnabled(false);
    const composite = tf.variableGrads(loss, [x]);
    setFusedOpsEnabled(true);
    assertClose('loss', [...fused.value.dataSync()], [...composite.value.dataSync()], 1e-5);
    const g = (r: typeof fused) => [...r.grads[x.name]!.dataSync()];
    assertClose('dlogits', g(fused), g(composite), 1e-5);
    tf.dispose([fused.value, composite.value, fused.grads, composite.grads]);
    assert.is(tf.memory().numTensors, before, 'leaked tensors');
    tf.dispose([x, t, mask]);
  });
});

test.run();
