/**
 * Metric names as TRL logs them, and the JSONL stream every trainer writes beside its checkpoint
 * (one object per log step: `step` plus metric keys), readable back as a danfo DataFrame.
 *
 * | key | stage | meaning | healthy direction / tip |
 * |---|---|---|---|
 * | `loss` | SFT, RM | training loss of the logged step(s) | falls; NaN stops the stage |
 * | `mean_token_accuracy` | SFT | argmax = target over unmasked tokens | rises |
 * | `entropy` | SFT | mean next-token entropy (nats) over unmasked tokens | falls slowly; collapse → overfit |
 * | `num_tokens` | SFT, RM | tokens seen so far (cumulative, as TRL) | grows linearly |
 * | `accuracy` | RM | chosen scored above rejected (R_PIT: fraction of its constraints met) | rises, ≤ 1 − label noise |
 * | `margin` | RM | mean r(chosen) − r(rejected) (R_PIT: r(w,l) − r(l,w)) | rises |
 * | `min_reward` / `mean_reward` / `max_reward` | RM | over every score in the step | bounded; drift → centre |
 * | `learning_rate`, `grad_norm`, `epoch` | all | optimiser state | grad_norm spikes precede NaN |
 * | `pit/swap_accuracy` | R_PIT | r(x,y_w,y_l) > r(x,y_l,y_w) | rises |
 * | `pit/self_gap_abs_mean` | R_PIT | mean abs r(x,y,y) (after normalisation) | ≈ 0 |
 * | `pit/rp_agreement` | R_PIT | sign r(x,y_w,y_l) − r(x,y_l,y_w) agrees with R_P(x,y_w) − R_P(x,y_l) | high |
 * | `pit/round`, `pit/gap_reward_mean`, `pit/positive_gap_frac` | PIT RL | curriculum round, mean gap reward, fraction > 0 | gap rises |
 * | `objective/kl`, `objective/scores`, `objective/rlhf_reward`, `objective/non_score_reward`, `objective/entropy`, `objective/kl_coef` | PPO | see rlhf-practice §5 | scores ↑, kl small and ≥ 0 |
 * | `policy/approxkl_avg`, `policy/clipfrac_avg`, `policy/entropy_avg`, `loss/policy_avg`, `loss/value_avg` | PPO | means over epochs × minibatches | clipfrac ≲ 0.2 |
 * | `val/ratio`, `val/ratio_var`, `val/clipfrac_avg`, `val/num_eos_tokens` | PPO | ratio health, EOS count | ratio ≈ 1 |
 * | `response/length_mean`, `response/eos_rate` | PPO | response length and termination | length drift = reward hacking |
 * | `lr`, `episode`, `eps` | PPO | TRL's bookkeeping | |
 *
 * Held-out values take the `eval_` prefix (`eval_loss`, `eval_accuracy`, `eval_pit/swap_accuracy`).
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import * as dfd from 'danfojs-node';
import { writeFileAtomic } from '../models';

export const SFT_METRICS = ['loss', 'mean_token_accuracy', 'entropy', 'num_tokens'] as const;
export const REWARD_METRICS = [
  'loss',
  'accuracy',
  'margin',
  'min_reward',
  'mean_reward',
  'max_reward',
  'num_tokens',
] as const;
export const PIT_RM_METRICS = [
  'pit/swap_accuracy',
  'pit/self_gap_abs_mean',
  'pit/rp_agreement',
] as const;
export const PPO_METRICS = [
  'objective/kl',
  'objective/scores',
  'objective/rlhf_reward',
  'objective/non_score_reward',
  'objective/entropy',
  'objective/kl_coef',
  'policy/approxkl_avg',
  'policy/clipfrac_avg',
  'policy/entropy_avg',
  'loss/policy_avg',
  'loss/value_avg',
  'val/clipfrac_avg',
  'val/ratio',
  'val/ratio_var',
  'val/num_eos_tokens',
  'response/length_mean',
  'response/eos_rate',
  'lr',
  'episode',
  'eps',
  'heldout/score',
  'heldout/best_update',
  'heldout/judge',
] as const;
export const PIT_RL_METRICS = [
  'pit/round',
  'pit/gap_reward_mean',
  'pit/positive_gap_frac',
] as const;
export const COMMON_METRICS = ['learning_rate', 'grad_norm', 'epoch'] as const;

type BaseMetric =
  | (typeof SFT_METRICS)[number]
  | (typeof REWARD_METRICS)[number]
  | (typeof PIT_RM_METRICS)[number]
  | (typeof PPO_METRICS)[number]
  | (typeof PIT_RL_METRICS)[number]
  | (typeof COMMON_METRICS)[number];

/** Every key a pitlab trainer logs: TRL's names, `pit/` for PIT-only ones, `eval_` for held-out. */
export type MetricName = BaseMetric | `eval_${BaseMetric}`;

