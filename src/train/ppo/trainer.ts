/**
 * `trainPpo`: actor–critic PPO for a language model against a reward function, following the
 * implementation details of rlhf-practice §4. The driver reads as TRL's numbered phases; every
 * phase is an exported, unit-tested helper from `core`, `rollout`, `update` and `metrics`. With
 * `advantage` 'rloo' or 'grpo' the critic gives way to group baselines (`group`).
 */
import * as tf from '@tensorflow/tfjs';
import type { Gpt } from '../../models';
import { runtime } from '../../runtime';
import {
  latestStageCheckpoint,
  restoreStageCheckpoint,
  type StageObjects,
  saveStageCheckpoint,
} from '../checkpoint';
import { configHash } from '../config';
import { lrAt, stageFiles, type TrainerHooks } from '../loop';
import { type MetricName, MetricsLogger } from '../metrics';
import { AdamW } from '../optim';
import { type PpoConfig, resolvePpoConfig } from './config';
import {
  AdaptiveKlController,
  computeGae,
  klPerToken,
  maskedWhiten,
  type TokenRewards,
  tokenRewards,
} from './core';
import {
  broadcastToTokens,
  drawQueries,
  grpoAdvantages,
  type PromptSource,
  rlooAdvantages,
  sequenceRewards,
  sequenceWeights,
} from './group';
import { type PpoMetrics, ppoMetrics, type SampleRow } from './metrics';
import { collectRollout, type RewardFn, type Rollout } from './rollout';
import { beatsKept, type HeldOutScores, heldOutMean } from './selection';
import { ppoEpochs, type UpdateBatch } from './update';
import type { ValueModel } from './value';

/** The three models PPO holds: the trained policy and critic, and the frozen reference. */
export interface PpoModels {
  policy: Gpt;
  /** Frozen copy of the SFT policy; never passed to the optimizer. */
  ref: Gpt;
  /** Needed by advantage 'gae'; 'rloo' and 'grpo' leave it untouched (or run without one). */
  critic?: ValueModel;
}

/** What one update produced, for hooks that derive their own metrics (PIT RL's gap statistics). */
export interface UpdateInfo {
  step: number;
  queries: number[][];
  responses: number[][];
  finished: boolean[];
  /** Reward-function scores before the missing-EOS penalty. */
  rawScores: Float32Array;
}

export interface PpoOptions extends TrainerHooks {
  /**
   * Run directory: `ppo.ckpt.safetensors` and `ppo.metrics.jsonl` go here, and a run finding a
   * checkpoint of the same config resumes from it. Without it nothing is written.
   */
  dir?: string;
  /** Stage name for files, checkpoints and errors. @defaultValue 'ppo' */
  stage?: string;
  /** Receives the (prompt, response, score) table every `sampleInterval` updates. */
  onSamples?: (rows: SampleRow[], step: number) => void;
  /** Renders token ids for the sample table; ids are joined by spaces without it. */
  decode?: (ids: number[]) => string;
  /** Extra metrics merged into each update's row before it is logged (e.g. `pit/*`). */
  extraMetrics?: (info: UpdateInfo) => Partial<Record<MetricName, number>>;
  /**
   * Held-out score of the current policy, higher is better (used when `validateEvery` > 0): one
   * number, or per-prompt scores (their mean is the score) so `selectionMargin` can test a gain
   * pairwise. It must be deterministic for given weights (its own seeded sampling), so a resumed
   * run agrees.
   */
  validate?: () => HeldOutScores;
  /**
   * Further held-out figures of the policy `validate` just scored (e.g. `heldout/judge`, an exact
   * judge's mean on the same outputs), logged with that check's row and never used to select.
   */
  heldOutExtras?: () => Partial<Record<MetricName, number>>;
}

export interface PpoResult {
  updates: number;
  /** With validation: the update whose policy was kept (0 = the starting policy) and its score. */
  best?: { update: number; score: number };
  /** With validation and patience: true when the run stopped before `totalUpdates`. */
  stoppedEarly?: boolean;
  episodes: number;
  klCoef: number;
  /** Metrics of the updates run in this call (a resumed run starts after the checkpoint). */
  history: PpoMetrics[];
}

