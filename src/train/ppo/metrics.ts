/**
 * PPO's logged metrics, named exactly as TRL's `PPOTrainer` logs them (rlhf-practice §2, §5), plus
 * the length/termination diagnostics that catch length drift and missing-EOS reward hacking.
 * `_avg` keys are means over PPO epochs × minibatches.
 */
import { meanOf as mean } from '../loop';
import { rowSums, unbiasedVar } from './core';
import type { UpdateStats } from './update';

/** The metric keys of one PPO update. */
export type PpoMetricKey =
  | 'objective/kl'
  | 'objective/scores'
  | 'objective/rlhf_reward'
  | 'objective/non_score_reward'
  | 'objective/entropy'
  | 'objective/kl_coef'
  | 'policy/approxkl_avg'
  | 'policy/clipfrac_avg'
  | 'policy/entropy_avg'
  | 'loss/policy_avg'
  | 'loss/value_avg'
  | 'val/clipfrac_avg'
  | 'val/ratio'
  | 'val/ratio_var'
  | 'val/num_eos_tokens'
  | 'response/length_mean'
  | 'response/eos_rate'
  | 'grad_norm'
  | 'lr'
  | 'episode'
  | 'eps';

/** Keys that describe the learned critic: absent from critic-free ('rloo', 'grpo') updates. */
export const CRITIC_METRICS = ['loss/value_avg', 'val/clipfrac_avg'] as const;

/**
 * One update's metrics. The type lists every key so GAE callers read them directly; critic-free
 * runs ('rloo', 'grpo') leave out `CRITIC_METRICS`: check `'loss/value_avg' in m` there.
 */
export type PpoMetrics = Record<PpoMetricKey, number>;

/** The rollout-side quantities the metrics are computed from ([B, R] row-major). */
export interface RolloutSummary {
  shape: [number, number];
  /** Per-token KL estimate used in the penalty (0 at padding). */
  kl: Float32Array;
  /** −β·kl per token. */
  nonScore: Float32Array;
  /** Scores after the missing-EOS penalty, [B]. */
  scores: Float32Array;
  /** Sampled-token log-probs at the sampling temperature (0 at padding). */
  logprobs: Float32Array;
  responseLengths: number[];
  finished: boolean[];
}

/**
 * One update's metrics. As in TRL: objective/kl and objective/non_score_reward are per-sequence
 * sums averaged over the batch, objective/entropy is the mean per-sequence −Σ log π of the sampled
 * tokens (a Monte-Carlo entropy estimate), and val/ratio_var is the variance of minibatch ratios.
 * Without a critic (`extra.critic` false) the `CRITIC_METRICS` keys are left out, not zeroed.
 */
export function ppoMetrics(
  r: RolloutSummary,
  u: UpdateStats,
  extra: { klCoef: number; lr: number; episode: number; eps: number; critic?: boolean },
): PpoMetrics {
  const nonScore = mean(rowSums(r.nonScore, r.shape));
  const scores = mean(r.scores);
  const negLogp = rowSums(
    r.logprobs.map((v) => -v),
    r.shape,
  );
  const eos = r.finished.filter(Boolean).length;
  const m: PpoMetrics = {
    'objective/kl': mean(rowSums(r.kl, r.shape)),
    'objective/scores': scores,
    'objective/rlhf_reward': scores + nonScore,
    'objective/non_score_reward': nonScore,
    'objective/entropy': mean(negLogp),
    'objective/kl_coef': extra.klCoef,
    'policy/approxkl_avg': mean(u.approxkl),
    'policy/clipfrac_avg': mean(u.clipfrac),
    'policy/entropy_avg': mean(u.entropy),
    'loss/policy_avg': mean(u.pgLoss),
    'loss/value_avg': mean(u.vfLoss),
    'val/clipfrac_avg': mean(u.vfClipfrac),
    'val/ratio': mean(u.ratio),
    'val/ratio_var': unbiasedVar(u.ratio),
    'val/num_eos_tokens': eos,
    'response/length_mean': mean(r.responseLengths),
    'response/eos_rate': r.finished.length ? eos / r.finished.length : 0,
    grad_norm: mean(u.gradNorm),
    lr: extra.lr,
    episode: extra.episode,
    eps: extra.eps,
  };
  if (extra.critic ?? true) return m;
  const { 'loss/value_avg': _v, 'val/clipfrac_avg': _c, ...criticFree } = m;
  return criticFree as PpoMetrics; // see the `PpoMetrics` note: the critic keys are absent
}

/** One row of the periodic sample table. */
export interface SampleRow {
  prompt: string;
  response: string;
  score: number;
}

/** One human-readable line per update, nanoGPT style. */
export function formatPpoLine(step: number, m: PpoMetrics): string {
  const f = (v: number) => (Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(3));
  return (
    `ppo ${step}: score ${f(m['objective/scores'])} kl ${f(m['objective/kl'])} ` +
    `rlhf ${f(m['objective/rlhf_reward'])} pg ${f(m['loss/policy_avg'])} ` +
    ('loss/value_avg' in m ? `vf ${f(m['loss/value_avg'])} ` : '') +
    `clip ${f(m['policy/clipfrac_avg'])} len ${f(m['response/length_mean'])} eos ${f(m['response/eos_rate'])}`
  );
}
