/**
 * Shared by the PIT RL scripts: the exact judge's gap as a reward (an oracle no learned gap model
 * can beat), the Δ [CI] text they print, and a round's training-reward trend.
 */
import { judge } from '../src/data/synth/judge';
import type { RewardModel } from '../src/models';
import { decodeResponse, scoreGap } from '../src/pit/generate';
import type { readSplits, readTokenizer } from '../src/pit/stages';
import { runtime } from '../src/runtime';
import { meanOf, stdOf } from '../src/train/loop';
import type { GapRewardFn } from '../src/train/pit_rl';

/**
 * q(x, y) − q(x, y_ref) under the exact judge, rescaled to R_PIT's spread on the validation pairs
 * (both orders), so that one KL coefficient weighs the oracle and R_PIT alike.
 *
 * With `noise` σ > 0 it is a *noisy oracle*: σ·z is added to the judge's gap before rescaling, z a
 * standard normal fixed by (x, y, y_ref), so that like a reward model it gives one answer per input.
 * σ sets how often it ranks an edit the judge's way: an edit that changes one of the seven
 * constraints (a gap of 1/7) is ranked right with probability Φ(1/(7σ)).
 */
export function oracleGap(
  rpit: RewardModel,
  tok: ReturnType<typeof readTokenizer>,
  v: ReturnType<typeof readSplits>['valid'],
  noise = 0,
): { scale: number; reward: GapRewardFn; gap: (x: string, y: string, yRef: string) => number } {
  const px = [...v, ...v].map((p) => p.prompt);
  const [ya, yb] = [
    [...v.map((p) => p.chosen), ...v.map((p) => p.rejected)],
    [...v.map((p) => p.rejected), ...v.map((p) => p.chosen)],
  ];
  const judgeGap = ya.map((y, i) => judge(px[i]!, y).score - judge(px[i]!, yb[i]!).score);
  const scale = stdOf(scoreGap(rpit, tok, px, ya, yb)) / stdOf(judgeGap);
  const gap = (x: string, y: string, yRef: string) => {
    const exact = judge(x, y).score - judge(x, yRef).score;
    if (noise === 0) return scale * exact;
    return (
      scale *
      (exact + noise * runtime.rng(`oracle-noise\u0000${x}\u0000${y}\u0000${yRef}`).normal())
    );
  };
  const text = (ids: number[]) => decodeResponse(tok, ids);
  const reward: GapRewardFn = (xs, ys, refs) =>
    Float32Array.from(xs, (x, i) => gap(tok.decode(x), text(ys[i]!), text(refs[i]!)));
  return { scale, reward, gap };
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

/** "Δ +1.2% [−0.3%, 2.8%]" for a `compare` result. */
export const deltaText = (c: { delta: number; ci95: [number, number] }): string =>
  `Δ ${pct(c.delta)} [${pct(c.ci95[0])}, ${pct(c.ci95[1])}]`;

/**
 * "reward a → b, kl c" of one PPO round: the mean score over its first and last five updates (one
 * batch's mean is noisy) and the KL over the last five.
 */
export function rewardTrend(history: readonly object[]): string {
  const rows = history as readonly Record<string, number>[];
  const avg = (part: readonly Record<string, number>[], key: string) =>
    meanOf(part.map((row) => row[key]!)).toFixed(3);
  const [head, tail] = [rows.slice(0, 5), rows.slice(-5)];
  return `reward ${avg(head, 'objective/scores')} → ${avg(tail, 'objective/scores')}, kl ${avg(tail, 'objective/kl')}`;
}
