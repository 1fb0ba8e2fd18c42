/** Profiles one reference train step with tf.profile and prints time per kernel name. */
import * as tf from '@tensorflow/tfjs';
import { REFERENCE } from '../src/bench/workloads';
import { Gpt, lmLoss } from '../src/models';
import { runtime } from '../src/runtime';
import { AdamW } from '../src/train/optim';

async function main() {
  await runtime.ready({ backend: (process.env.PITLAB_BACKEND as 'wasm') ?? 'wasm' });
  const model = new Gpt(REFERENCE.config);
  const opt = new AdamW(model.variables());
  const B = REFERENCE.batch;
  const T = model.config.blockSize;
  const rng = runtime.rng('profile');
  const ids = tf.tensor2d(
    Int32Array.from({ length: B * (T + 1) }, () => rng.int(256)),
    [B, T + 1],
    'int32',
  );
  const step = () => {
    const { value, grads } = tf.variableGrads(() => lmLoss(model, ids), model.variables());
    value.dataSync();
    value.dispose();
    opt.apply(model.variables().map((v) => grads[v.name]!));
  };
  for (let i = 0; i < 3; i++) step();
  const t0 = performance.now();
  const info = await tf.profile(step);
  const wall = performance.now() - t0;
  const byName = new Map<string, { ms: number; n: number }>();
  for (const k of info.kernels) {
    const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    const key = `${k.name} ${['BatchMatMul', 'Transpose', 'Slice', 'Sum', 'Multiply', 'Pad'].includes(k.name) ? JSON.stringify(k.inputShapes) : ''}`;
    const e = byName.get(key) ?? { ms: 0, n: 0 };
    e.ms += ms;
    e.n += 1;
    byName.set(key, e);
  }
  const total = [...byName.values()].reduce((a, b) => a + b.ms, 0);
  console.log(
    `wall ${wall.toFixed(0)} ms (profiled), kernel time ${total.toFixed(0)} ms, ${info.kernels.length} kernels`,
  );
  for (const [k, e] of [...byName].sort((a, b) => b[1].ms - a[1].ms).slice(0, 40)) {
    console.log(`${e.ms.toFixed(1).padStart(8)} ms ${String(e.n).padStart(4)}×  ${k}`);
  }
}
main();
