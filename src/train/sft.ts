/**
 * Supervised fine-tuning with a prompt-masked loss: only response tokens (EOS included) are
 * targets. M_P trains on <bos> x <sep> → y_w <eos>; M_PIT on <bos> x <sep_ref> y_l <sep> → y_w <eos>
 * (`sftExamples` builds either from preference pairs). Logs TRL's SFT metrics.
 */
import * as tf from '@tensorflow/tfjs';
import type { Tokenizer } from '../data';
import { type Gpt, tokenLogProbsAndEntropy } from '../models';
import { runtime } from '../runtime';
import { idsTensor, policyPrompt, responseIds, type SftExample, sftBatch } from './batches';
import { configHash } from './config';
import {
  type BaseTrainConfig,
  DEFAULT_BASE_TRAIN_CONFIG,
  resolveTrainConfig,
  runStage,
  type StageOutcome,
  type StepOutput,
} from './driver';
import { assignParts, GradientThread } from './gradient_thread';
import { batchAt, guardedStep, lengthSortedParts, type TrainerHooks } from './loop';
import type { MetricName } from './metrics';
import { AdamW } from './optim';

export interface SftConfig extends BaseTrainConfig {
  /** Held-out examples scored per forward pass at evaluation. @defaultValue 64 */
  evalBatchSize: number;
  /** Name of the stage (file names, checkpoint check, data-order stream). @defaultValue 'sft' */
  stage: string;
  /**
   * Worker threads computing gradients beside this one (data parallelism on one machine, see
   * `gradient_thread.ts`): `assignParts` gives each some of a step's micro-batches, so it must be
   * below `microBatches`. A step is the same, bit for bit, with any number; it pays only where a
   * core would otherwise idle. @defaultValue 0
   */
  gradientThreads: number;
}

export const DEFAULT_SFT_CONFIG: Readonly<SftConfig> = Object.freeze({
  ...DEFAULT_BASE_TRAIN_CONFIG,
  evalBatchSize: 64,
  stage: 'sft',
  gradientThreads: 0,
});

/** `DEFAULT_SFT_CONFIG` filled with `partial`, checked; `path` names the config in errors. */
export function resolveSftConfig(partial: Partial<SftConfig> = {}, path = 'SftConfig'): SftConfig {
  const c = resolveTrainConfig(DEFAULT_SFT_CONFIG, partial, path);
  const n = c.gradientThreads;
  if (!Number.isInteger(n) || n < 0 || (n > 0 && n >= c.microBatches)) {
    throw new Error(
      `${path}.gradientThreads: expected an integer from 0 to microBatches − 1 (${c.microBatches - 1}), got ${n}`,
    );
  }
  return c;
}

export interface SftData {
  train: readonly SftExample[];
  eval?: readonly SftExample[];
}

/**
 * SFT examples from preference pairs: 'mp' maps x → y_w; 'mpit' maps (x, y_l) → y_w, the
 * improver's "given a worse response, write a better one".
 */
export function sftExamples(
  tok: Tokenizer,
  pairs: readonly { prompt: string; chosen: string; rejected: string }[],
  kind: 'mp' | 'mpit',
): SftExample[] {
  return pairs.map((p) => ({
    prompt: policyPrompt(tok, p.prompt, kind === 'mpit' ? p.rejected : undefined),
    response: responseIds(tok, p.chosen),
  }));
}

/**
 * Prompt-masked loss and token statistics from logits [N, V], targets [N] and mask [N]: the mean
 * NLL over mask-1 targets (the sum over `normaliser` targets instead, when this is one micro-batch
 * of a larger batch), and sums of correct argmax predictions, entropy (nats) and targets.
 * Mask-0 rows contribute nothing to the loss, so their logits get exactly zero gradient.
 */
export function maskedTokenStats(
  logits: tf.Tensor2D,
  targets: tf.Tensor1D,
  mask: tf.Tensor1D,
  normaliser?: number,
) {
  const { logp, entropy: rowEntropy } = tokenLogProbsAndEntropy(logits, targets); // [N] each
  const nll = logp.neg();
  const count = mask.sum();
  const denominator = normaliser === undefined ? count.maximum(1) : Math.max(1, normaliser);
  const loss = nll.mul(mask).sum().div(denominator) as tf.Scalar;
  const correct = tf.equal(logits.argMax(-1), targets).toFloat().mul(mask).sum();
  const entropy = rowEntropy.mul(mask).sum();
  return { loss, aux: { correct, entropy, count } };
}

