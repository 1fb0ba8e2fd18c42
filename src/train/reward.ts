/**
 * Reward-model training: R_P with the Bradley–Terry loss, R_PIT with PIT's five ranking
 * constraints (or an ablation, `RewardConfig.loss`), then normalisation and held-out metrics.
 * Metric names are TRL's RewardTrainer's, plus `pit/` extras for R_PIT.
 */
import * as tf from '@tensorflow/tfjs';
import type { Tokenizer } from '../data';
import {
  bradleyTerryLoss,
  PIT_LOSSES,
  type PitLoss,
  pitRankingLoss,
  type RewardModel,
} from '../models';
import { runtime } from '../runtime';
import { check, checkOneOf } from '../runtime/validate';
import { idsTensor, padRight, rpInput, rpitInput } from './batches';
import { configHash } from './config';
import {
  type BaseTrainConfig,
  DEFAULT_BASE_TRAIN_CONFIG,
  resolveTrainConfig,
  runStage,
  type StageOutcome,
} from './driver';
import { batchAt, guardedStep, lengthSortedParts, type TrainerHooks } from './loop';
import { AdamW } from './optim';
import { pairMetrics, type RewardStats } from './reward_metrics';

export interface RewardConfig extends BaseTrainConfig {
  /**
   * Peak AdamW learning rate. TRL's RewardTrainer default is 1e-4; a small trunk initialised from
   * SFT tolerates more. @defaultValue 3e-4
   */
  lr: number;
  /**
   * R_PIT's loss: PIT's 'five-constraints' (Eq. 2), 'swap-only' (r(w,l) > r(l,w)), or
   * 'rp-difference' (an R_P-layout model trained with Bradley–Terry; its gap is a difference of
   * scores). Must be 'rp-difference' for an R_P model (`kind: 'rp'`), whose loss is always BT.
   * @defaultValue 'five-constraints'
   */
  loss: PitLoss;
  /** TRL's `center_rewards_coefficient`: adds c·mean(r²) to keep scores near 0. @defaultValue 0 */
  centerRewardsCoefficient: number;
  /** Pairs scored per forward pass at evaluation. @defaultValue 64 */
  evalBatchSize: number;
  /** Set the model's offset after training (see `models/reward.ts`). @defaultValue true */
  normalise: boolean;
  /** Training pairs used to estimate the offset (0 = all). @defaultValue 512 */
  normaliseLimit: number;
  /** Stage name (files, checkpoint check, data-order stream). @defaultValue 'reward' */
  stage: string;
}

export const DEFAULT_REWARD_CONFIG: Readonly<RewardConfig> = Object.freeze({
  ...DEFAULT_BASE_TRAIN_CONFIG,
  lr: 3e-4,
  loss: 'five-constraints',
  centerRewardsCoefficient: 0,
  evalBatchSize: 64,
  normalise: true,
  normaliseLimit: 512,
  stage: 'reward',
});

/** `DEFAULT_REWARD_CONFIG` filled with `partial`, checked; `path` names the config in errors. */
export function resolveRewardConfig(
  partial: Partial<RewardConfig> = {},
  path = 'RewardConfig',
): RewardConfig {
  const c = resolveTrainConfig(DEFAULT_REWARD_CONFIG, partial, path);
  checkOneOf(`${path}.loss`, c.loss, PIT_LOSSES);
  return c;
}

/** A preference pair in TRL's column names (`PreferenceRecord` fits). */
export interface Pair {
  prompt: string;
  chosen: string;
  rejected: string;
}

export interface RewardData {
  tokenizer: Tokenizer;
  train: readonly Pair[];
  eval?: readonly Pair[];
}

/**
 * Input rows for a batch of pairs, in blocks of B: R_P layouts [x w | x l]; R_PIT pairings
 * [(w,l) | (w,w) | (l,l) | (l,w)] where (a,b) reads "how much better a is than b".
 */
export function rewardRows(rm: RewardModel, tok: Tokenizer, pairs: readonly Pair[]): number[][] {
  if (rm.kind !== 'rpit') {
    return [
      ...pairs.map((p) => rpInput(tok, p.prompt, p.chosen)),
      ...pairs.map((p) => rpInput(tok, p.prompt, p.rejected)),
    ];
  }
  const block = (a: 'chosen' | 'rejected', b: 'chosen' | 'rejected') =>
    pairs.map((p) => rpitInput(tok, p.prompt, p[a], p[b]));
  return [
    ...block('chosen', 'rejected'),
    ...block('chosen', 'chosen'),
    ...block('rejected', 'rejected'),
    ...block('rejected', 'chosen'),
  ];
}

