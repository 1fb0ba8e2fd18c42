/**
 * `trainPpo`: actor–critic PPO for a language model against a reward function, following the
 * implementation details of rlhf-practice §4. The driver reads as TRL's numbered phases; every
 * phase is an exported, unit-tested helper from `core`, `rollout`, `update` and `metrics`.
 */
import type { Gpt } from '../../models';
import { type Rng, runtime } from '../../runtime';
import { AdamW } from '../optim';
import { loadPpoState, type PpoState, savePpoState } from './checkpoint';
import { type PpoConfig, resolvePpoConfig } from './config';
import { AdaptiveKlController, computeGae, klPerToken, maskedWhiten, tokenRewards } from './core';
import { type PpoMetrics, ppoMetrics, type SampleRow } from './metrics';
import { collectRollout, type RewardFn } from './rollout';
import { ppoEpochs } from './update';
import type { ValueModel } from './value';

/** The three models PPO holds: the trained policy and critic, and the frozen reference. */
export interface PpoModels {
  policy: Gpt;
  /** Frozen copy of the SFT policy; never passed to the optimizer. */
  ref: Gpt;
  critic: ValueModel;
}

/** A fixed prompt pool (sampled without replacement per batch), or a generator of batches. */
export type PromptSource =
  | number[][]
  | ((batchSize: number, rng: Rng, update: number) => number[][]);

export interface PpoHooks {
  /** Receives every update's metrics (e.g. a JSONL MetricsLogger). */
  log?: (metrics: PpoMetrics, step: number) => void;
  /** Receives the (prompt, response, score) table every `sampleInterval` updates. */
  samples?: (rows: SampleRow[], step: number) => void;
  /** Renders token ids for the sample table; ids are shown joined by spaces without it. */
  decode?: (ids: number[]) => string;
  /** Stage checkpoint directory: resumed from when it holds a checkpoint, written to otherwise. */
  checkpointDir?: string;
  /** Called after each update with the rollout's extras (PIT RL adds its own metrics here). */
  afterUpdate?: (info: {
    step: number;
    queries: number[][];
    responses: number[][];
    scores: Float32Array;
  }) => void;
}

export interface PpoResult {
  updates: number;
  episodes: number;
  klCoef: number;
  history: PpoMetrics[];
}

/** Draws `n` prompts without replacement (with replacement when the pool is smaller). */
export function drawPrompts(pool: number[][], n: number, rng: Rng): number[][] {
  if (pool.length === 0) throw new Error('trainPpo: the prompt pool is empty');
  if (pool.length < n) return Array.from({ length: n }, () => rng.pick(pool));
  const idx = Array.from({ length: pool.length }, (_, i) => i);
  return rng
    .shuffle(idx)
    .slice(0, n)
    .map((i) => pool[i]!);
}

/** Runs PPO for `config.totalUpdates` updates; resumes from `hooks.checkpointDir` when possible. */
export async function trainPpo(
  models: PpoModels,
  prompts: PromptSource,
  reward: RewardFn,
  config: Partial<PpoConfig> = {},
  hooks: PpoHooks = {},
): Promise<PpoResult> {
  const c = resolvePpoConfig(config);
  const rngs = {
    prompts: runtime.rng('ppo.prompts'),
    sample: runtime.rng('ppo.sample'),
    shuffle: runtime.rng('ppo.shuffle'),
  };
  const optimizer = new AdamW([...models.policy.variables(), ...models.critic.variables()], {
    lr: c.lr,
    maxGradNorm: c.maxGradNorm,
  });
  const klCtl = new AdaptiveKlController(c.klCoef, c.klTarget, c.klHorizon);
  let state: PpoState = { update: 0, episode: 0, klCoef: c.klCoef, rngs: {} };
  const resumed = hooks.checkpointDir
    ? loadPpoState(hooks.checkpointDir, models, optimizer, rngs)
    : undefined;
  if (resumed) state = resumed;
  klCtl.value = state.klCoef;
  const history: PpoMetrics[] = [];
  const decode = hooks.decode ?? ((ids: number[]) => ids.join(' '));
  try {
    for (let update = state.update; update < c.totalUpdates; update++) {
      const start = performance.now();
      const step = update + 1;
      // 1. Rollout: sample responses with the KV cache and cut them after EOS.
      // 2. Score: the reward function on (query, response).
      // 3. Forward passes: policy and reference log-probs at temperature, critic values.
      const queries =
        typeof prompts === 'function'
          ? prompts(c.batchSize, rngs.prompts, update)
          : drawPrompts(prompts, c.batchSize, rngs.prompts);
      const ro = collectRollout(models, queries, reward, { ...c, rng: rngs.sample });
      const { B, R, mask } = ro.packed;
      const shape: [number, number] = [B, R];
      // 4. Rewards: −β·KL per token, the score at the last token, the missing-EOS penalty.
      const kl = klPerToken(ro.logprobs, ro.refLogprobs, c.klEstimator);
      const tr = tokenRewards(kl, ro.scores, mask, ro.finished, shape, {
        klCoef: klCtl.value,
        missingEosPenalty: c.missingEosPenalty,
      });
      // 5. Advantages: (optionally scale-whitened rewards) → GAE → whitened advantages.
      const rewards = c.whitenRewards ? maskedWhiten(tr.rewards, mask, false) : tr.rewards;
      const gae = computeGae(rewards, ro.values, mask, shape, c.gamma, c.lam);
      const advantages = maskedWhiten(gae.advantages, mask);
      // 6. PPO epochs over shuffled minibatches.
      const lr = c.lrAnneal ? c.lr * (1 - update / c.totalUpdates) : c.lr;
      const stats = ppoEpochs(
        models,
        optimizer,
        {
          packed: ro.packed,
          logprobs: ro.logprobs,
          values: ro.values,
          advantages,
          returns: gae.returns,
        },
        c,
        rngs.shuffle,
        lr,
        `update ${step}`,
      );
      // 7. Log, sample table, adaptive KL, checkpoint.
      state.episode += B;
      const metrics = ppoMetrics(
        {
          shape,
          kl,
          nonScore: tr.nonScore,
          scores: tr.scores,
          logprobs: ro.logprobs,
          responseLengths: ro.responses.map((r) => r.length),
          finished: ro.finished,
        },
        stats,
        {
          klCoef: klCtl.value,
          lr,
          episode: state.episode,
          eps: (B * 1000) / (performance.now() - start),
        },
      );
      history.push(metrics);
      hooks.log?.(metrics, step);
      hooks.afterUpdate?.({ step, queries, responses: ro.responses, scores: ro.scores });
      if (hooks.samples && c.sampleInterval > 0 && step % c.sampleInterval === 0) {
        const rows = ro.responses.slice(0, c.sampleRows).map((r, b) => ({
          prompt: decode(queries[b]!),
          response: decode(r),
          score: tr.scores[b]!,
        }));
        hooks.samples(rows, step);
      }
      if (c.klTarget > 0) klCtl.update(metrics['objective/kl'], B);
      state = { ...state, update: step, klCoef: klCtl.value };
      const last = step === c.totalUpdates;
      if (hooks.checkpointDir && (last || (c.saveInterval > 0 && step % c.saveInterval === 0))) {
        savePpoState(hooks.checkpointDir, state, models, optimizer, rngs);
      }
    }
  } finally {
    optimizer.dispose();
  }
  return { updates: state.update, episodes: state.episode, klCoef: klCtl.value, history };
}
