/** Profiles one reference train step with tf.profile and prints time per kernel name. */
import * as tf from '@tensorflow/tfjs';
import { REFERENCE } from '../src/bench/workloads';
import { Gpt, lmLoss } from '../src/models';
import { runtime } from '../src/runtime';
import { AdamW } from '../src/train/optim';
import { printTally, tallyKernels } from './profile-common';

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
  const shaped = ['BatchMatMul', 'Transpose', 'Slice', 'Sum', 'Multiply', 'Pad'];
  const tally = tallyKernels(
    info.kernels,
    (k) => `${k.name} ${shaped.includes(k.name) ? JSON.stringify(k.inputShapes) : ''}`,
  );
  console.log(
    `wall ${wall.toFixed(0)} ms (profiled), kernel time ${tally.total.toFixed(0)} ms, ${info.kernels.length} kernels`,
  );
  printTally(tally, 40, 4);
}
main();
