/**
 * Profiles one train step with tf.profile and prints time per kernel: the reference config, or
 * with `--stage` the stages' LM step (the default profile's model on [32, 32] batches, the shape
 * of the PyTorch stage baseline).
 */
import * as tf from '@tensorflow/tfjs';
import { STAGE_BASELINE } from '../src/bench/stages';
import { REFERENCE } from '../src/bench/workloads';
import { Gpt, lmLoss } from '../src/models';
import { profileConfig } from '../src/pit/config';
import { runtime } from '../src/runtime';
import { AdamW } from '../src/train/optim';
import { printTally, tallyKernels } from './profile-common';

async function main() {
  await runtime.ready({ backend: (process.env.PITLAB_BACKEND as 'wasm') ?? 'wasm' });
  const stage = process.argv.includes('--stage');
  const config = stage
    ? { ...profileConfig('default').model, blockSize: STAGE_BASELINE.tokens }
    : REFERENCE.config;
  const model = new Gpt(config);
  const opt = new AdamW(model.variables());
  const B = stage ? STAGE_BASELINE.batch : REFERENCE.batch;
  const T = model.config.blockSize;
  const rng = runtime.rng('profile');
  const ids = tf.tensor2d(
    Int32Array.from({ length: B * (T + 1) }, () => rng.int(model.config.vocabSize)),
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