/** Runs PPO for `config.totalUpdates` updates; resumes from `options.dir` when it holds a checkpoint. */
export async function trainPpo(
  models: PpoModels,
  prompts: PromptSource,
  reward: RewardFn,
  config: Partial<PpoConfig> = {},
  options: PpoOptions = {},
): Promise<PpoResult> {
  const c = resolvePpoConfig(config);
  const stage = options.stage ?? 'ppo';
  const rngs = {
    prompts: runtime.rng(`${stage}.prompts`),
    sample: runtime.rng(`${stage}.sample`),
    shuffle: runtime.rng(`${stage}.shuffle`),
  };
  // The group modes neither read nor train a critic, so it stays out of optimizer and checkpoint.
  const grouped = c.advantage !== 'gae';
  const critic = grouped ? undefined : models.critic;
  if (!grouped && !critic)
    throw new Error(`${stage}: advantage 'gae' needs models.critic ('rloo' and 'grpo' need none)`);
  const optimizer = new AdamW([...models.policy.variables(), ...(critic?.variables() ?? [])], {
    lr: c.lr,
    maxGradNorm: c.maxGradNorm,
  });
  const selecting = c.validateEvery > 0;
  if (selecting && !options.validate)
    throw new Error(
      `${stage}: validateEvery is ${c.validateEvery} but no validate function was given`,
    );
  // The best policy so far lives in the checkpoint too, so a resumed run selects the same one.
  const best = selecting ? snapshot(models.policy.params) : undefined;
  const objects: StageObjects = {
    models: {
      policy: models.policy.params,
      ...(critic ? { critic: criticParams(critic) } : {}),
      ...(best ? { best } : {}),
    },
    optimizers: { ppo: optimizer },
    rngs,
  };
  const files = options.dir ? stageFiles(options.dir, stage) : undefined;
  const hash = ppoConfigHash(c);
  const ckpt = files && latestStageCheckpoint(files.checkpoint, { stage, configHash: hash });
  if (ckpt) restoreStageCheckpoint(ckpt, objects);
  let update = ckpt?.counters.update ?? 0;
  let episode = ckpt?.counters.episode ?? 0;
  const klCtl = new AdaptiveKlController(
    Number(ckpt?.extra?.klCoef ?? c.klCoef),
    c.klTarget,
    c.klHorizon,
  );
  const logger = files && new MetricsLogger(files.metrics, { resumeAt: ckpt ? update : undefined });
  const history: PpoMetrics[] = [];
  const decode = options.decode ?? ((ids: number[]) => ids.join(' '));
  const sel = {
    score: Number(ckpt?.extra?.bestScore ?? Number.NEGATIVE_INFINITY),
    update: Number(ckpt?.extra?.bestUpdate ?? 0),
    misses: Number(ckpt?.extra?.misses ?? 0),
    stopped: Boolean(ckpt?.extra?.stopped ?? false),
    /** The kept policy's held-out scores (per prompt when `validate` gives them). */
    scores: ckpt?.extra?.bestScores as HeldOutScores | undefined,
  };
  /** Scores the policy; keeps it when it beats the kept one. Returns the score for the metrics row. */
  const check = (at: number): number => {
    const scores = options.validate!();
    const score = heldOutMean(scores);
    if (sel.scores === undefined || beatsKept(scores, sel.scores, c.selectionMargin)) {
      const kept = typeof scores === 'number' ? scores : Array.from(scores);
      Object.assign(sel, { score, scores: kept, update: at, misses: 0 });
      copyInto(best!, models.policy.params);
    } else {
      sel.misses += 1;
      if (c.patience > 0 && sel.misses >= c.patience) sel.stopped = true;
    }
    return score;
  };
  try {
    if (selecting && !ckpt) check(0);
    for (; update < c.totalUpdates && !sel.stopped; update++) {
      const start = performance.now();
      const step = update + 1;
      // 1. Rollout: sample responses with the KV cache and cut them after EOS.
      // 2. Score: the reward function on (query, response).
      // 3. Forward passes: policy and reference log-probs at temperature, critic values.
      // Group modes draw batchSize/groupSize prompts and answer each groupSize times.
      const groupSize = grouped ? c.groupSize : 1;
      const queries = drawQueries(prompts, c.batchSize, groupSize, rngs.prompts, update);
      const ro = collectRollout({ ...models, critic }, queries, reward, { ...c, rng: rngs.sample });
      const { B, R } = ro.packed;
      const shape: [number, number] = [B, R];
      // 4–5. Rewards and advantages (GAE with the critic, or the group baselines).
      const { kl, tr, batch } = advantagePhase(ro, c, klCtl.value);
      // 6. PPO epochs over shuffled minibatches (NaN/Inf stops here, naming the update).
      const lr = lrAt(update, c.totalUpdates, c.lr, c.lrSchedule);
      const stats = ppoEpochs(
        { policy: models.policy, critic },
        optimizer,
        batch,
        c,
        rngs.shuffle,
        lr,
        step,
      );
      // 7. Log, sample table, adaptive KL, checkpoint.
      episode += B;
      const lengths = ro.responses.map((r) => r.length);
      const summary = { ...tr, shape, kl, logprobs: ro.logprobs, finished: ro.finished };
      const metrics = ppoMetrics({ ...summary, responseLengths: lengths }, stats, {
        klCoef: klCtl.value,
        lr,
        episode,
        eps: (B * 1000) / (performance.now() - start),
        critic: !grouped,
      });
      history.push(metrics);
      const info = {
        step,
        queries,
        responses: ro.responses,
        finished: ro.finished,
        rawScores: ro.scores,
      };
      const validated =
        selecting && (step % c.validateEvery === 0 || step === c.totalUpdates)
          ? {
              'heldout/score': check(step),
              'heldout/best_update': sel.update,
              ...options.heldOutExtras?.(),
            }
          : {};
      const row = { step, ...metrics, ...options.extraMetrics?.(info), ...validated };
      logger?.log(row);
      options.onLog?.(row);
      options.onProgress?.(step, c.totalUpdates);
      if (options.onSamples && c.sampleInterval > 0 && step % c.sampleInterval === 0) {
        const rows = ro.responses.slice(0, c.sampleRows).map((r, b) => ({
          prompt: decode(queries[b]!),
          response: decode(r),
          score: tr.scores[b]!,
        }));
        options.onSamples(rows, step);
      }
      if (c.klTarget > 0) klCtl.update(metrics['objective/kl'], B);
      const due =
        step === c.totalUpdates ||
        sel.stopped ||
        (c.saveInterval > 0 && step % c.saveInterval === 0);
      if (files && due) {
        const selection = selecting
          ? {
              bestScore: sel.score,
              bestScores: sel.scores,
              bestUpdate: sel.update,
              misses: sel.misses,
              stopped: sel.stopped,
            }
          : {};
        saveStageCheckpoint(files.checkpoint, objects, {
          stage,
          configHash: hash,
          counters: { update: step, episode },
          extra: { klCoef: klCtl.value, ...selection },
        });
        options.onCheckpoint?.(files.checkpoint, step);
      }
    }
    if (best) copyInto(models.policy.params, best); // load the best policy at the end
  } finally {
    optimizer.dispose();
    if (best) for (const v of best.values()) v.dispose();
  }
  return {
    updates: update,
    episodes: episode,
    klCoef: klCtl.value,
    history,
    ...(selecting
      ? { best: { update: sel.update, score: sel.score }, stoppedEarly: sel.stopped }
      : {}),
  };
}