/** `maskedTokenStats` of one SFT batch (see there for `normaliser`), plus its count of real tokens. */
export function sftForward(model: Gpt, examples: readonly SftExample[], normaliser?: number) {
  const b = sftBatch(examples, model.config.blockSize);
  const N = b.B * (b.T - 1);
  const ids = idsTensor(b);
  const inputs = ids.slice([0, 0], [b.B, b.T - 1]) as tf.Tensor2D; // [B, T-1]
  const targets = ids.slice([0, 1], [b.B, b.T - 1]).reshape([N]) as tf.Tensor1D; // [N]
  const logits = model.logits(model.forward(inputs).hidden).reshape([N, model.config.vocabSize]);
  const tokens = b.mask.reduce((a, v) => a + v, 0);
  const mask = tf.tensor1d(b.lossMask);
  return { ...maskedTokenStats(logits as tf.Tensor2D, targets, mask, normaliser), tokens };
}

/** Token-weighted held-out loss, accuracy and entropy. */
function evaluateSft(model: Gpt, examples: readonly SftExample[], batchSize: number) {
  let nll = 0;
  let correct = 0;
  let entropy = 0;
  let count = 0;
  for (let i = 0; i < examples.length; i += batchSize) {
    const vals = tf.tidy(() => {
      const out = sftForward(model, examples.slice(i, i + batchSize));
      const n = out.aux.count;
      return tf.stack([out.loss.mul(n), out.aux.correct, out.aux.entropy, n]).dataSync();
    });
    nll += vals[0]!;
    correct += vals[1]!;
    entropy += vals[2]!;
    count += vals[3]!;
  }
  const n = Math.max(1, count);
  return { eval_loss: nll / n, eval_mean_token_accuracy: correct / n, eval_entropy: entropy / n };
}

export interface SftResult extends StageOutcome {
  config: SftConfig;
  /** Steps whose gradients were computed partly on gradient threads (set or lent). */
  threadedSteps: number;
}

/**
 * Trains `models.policy` in place. Steps: 1. resolve config, 2. optimizer and data stream,
 * 3. run the shared stage loop (resume, log, eval, checkpoint), 4. free the optimizer.
 * Leaves `tf.memory().numTensors` where it found it.
 */
