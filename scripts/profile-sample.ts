/** Profiles the reference sampling workload (64 rows × 48 tokens) per kernel, plus JS time. */
import * as tf from '@tensorflow/tfjs';
import { REFERENCE } from '../src/bench/workloads';
import { Gpt, sample } from '../src/models';
import { runtime } from '../src/runtime';
import { printTally, tallyKernels } from './profile-common';

async function main() {
  await runtime.ready({ backend: (process.env.PITLAB_BACKEND as 'wasm') ?? 'wasm' });
  const model = new Gpt(REFERENCE.config);
  const rng = runtime.rng('profile');
  const prompts = Array.from({ length: 64 }, () => Array.from({ length: 8 }, () => rng.int(256)));
  const run = () => {
    sample(model, prompts, { maxNewTokens: 48 });
  };
  run();
  const t0 = performance.now();
  run();
  const wall = performance.now() - t0;
  const info = await tf.profile(run);
  const tally = tallyKernels(info.kernels, (k) =>
    k.name === 'BatchMatMul'
      ? `${k.name} ${JSON.stringify(k.inputShapes)}`.replace(/,\d+,32\]/, ',S,32]')
      : k.name,
  );
  console.log(
    `wall ${wall.toFixed(0)} ms unprofiled; kernel time ${tally.total.toFixed(0)} ms over ${info.kernels.length} kernels`,
  );
  printTally(tally, 25, 5);
}
main();
