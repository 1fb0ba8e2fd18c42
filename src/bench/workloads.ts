/** The reference workloads of `pitlab bench`, measured on whatever backend this process runs. */
import * as tf from '@tensorflow/tfjs';
import { Gpt, type GptConfig, lmLoss, sample } from '../models';
import { runtime } from '../runtime';
import { AdamW } from '../train/optim';
import { matmulShare } from './profile';

export interface BenchRow {
  workload: string;
  backend: string;
  throughput: number;
  unit: string;
  /** Milliseconds per iteration. */
  ms?: number;
  /** Free-form context: shapes, iterations, leak checks. */
  note?: string;
  /** A stage's PyTorch replay: its step-1 loss and the pitlab trainer's, which must agree. */
  stepOneLoss?: { replay: number; trainer: number };
}

/** The foundation issue's reference config (a) and (b). */
export const REFERENCE = {
  config: { vocabSize: 256, blockSize: 64, nLayer: 4, nHead: 4, nEmbd: 128 },
  batch: 16,
};

function randomIds(rows: number, cols: number, vocab: number): tf.Tensor2D {
  const rng = runtime.rng('bench.ids');
  return tf.tensor2d(
    Int32Array.from({ length: rows * cols }, () => rng.int(vocab)),
    [rows, cols],
    'int32',
  );
}

/** The row of a workload measured in tokens per second (`tokens` per iteration of `ms`). */
function tokensRow(workload: string, tokens: number, ms: number, note: string): BenchRow {
  return {
    workload,
    backend: runtime.backend,
    throughput: tokens / (ms / 1000),
    unit: 'tokens/s',
    ms,
    note,
  };
}

/** Median milliseconds of `iters` runs of `fn` after `warmup` runs. */
export async function timeMs(
  fn: () => void | Promise<void>,
  warmup: number,
  iters: number,
): Promise<number> {
  for (let i = 0; i < warmup; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < iters; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

/** One AdamW step of the LM loss (forward, backward, clip, update) on fixed random tokens. */
function lmTrainStep(config: Partial<GptConfig>, batch: number) {
  const model = new Gpt(config);
  const opt = new AdamW(model.variables());
  const T = model.config.blockSize;
  const ids = randomIds(batch, T + 1, model.config.vocabSize);
  const step = () => {
    const { value, grads } = tf.variableGrads(() => lmLoss(model, ids), model.variables());
    value.dataSync(); // the loss is read every step in real training
    value.dispose();
    opt.apply(model.variables().map((v) => grads[v.name]!));
  };
  const dispose = () => {
    ids.dispose();
    opt.dispose();
    model.dispose();
  };
  return { step, dispose, model, tokens: batch * T };
}

/** One AdamW step of the LM loss: forward, backward, clip, update. */
export async function trainStepBench(
  config: Partial<GptConfig> = REFERENCE.config,
  batch = REFERENCE.batch,
  iters = 10,
  warmup = 3,
): Promise<BenchRow> {
  const { step, dispose, model, tokens } = lmTrainStep(config, batch);
  step();
  const base = tf.memory().numTensors;
  const ms = await timeMs(step, warmup, iters);
  const leaked = tf.memory().numTensors - base;
  dispose();
  return tokensRow(
    'train_step',
    tokens,
    ms,
    `B=${batch} T=${model.config.blockSize} C=${model.config.nEmbd} L=${model.config.nLayer}; tensors leaked over ${warmup + iters} steps: ${leaked}`,
  );
}

/**
 * The train step's matmul floor: its matmul kernels' own time in a profiled step (median of
 * `iters`), as the token rate the step would reach if every other kernel, and all dispatch, took
 * no time. Against PyTorch's step it bounds the ratio any fusion of the rest can reach while the
 * matmuls stay as fast as they are.
 */
export async function matmulFloorBench(
  workload: string,
  config: Partial<GptConfig> = REFERENCE.config,
  batch = REFERENCE.batch,
  iters = 3,
): Promise<BenchRow> {
  const { step, dispose, model, tokens } = lmTrainStep(config, batch);
  for (let i = 0; i < 3; i++) step();
  const base = tf.memory().numTensors;
  const runs: { mm: number; total: number; n: number }[] = [];
  for (let i = 0; i < iters; i++) {
    const { kernels } = await tf.profile(step);
    runs.push(matmulShare(kernels));
  }
  const leaked = tf.memory().numTensors - base;
  dispose();
  runs.sort((a, b) => a.mm - b.mm);
  const { mm, total, n } = runs[Math.floor(runs.length / 2)]!;
  return tokensRow(
    workload,
    tokens,
    mm,
    `B=${batch} T=${model.config.blockSize} C=${model.config.nEmbd} L=${model.config.nLayer}: ${n} matmul kernels take ${mm.toFixed(1)} of ${total.toFixed(1)} ms of kernel time (${((100 * mm) / total).toFixed(0)}%); the rate if nothing else took time; tensors leaked: ${leaked}`,
  );
}

/** Sampling `rows` sequences × `tokens` new tokens with the KV cache, from 8-token prompts. */
export async function sampleBench(rows = 64, tokens = 48, iters = 3): Promise<BenchRow> {
  const model = new Gpt(REFERENCE.config);
  const rng = runtime.rng('bench.prompts');
  const prompts = Array.from({ length: rows }, () => Array.from({ length: 8 }, () => rng.int(256)));
  const ms = await timeMs(
    () => {
      sample(model, prompts, { maxNewTokens: tokens, temperature: 1 });
    },
    1,
    iters,
  );
  model.dispose();
  return tokensRow('sample', rows * tokens, ms, `${rows} rows × ${tokens} new tokens, KV cache`);
}

/** Plain [1024, 512] × [512, 512] matmul. */
export async function matmulBench(iters = 20): Promise<BenchRow> {
  const a = tf.randomNormal([1024, 512], 0, 1, 'float32', 1);
  const b = tf.randomNormal([512, 512], 0, 1, 'float32', 2);
  const ms = await timeMs(
    () => {
      const c = tf.matMul(a, b);
      c.dataSync();
      c.dispose();
    },
    3,
    iters,
  );
  a.dispose();
  b.dispose();
  return {
    workload: 'matmul',
    backend: runtime.backend,
    throughput: (2 * 1024 * 512 * 512) / (ms / 1000) / 1e9,
    unit: 'GFLOP/s',
    ms,
    note: '[1024,512]x[512,512]',
  };
}