export async function trainSft(
  models: { policy: Gpt },
  data: SftData,
  config: Partial<SftConfig> = {},
  hooks: TrainerHooks = {},
): Promise<SftResult> {
  // 1. config
  const c = resolveSftConfig(config);
  if (data.train.length === 0) throw new Error('trainSft: data.train is empty');
  // 2. optimizer and the data-order stream
  const model = models.policy;
  const optimizer = new AdamW(model.variables(), {
    lr: c.lr,
    weightDecay: c.weightDecay,
    maxGradNorm: c.maxGradNorm,
  });
  const rng = runtime.rng(`${c.stage}.data`);
  // Where files go and how many threads compute the gradients do not change the trajectory.
  const { outDir: _o, resume: _r, gradientThreads: _g, ...shape } = c;
  const vars = optimizer.vars; // the order gradients are summed and sent in
  const nameOf = new Map(model.namedVariables().map(([name, v]) => [v, name]));
  const named = vars.map((v) => [nameOf.get(v)!, v] as const);
  const threads: GradientThread[] = [];
  const lent = lentThreads(c, hooks, () =>
    GradientThread.spawn(runtime.backend, model.config, named),
  );
  let threadedSteps = 0;
  const grouping = {
    lengths: data.train.map((e) => e.prompt.length + e.response.length),
    groupBatches: c.groupByLength,
  };
  try {
    for (let i = 0; i < c.gradientThreads; i++) {
      threads.push(await GradientThread.start(runtime.backend, model.config, named));
    }
    // 3. the loop
    const outcome = runStage({
      stage: c.stage,
      config: c,
      configHash: configHash(shape),
      optimizer,
      models: { policy: model.params },
      rngs: { data: rng },
      stepsPerEpoch: Math.ceil(data.train.length / c.batchSize),
      hooks,
      step: (s, lr): StepOutput => {
        const { rows } = batchAt(rng, s, data.train.length, c.batchSize, grouping);
        const batch = rows.map((i) => data.train[i]!);
        const targets = batch.reduce((n, e) => n + e.response.length, 0);
        let tokens = 0;
        const lengths = rows.map((i) => grouping.lengths[i]!);
        const split = lengthSortedParts(lengths, c.microBatches);
        // a part's work: its rows times the length they are padded to
        const work = split.map((part) => part.length * Math.max(...part.map((i) => lengths[i]!)));
        const helpers = [...threads, ...lent.poll()];
        if (helpers.length > 0) threadedSteps++;
        const owner = assignParts(work, 1 + helpers.length);
        for (const thread of helpers) thread.load(vars); // this step's weights, once
        const parts = split.map((part, j) => {
          const examples = part.map((i) => batch[i]!);
          if (hooks.onMicroBatch) {
            hooks.onMicroBatch({
              ...sftBatch(examples, model.config.blockSize),
              normaliser: targets,
            });
          }
          const thread = helpers[owner[j]! - 1];
          if (thread) {
            return thread.part(examples, targets, (t) => {
              tokens += t;
            });
          }
          return () => {
            const out = sftForward(model, examples, targets);
            tokens += out.tokens;
            return { loss: out.loss, aux: out.aux };
          };
        });
        const r = guardedStep(optimizer, parts, { stage: c.stage, step: s + 1, lr });
        const sum = (a: Float32Array) => a.reduce((x, y) => x + y, 0);
        const n = sum(r.aux.count);
        const sums: Partial<Record<MetricName, number>> = {
          loss: r.loss * n,
          mean_token_accuracy: sum(r.aux.correct),
          entropy: sum(r.aux.entropy),
        };
        return {
          sums,
          counts: { loss: n, mean_token_accuracy: n, entropy: n },
          tokens,
          gradNorm: r.gradNorm,
        };
      },
      evaluate:
        data.eval && data.eval.length > 0
          ? () => evaluateSft(model, data.eval!, c.evalBatchSize)
          : undefined,
    });
    return { ...outcome, config: c, threadedSteps };
  } finally {
    // 4. the optimizer's moments are the only tensors this function created
    optimizer.dispose();
    await Promise.all([...threads, ...lent.all()].map((t) => t.terminate()));
  }
}

/**
 * Gradient threads on the cores `hooks.lentCores` lends mid-run, up to one per micro-batch beyond
 * this thread's and the configured threads. `poll()` (once per step, never blocking) spawns a
 * thread for each newly lent core and returns those that are ready; they load on their own core
 * meanwhile, so a step never waits for one. A lent thread that fails to start is dropped with a
 * warning: it was extra, and the step computes its parts here as before.
 */
function lentThreads(
  c: SftConfig,
  hooks: TrainerHooks,
  spawn: () => GradientThread,
): { poll(): GradientThread[]; all(): GradientThread[] } {
  const room = c.microBatches - 1 - c.gradientThreads;
  const live: GradientThread[] = [];
  const failed: GradientThread[] = [];
  return {
    poll() {
      // once every spare micro-batch has a thread, the loan (a file read in a worker) is not read
      const spawned = live.length + failed.length;
      const wanted = spawned < room ? Math.min(room, Math.floor(hooks.lentCores?.() ?? 0)) : 0;
      while (live.length + failed.length < wanted) live.push(spawn());
      const ready: GradientThread[] = [];
      for (const thread of [...live]) {
        try {
          if (thread.ready()) ready.push(thread);
        } catch (err) {
          console.warn(`${c.stage}: a gradient thread on a lent core: ${(err as Error).message}`);
          live.splice(live.indexOf(thread), 1);
          failed.push(thread);
        }
      }
      return ready;
    },
    all: () => [...live, ...failed],
  };
}