/**
 * Phases 4–5. Rewards: −β·KL per token, the score at the last token, the missing-EOS penalty.
 * 'gae': (optionally scale-whitened rewards) → GAE → whitened advantages, value targets for the
 * critic. 'rloo'/'grpo': one sequence reward per response → group baseline → the same advantage
 * on each of its tokens, no value targets; GRPO's KL moves into the loss, averaged per sequence.
 */
function advantagePhase(
  ro: Rollout,
  c: PpoConfig,
  klCoef: number,
): { kl: Float32Array; tr: TokenRewards; batch: UpdateBatch } {
  const { B, R, mask } = ro.packed;
  const shape: [number, number] = [B, R];
  const kl = klPerToken(ro.logprobs, ro.refLogprobs, c.klEstimator);
  const tr = tokenRewards(kl, ro.scores, mask, ro.finished, shape, {
    klCoef,
    missingEosPenalty: c.missingEosPenalty,
  });
  if (c.advantage === 'gae') {
    const rewards = c.whitenRewards ? maskedWhiten(tr.rewards, mask, false) : tr.rewards;
    const gae = computeGae(rewards, ro.values!, mask, shape, c.gamma, c.lam);
    const advantages = maskedWhiten(gae.advantages, mask);
    return { kl, tr, batch: { ...ro, advantages, returns: gae.returns } };
  }
  const rewards = sequenceRewards(c.advantage, tr.scores, tr.nonScore, shape);
  const perRow =
    c.advantage === 'rloo'
      ? rlooAdvantages(rewards, c.groupSize)
      : grpoAdvantages(rewards, c.groupSize);
  const batch: UpdateBatch = {
    packed: ro.packed,
    logprobs: ro.logprobs,
    advantages: broadcastToTokens(perRow, mask, shape),
  };
  if (c.advantage === 'grpo') {
    batch.lossWeights = sequenceWeights(mask, shape);
    if (klCoef > 0) batch.klLoss = { refLogprobs: ro.refLogprobs, coef: klCoef };
  }
  return { kl, tr, batch };
}

/**
 * The checkpoint's config hash. GAE runs hash without `advantage` and `groupSize` (which they
 * ignore), so checkpoints written before those fields existed still resume.
 */
function ppoConfigHash(c: PpoConfig): string {
  if (c.advantage !== 'gae') return configHash(c);
  const { advantage: _a, groupSize: _g, ...before } = c;
  return configHash(before);
}

/** Frozen copies of a model's variables (never trained: not passed to the optimizer). */
function snapshot(params: Map<string, tf.Variable>): Map<string, tf.Variable> {
  return new Map([...params].map(([name, v]) => [name, tf.variable(v, false)]));
}

function copyInto(target: Map<string, tf.Variable>, source: Map<string, tf.Variable>): void {
  for (const [name, v] of target) v.assign(source.get(name)!);
}

/** The critic's trainable variables by name, for checkpoints. */
function criticParams(critic: ValueModel): Map<string, tf.Variable> {
  return new Map([
    ...critic.trunk.params,
    ['head.weight', critic.headWeight],
    ['head.bias', critic.headBias],
  ]);
}
