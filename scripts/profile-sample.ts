/** Profiles the reference sampling workload (64 rows × 48 tokens) per kernel, plus JS time. */
import * as tf from '@tensorflow/tfjs';
import { REFERENCE } from '../src/bench/workloads';
import { Gpt, sample } from '../src/models';
import { runtime } from '../src/runtime';

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
  const byName = new Map<string, { ms: number; n: number }>();
  for (const k of info.kernels) {
    const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    const key =
      k.name === 'BatchMatMul'
        ? `${k.name} ${JSON.stringify(k.inputShapes)}`.replace(/,\d+,32\]/, ',S,32]')
        : k.name;
    const e = byName.get(key) ?? { ms: 0, n: 0 };
    e.ms += ms;
    e.n += 1;
    byName.set(key, e);
  }
  const total = [...byName.values()].reduce((a, b) => a + b.ms, 0);
  console.log(
    `wall ${wall.toFixed(0)} ms unprofiled; kernel time ${total.toFixed(0)} ms over ${info.kernels.length} kernels`,
  );
  for (const [k, e] of [...byName].sort((a, b) => b[1].ms - a[1].ms).slice(0, 25)) {
    console.log(`${e.ms.toFixed(1).padStart(8)} ms ${String(e.n).padStart(5)}×  ${k}`);
  }
}
main();