/**
 * Scores of `rows` (no gradient, batched), as a host array in the rows' order; `raw` skips the
 * model's offset. Rows are batched longest first, so each right-padded batch holds rows of about
 * one length (a row's score does not depend on its batch).
 */
export function scoreRows(
  rm: RewardModel,
  rows: readonly number[][],
  batchSize = 64,
  raw = false,
): Float32Array {
  const out = new Float32Array(rows.length);
  const order = rows.map((_, i) => i).sort((a, b) => rows[b]!.length - rows[a]!.length);
  for (let i = 0; i < order.length; i += batchSize) {
    const batch = order.slice(i, i + batchSize);
    const p = padRight(
      batch.map((j) => rows[j]!),
      rm.trunk.config.blockSize,
    );
    const vals = tf.tidy(() => {
      const ids = idsTensor(p);
      return (raw ? rm.rawScores(ids, p.lastIndex) : rm.scores(ids, p.lastIndex)).dataSync();
    });
    batch.forEach((j, k) => {
      out[j] = vals[k]!;
    });
  }
  return out;
}

/**
 * The scores of a batch's micro-batches (each laid out as `rewardRows` lays out its pairs,
 * concatenated in part order) in the whole batch's layout: block j of part q, pair t goes to
 * j·B + parts[q][t].
 */
function batchOrderScores(scores: Float32Array, parts: number[][], B: number): Float32Array {
  const blocks = scores.length / B;
  const out = new Float32Array(scores.length);
  let at = 0;
  for (const part of parts) {
    for (let j = 0; j < blocks; j++) {
      for (const pair of part) out[j * B + pair] = scores[at++]!;
    }
  }
  return out;
}

/** Loss of one batch from its scores [k·B] (k = 2 for R_P layouts, 4 for R_PIT). */
function rewardLoss(rm: RewardModel, scores: tf.Tensor1D, B: number, c: RewardConfig): tf.Scalar {
  const part = (k: number) => scores.slice([k * B], [B]) as tf.Tensor1D;
  let loss =
    rm.kind === 'rpit'
      ? pitRankingLoss(
          { wl: part(0), ww: part(1), ll: part(2), lw: part(3) },
          c.loss as 'five-constraints' | 'swap-only',
        )
      : bradleyTerryLoss(part(0), part(1));
  if (c.centerRewardsCoefficient > 0)
    loss = loss.add(scores.square().mean().mul(c.centerRewardsCoefficient));
  return loss as tf.Scalar;
}

/** Sets `rm.offset` so reference responses score 0 (R_P) or self-gaps are 0 (R_PIT). */
export function normaliseReward(
  rm: RewardModel,
  tok: Tokenizer,
  pairs: readonly Pair[],
  batchSize = 64,
): number {
  if (rm.kind === 'rpit-diff') {
    rm.offset = 0; // differences cancel any offset
    return 0;
  }
  const rows =
    rm.kind === 'rp'
      ? pairs.map((p) => rpInput(tok, p.prompt, p.chosen))
      : pairs.flatMap((p) => [
          rpitInput(tok, p.prompt, p.chosen, p.chosen),
          rpitInput(tok, p.prompt, p.rejected, p.rejected),
        ]);
  const raw = scoreRows(rm, rows, batchSize, true);
  rm.offset = raw.reduce((a, b) => a + b, 0) / Math.max(1, raw.length);
  return rm.offset;
}

/** Held-out metrics (`eval_` keys); with `rp`, R_PIT's agreement with R_P's differences. */
export function evaluateReward(
  rm: RewardModel,
  tok: Tokenizer,
  pairs: readonly Pair[],
  options: { rp?: RewardModel; batchSize?: number; loss?: PitLoss } = {},
): RewardStats {
  const scores = scoreRows(rm, rewardRows(rm, tok, pairs), options.batchSize);
  let rpDiff: Float32Array | undefined;
  if (options.rp) {
    const s = scoreRows(options.rp, rewardRows(options.rp, tok, pairs), options.batchSize);
    rpDiff = s.subarray(0, pairs.length).map((v, i) => v - s[pairs.length + i]!);
  }
  const stats = pairMetrics(
    rm.kind,
    scores,
    pairs.length,
    options.loss ?? 'five-constraints',
    rpDiff,
  );
  return Object.fromEntries(Object.entries(stats).map(([k, v]) => [`eval_${k}`, v])) as RewardStats;
}