/** One log line: the global step and any metrics measured at it. */
export type MetricsRow = { step: number } & Partial<Record<MetricName, number>>;

/**
 * Appends one JSON object per `log` call to a JSONL file, synchronously, so a line is on disk
 * before the next step starts (a SIGKILL loses at most the line being written).
 */
export class MetricsLogger {
  readonly path: string;
  private readonly kept: MetricsRow[];

  /**
   * A fresh run truncates the file. `resumeAt` (the step of the checkpoint being resumed) keeps the
   * rows up to and including that step and drops later ones: they came from the killed run after
   * its last checkpoint and will be logged again, identically.
   */
  constructor(path: string, options: { resumeAt?: number } = {}) {
    this.path = path;
    mkdirSync(dirname(path), { recursive: true });
    const old = options.resumeAt !== undefined && existsSync(path) ? readMetrics(path) : [];
    this.kept = old.filter((r) => r.step <= (options.resumeAt ?? -1));
    const text = this.kept.map((r) => `${JSON.stringify(r)}\n`).join('');
    writeFileAtomic(path, [Buffer.from(text, 'utf8')]);
  }

  log(row: MetricsRow): void {
    for (const [key, value] of Object.entries(row)) {
      if (typeof value !== 'number') {
        throw new Error(`MetricsLogger.log: metric '${key}' must be a number, got ${typeof value}`);
      }
    }
    this.kept.push(row);
    // Non-finite numbers are not JSON; write them as null so the line still parses.
    appendFileSync(
      this.path,
      `${JSON.stringify(row, (_k, v) => (Number.isFinite(v) || typeof v !== 'number' ? v : null))}\n`,
    );
  }

  /** Rows logged so far (including the ones kept on resume). */
  rows(): readonly MetricsRow[] {
    return this.kept;
  }
}

/** Parses a metrics JSONL file; a torn last line (killed mid-write) is ignored. */
export function readMetrics(path: string): MetricsRow[] {
  const lines = readFileSync(path, 'utf8').split('\n');
  const rows: MetricsRow[] = [];
  for (const [i, line] of lines.entries()) {
    if (line.trim() === '') continue;
    try {
      rows.push(JSON.parse(line) as MetricsRow);
    } catch (err) {
      if (i < lines.length - 1 && lines.slice(i + 1).some((l) => l.trim() !== '')) {
        throw new Error(`${path}:${i + 1}: invalid metrics line (${(err as Error).message})`);
      }
    }
  }
  return rows;
}

/**
 * Metrics as a DataFrame: one row per log line, one column per key seen anywhere (`step` first);
 * keys missing from a line are NaN, so train and eval lines share one frame.
 */
export function metricsFrame(source: string | readonly MetricsRow[]): dfd.DataFrame {
  const rows = typeof source === 'string' ? readMetrics(source) : source;
  const keys = [
    'step',
    ...new Set(rows.flatMap((r) => Object.keys(r)).filter((k) => k !== 'step')),
  ];
  const columns: Record<string, number[]> = {};
  for (const k of keys) {
    columns[k] = rows.map((r) => {
      const v = (r as Record<string, number | null | undefined>)[k];
      return typeof v === 'number' ? v : Number.NaN;
    });
  }
  return new dfd.DataFrame(columns);
}

/** One human-readable console line: `step 40 | loss 1.234 | accuracy 0.812`. */
export function formatMetrics(row: MetricsRow): string {
  const parts = Object.entries(row)
    .filter(([k]) => k !== 'step')
    .map(([k, v]) => `${k} ${Number.isInteger(v) ? v : (v as number).toPrecision(4)}`);
  return [`step ${row.step}`, ...parts].join(' | ');
}
