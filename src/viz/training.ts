/** Plotly figure builders (plain {data, layout} objects) for training curves from a metrics frame. */
import type * as dfd from 'danfojs-node';
import type { MetricName, MetricsRow } from '../train/metrics';
import type { Figure } from './data';

/** A metrics frame (`metricsFrame`) or the rows it is built from (`readMetrics`). */
export type MetricsSource = dfd.DataFrame | readonly MetricsRow[];

/** Finite (step, value) points of one column; columns absent from the source give no points. */
function series(source: MetricsSource, key: string): { x: number[]; y: number[] } {
  let steps: number[];
  let values: unknown[];
  if (Array.isArray(source)) {
    const rows = source as readonly MetricsRow[];
    steps = rows.map((r) => r.step);
    values = rows.map((r) => (r as Record<string, unknown>)[key]);
  } else {
    const frame = source as dfd.DataFrame;
    if (!frame.columns.includes(key)) return { x: [], y: [] };
    steps = frame.column('step').values as number[];
    values = frame.column(key).values;
  }
  const x: number[] = [];
  const y: number[] = [];
  values.forEach((v, i) => {
    if (typeof v === 'number' && Number.isFinite(v)) {
      x.push(steps[i]!);
      y.push(v);
    }
  });
  return { x, y };
}

/** Line chart of `keys` (those present in the metrics) against step; `y2` keys use a right axis. */
export function metricFigure(
  frame: MetricsSource,
  keys: readonly MetricName[],
  title: string,
  opts: FigureOptions = {},
): Figure {
  const all = [...keys, ...(opts.y2 ?? [])];
  const data = all
    .map((key) => ({ key, ...series(frame, key) }))
    .filter((s) => s.x.length > 0)
    .map(({ key, x, y }) => ({
      type: 'scatter',
      mode: 'lines+markers',
      name: key,
      x,
      y,
      ...(opts.y2?.includes(key) ? { yaxis: 'y2' } : {}),
    }));
  return {
    data,
    layout: {
      title: { text: title },
      xaxis: { title: { text: 'step' } },
      yaxis: { title: { text: opts.yTitle ?? '' } },
      ...(opts.y2 ? { yaxis2: { overlaying: 'y', side: 'right' } } : {}),
    },
  };
}

/** Axis options of `metricFigure`. */
type FigureOptions = { y2?: readonly MetricName[]; yTitle?: string };

/** A standard figure: `metricFigure` with its keys, title and axes fixed. */
const fixedFigure =
  (keys: readonly MetricName[], title: string, opts: FigureOptions) =>
  (frame: dfd.DataFrame): Figure =>
    metricFigure(frame, keys, title, opts);

/** Train and held-out loss (SFT, reward models, PPO losses). */
export const lossFigure = fixedFigure(
  ['loss', 'eval_loss', 'loss/policy_avg', 'loss/value_avg'],
  'Loss',
  { yTitle: 'loss' },
);

/** RL objective: reward model score and RLHF reward, with KL to the reference on the right axis. */
export const rewardKlFigure = fixedFigure(
  ['objective/scores', 'objective/rlhf_reward', 'pit/gap_reward_mean', 'mean_reward'],
  'Reward and KL',
  { y2: ['objective/kl'], yTitle: 'reward' },
);

/** Policy entropy (nats per token). */
export const entropyFigure = fixedFigure(
  ['entropy', 'eval_entropy', 'objective/entropy', 'policy/entropy_avg'],
  'Entropy',
  { yTitle: 'nats' },
);

/** PPO ratio and value clip fractions. */
export const clipFractionFigure = fixedFigure(
  ['policy/clipfrac_avg', 'val/clipfrac_avg'],
  'Clip fraction',
  { yTitle: 'fraction' },
);

/** Response length with the EOS rate on the right axis (length drift is the usual reward-hack tell). */
export const lengthFigure = fixedFigure(['response/length_mean'], 'Response length', {
  y2: ['response/eos_rate'],
  yTitle: 'tokens',
});