export interface RewardResult extends StageOutcome {
  config: RewardConfig;
  /** The offset set by normalisation (0 when `normalise` is off). */
  offset: number;
}

/**
 * Trains `models.reward` in place; `models.rp` (optional, frozen) adds `eval_pit/rp_agreement`.
 * Steps: 1. config, 2. optimizer, encoded data and stream, 3. the shared stage loop,
 * 4. normalisation and the final held-out evaluation (inside the loop), 5. free the optimizer.
 */
export async function trainReward(
  models: { reward: RewardModel; rp?: RewardModel },
  data: RewardData,
  config: Partial<RewardConfig> = {},
  hooks: TrainerHooks = {},
): Promise<RewardResult> {
  // 1. config
  const c = resolveRewardConfig(config);
  const rm = models.reward;
  const layoutOk = (rm.kind === 'rpit') === (c.loss !== 'rp-difference');
  check(
    layoutOk,
    'RewardConfig.loss',
    `'rp-difference' exactly when the model kind is 'rp' or 'rpit-diff' (kind '${rm.kind}')`,
    c.loss,
  );
  if (data.train.length === 0) throw new Error('trainReward: data.train is empty');
  // 2. optimizer, data stream
  const tok = data.tokenizer;
  const optimizer = new AdamW(rm.variables(), {
    lr: c.lr,
    weightDecay: c.weightDecay,
    maxGradNorm: c.maxGradNorm,
  });
  const rng = runtime.rng(`${c.stage}.data`);
  const { outDir: _o, resume: _r, ...shape } = c;
  const evalPairs = data.eval && data.eval.length > 0 ? data.eval : undefined;
  const grouping = {
    // a pair's rows share one batch, so its padded length is its longest row's
    lengths: data.train.map((p) => Math.max(...rewardRows(rm, tok, [p]).map((r) => r.length))),
    groupBatches: c.groupByLength,
  };
  const evaluate = evalPairs
    ? () =>
        evaluateReward(rm, tok, evalPairs, {
          rp: models.rp,
          batchSize: c.evalBatchSize,
          loss: c.loss,
        })
    : undefined;
  try {
    // 3. the loop; the model's offset is 0 while training, so train metrics are on raw scores
    rm.offset = 0;
    const outcome = runStage({
      stage: c.stage,
      config: c,
      configHash: configHash({ ...shape, kind: rm.kind }),
      optimizer,
      models: { reward: rm.params() },
      rngs: { data: rng },
      stepsPerEpoch: Math.ceil(data.train.length / c.batchSize),
      hooks,
      step: (s, lr) => {
        const { rows } = batchAt(rng, s, data.train.length, c.batchSize, grouping);
        const pairs = rows.map((i) => data.train[i]!);
        const B = pairs.length;
        // a pair's rows share one micro-batch, padded to its longest row
        const parts = lengthSortedParts(
          rows.map((i) => grouping.lengths[i]!),
          c.microBatches,
        );
        let tokens = 0;
        const r = guardedStep(
          optimizer,
          parts.map((part) => () => {
            const p = padRight(
              rewardRows(
                rm,
                tok,
                part.map((i) => pairs[i]!),
              ),
              rm.trunk.config.blockSize,
            );
            tokens += p.mask.reduce((a, v) => a + v, 0);
            hooks.onMicroBatch?.({ ...p, pairs: part.length });
            const scores = rm.rawScores(idsTensor(p), p.lastIndex);
            // a mean over the part's pairs, weighted to its share of the batch's mean
            const loss = rewardLoss(rm, scores, part.length, c).mul(part.length / B) as tf.Scalar;
            return { loss, aux: { scores } };
          }),
          { stage: c.stage, step: s + 1, lr },
        );
        const scores = batchOrderScores(r.aux.scores, parts, B);
        const stats = pairMetrics(rm.kind, scores, B, c.loss);
        const sums: RewardStats = { ...stats, loss: r.loss };
        const counts = Object.fromEntries(Object.keys(sums).map((k) => [k, 1]));
        return { sums, counts, tokens, gradNorm: r.gradNorm };
      },
      evaluate,
      // 4. normalise before the final held-out evaluation, so it measures the model PPO gets
      beforeFinalEval: () => {
        if (c.normalise) {
          const limit = c.normaliseLimit > 0 ? c.normaliseLimit : data.train.length;
          normaliseReward(rm, tok, data.train.slice(0, limit), c.evalBatchSize);
        }
      },
    });
    return { ...outcome, config: c, offset: rm.offset };
  } finally {
    // 5. free the optimizer's moments
    optimizer.dispose();
  }
}
