/**
 * The GPU benchmark's worker, bundled by scripts/gpu-bench.sh: train steps (and a matmul) of the
 * GPT on one backend, with where the time goes, printed as one JSON line.
 *
 * `node bench.js --config ref|large|small [--iters N] [--backend webgpu]`
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { type BenchRow, matmulBench, timeMs } from '../../src/bench/workloads';
import { Gpt, type GptConfig, lmLoss } from '../../src/models';
import { type BackendName, runtime } from '../../src/runtime';
import { AdamW } from '../../src/train/optim';

/** ref: the foundation issue's reference config; large: the larger one; small: a smoke test. */
export const CONFIGS: Record<string, { model: Partial<GptConfig>; batch: number }> = {
  ref: { model: { vocabSize: 256, blockSize: 64, nLayer: 4, nHead: 4, nEmbd: 128 }, batch: 16 },
  large: { model: { vocabSize: 256, blockSize: 256, nLayer: 8, nHead: 8, nEmbd: 512 }, batch: 32 },
  small: { model: { vocabSize: 64, blockSize: 16, nLayer: 2, nHead: 2, nEmbd: 32 }, batch: 4 },
};

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      config: { type: 'string', default: 'ref' },
      iters: { type: 'string', default: '20' },
      backend: { type: 'string', default: 'webgpu' },
    },
  });
  const cfg = CONFIGS[values.config!];
  if (!cfg) throw new Error(`--config: one of ${Object.keys(CONFIGS).join(', ')}`);
  const iters = Number(values.iters);
  await runtime.ready({ backend: values.backend as BackendName });
  const model = new Gpt(cfg.model);
  const opt = new AdamW(model.variables());
  const T = model.config.blockSize;
  const rng = runtime.rng('gpu-bench.ids');
  const ids = tf.tensor2d(
    Int32Array.from({ length: cfg.batch * (T + 1) }, () => rng.int(model.config.vocabSize)),
    [cfg.batch, T + 1],
    'int32',
  );
  // Split each step: enqueueing the kernels (JS + dispatch), then the loss readback, which waits for
  // the GPU to finish. AdamW's gradient-norm readback is a second sync point inside `apply`.
  let enqueue = 0;
  let readback = 0;
  let update = 0;
  const step = async () => {
    const t0 = performance.now();
    const { value, grads } = tf.variableGrads(() => lmLoss(model, ids), model.variables());
    const t1 = performance.now();
    value.dataSync();
    const t2 = performance.now();
    value.dispose();
    opt.apply(model.variables().map((v) => grads[v.name]!));
    const t3 = performance.now();
    enqueue += t1 - t0;
    readback += t2 - t1;
    update += t3 - t2;
    // let Node release Dawn's per-dispatch objects (its finalizers run when the loop turns)
    await new Promise((r) => setImmediate(r));
  };
  await step();
  const prof = await tf.profile(() => {
    const { value, grads } = tf.variableGrads(() => lmLoss(model, ids), model.variables());
    value.dataSync();
    opt.apply(model.variables().map((v) => grads[v.name]!));
  });
  enqueue = readback = update = 0;
  const warmup = 2;
  const ms = await timeMs(step, warmup, iters);
  const n = warmup + iters;
  const rows: BenchRow[] = [
    {
      workload: `train_step ${values.config}`,
      backend: runtime.backend,
      throughput: (cfg.batch * T) / (ms / 1000),
      unit: 'tokens/s',
      ms,
      note:
        `B=${cfg.batch} T=${T} C=${model.config.nEmbd} L=${model.config.nLayer}; per step: ` +
        `${prof.kernels.length} kernels, forward+backward enqueue ${(enqueue / n).toFixed(1)} ms, ` +
        `loss readback ${(readback / n).toFixed(1)} ms, AdamW (norm readback + update) ${(update / n).toFixed(1)} ms, ` +
        `new bytes ${prof.newBytes}, peak ${prof.peakBytes}`,
    },
  ];
  if (values.config !== 'small') rows.push(await matmulBench(20));
  const info = runtime.info();
  console.log(JSON.stringify({ adapter: info.adapter ?? null, backend: info.backend, rows }));
  ids.dispose();
  opt.dispose();
  model.dispose();
  process.exit(0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
