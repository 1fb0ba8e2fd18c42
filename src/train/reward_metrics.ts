/** Pairwise reward-model metrics from host score arrays (TRL's RewardTrainer names, `pit/` extras). */
import type { PitLoss, RewardKind } from '../models';
import type { MetricName } from './metrics';

export type RewardStats = Partial<Record<MetricName, number>>;

const mean = (xs: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i]!;
  return xs.length > 0 ? s / xs.length : 0;
};
const frac = (n: number, f: (i: number) => boolean) => {
  let k = 0;
  for (let i = 0; i < n; i++) if (f(i)) k += 1;
  return n > 0 ? k / n : 0;
};

function scoreRange(scores: Float32Array): RewardStats {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const v of scores) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  return { min_reward: lo, mean_reward: mean(scores), max_reward: hi };
}

/**
 * Metrics of B pairs from scores laid out as `rewardRows` makes them. For R_P layouts:
 * accuracy = r(w) > r(l), margin = mean r(w) − r(l). For R_PIT: accuracy = fraction of the loss's
 * constraints met, margin = mean r(w,l) − r(l,w), `pit/swap_accuracy` = r(w,l) > r(l,w),
 * `pit/self_gap_abs_mean` = mean |r(w,w)|, |r(l,l)|. With `rpDiff` (R_P(w) − R_P(l) per pair),
 * `pit/rp_agreement` = fraction of pairs where the gap's sign matches R_P's.
 */
export function pairMetrics(
  kind: RewardKind,
  scores: Float32Array,
  B: number,
  loss: PitLoss,
  rpDiff?: Float32Array,
): RewardStats {
  const at = (k: number, i: number) => scores[k * B + i]!;
  const agree = (gap: (i: number) => number): RewardStats =>
    rpDiff ? { 'pit/rp_agreement': frac(B, (i) => gap(i) > 0 === rpDiff[i]! > 0) } : {};
  if (kind !== 'rpit') {
    const gap = (i: number) => at(0, i) - at(1, i);
    const base: RewardStats = {
      accuracy: frac(B, (i) => gap(i) > 0),
      margin: mean(Float32Array.from({ length: B }, (_, i) => gap(i))),
      ...scoreRange(scores),
    };
    if (kind === 'rp') return base;
    // as a gap model r(w,l) = −r(l,w) and r(y,y) = 0 exactly
    return {
      ...base,
      'pit/swap_accuracy': base.accuracy,
      'pit/self_gap_abs_mean': 0,
      ...agree(gap),
    };
  }
  const [wl, ww, ll, lw] = [0, 1, 2, 3].map((k) => (i: number) => at(k, i)) as Array<
    (i: number) => number
  >;
  const constraints: Array<(i: number) => boolean> =
    loss === 'swap-only'
      ? [(i) => wl!(i) > lw!(i)]
      : [
          (i) => wl!(i) > ww!(i),
          (i) => wl!(i) > ll!(i),
          (i) => wl!(i) > lw!(i),
          (i) => ww!(i) > lw!(i),
          (i) => ll!(i) > lw!(i),
        ];
  const met = mean(constraints.map((f) => frac(B, f)));
  const self = Float32Array.from({ length: 2 * B }, (_, j) =>
    Math.abs(j < B ? ww!(j) : ll!(j - B)),
  );
  const gap = (i: number) => wl!(i) - lw!(i);
  return {
    accuracy: met,
    margin: mean(Float32Array.from({ length: B }, (_, i) => gap(i))),
    ...scoreRange(scores),
    'pit/swap_accuracy': frac(B, (i) => gap(i) > 0),
    'pit/self_gap_abs_mean': mean(self),
    ...agree(gap),
  };
}
