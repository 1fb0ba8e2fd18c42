/**
 * PPO's pure numeric helpers on plain arrays: masked statistics, GAE, KL estimators, the adaptive
 * KL controller, per-token rewards and response truncation. Nothing here touches tensors, so each
 * function is unit-tested on hand-computed cases.
 *
 * Matrices are row-major `Float32Array`s of shape [B, R] (batch × response tokens); masks hold 1
 * for real response tokens and 0 for padding after the stop token. Conventions follow TRL's
 * `trl.trainer.utils` and "The N Implementation Details of RLHF with PPO" (Huang et al. 2023).
 */

/** Mean of the entries whose mask is 1; 0 when the mask is empty. */
export function maskedMean(values: ArrayLike<number>, mask: ArrayLike<number>): number {
  let sum = 0;
  let n = 0;
  for (let i = 0; i < values.length; i++) {
    if (mask[i]) {
      sum += values[i]!;
      n += 1;
    }
  }
  return n > 0 ? sum / n : 0;
}

/**
 * Variance of the masked entries with Bessel's correction, as TRL's `masked_var` (unbiased=True).
 * Fewer than two masked entries give 0 rather than a division by zero.
 */
export function maskedVar(values: ArrayLike<number>, mask: ArrayLike<number>): number {
  const mean = maskedMean(values, mask);
  let ss = 0;
  let n = 0;
  for (let i = 0; i < values.length; i++) {
    if (mask[i]) {
      const d = values[i]! - mean;
      ss += d * d;
      n += 1;
    }
  }
  return n > 1 ? ss / (n - 1) : 0;
}

/**
 * (v − mean)/sqrt(var + 1e-8) over the masked entries; masked-out entries become 0. With
 * `shiftMean` false the mean is added back (TRL uses that to whiten rewards by scale only).
 */
export function maskedWhiten(
  values: ArrayLike<number>,
  mask: ArrayLike<number>,
  shiftMean = true,
): Float32Array {
  const mean = maskedMean(values, mask);
  const inv = 1 / Math.sqrt(maskedVar(values, mask) + 1e-8);
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    if (!mask[i]) continue;
    const w = (values[i]! - mean) * inv;
    out[i] = shiftMean ? w : w + mean;
  }
  return out;
}

export interface GaeResult {
  /** A_t, 0 at masked positions: [B, R]. */
  advantages: Float32Array;
  /** A_t + V_t, the value targets: [B, R]. */
  returns: Float32Array;
}

/**
 * Generalised advantage estimation (Schulman et al. 2016), backwards over each row:
 * δ_t = r_t + γ·V_{t+1} − V_t and A_t = δ_t + γλ·A_{t+1}. The value after the last real token
 * is 0 (the episode ends at EOS or at the length cap), and masked positions carry nothing, so
 * padding never leaks into the advantages of real tokens. Defaults γ=1, λ=0.95 as in [N] and TRL.
 */
export function computeGae(
  rewards: ArrayLike<number>,
  values: ArrayLike<number>,
  mask: ArrayLike<number>,
  shape: [number, number],
  gamma = 1,
  lam = 0.95,
): GaeResult {
  const [B, R] = shape;
  const advantages = new Float32Array(B * R);
  const returns = new Float32Array(B * R);
  for (let b = 0; b < B; b++) {
    let next = 0; // A_{t+1}
    let nextValue = 0; // V_{t+1}
    for (let t = R - 1; t >= 0; t--) {
      const i = b * R + t;
      if (!mask[i]) {
        next = 0;
        nextValue = 0;
        continue;
      }
      const delta = rewards[i]! + gamma * nextValue - values[i]!;
      next = delta + gamma * lam * next;
      nextValue = values[i]!;
      advantages[i] = next;
      returns[i] = next + values[i]!;
    }
  }
  return { advantages, returns };
}

/** Which per-token KL estimator to use (Schulman, "Approximating KL Divergence", 2020). */
export type KlEstimator = 'k1' | 'k3';

/**
 * Per-token estimate of KL(π ‖ π_ref) from log-probs of tokens sampled from π. With
 * log r = log π_ref − log π: k1 = −log r (unbiased, can be negative on a single sample) and
 * k3 = (r − 1) − log r (unbiased and always ≥ 0, lower variance when π ≈ π_ref).
 */
export function klPerToken(
  logprobs: ArrayLike<number>,
  refLogprobs: ArrayLike<number>,
  estimator: KlEstimator = 'k1',
): Float32Array {
  const out = new Float32Array(logprobs.length);
  for (let i = 0; i < logprobs.length; i++) {
    const logr = refLogprobs[i]! - logprobs[i]!;
    out[i] = estimator === 'k1' ? -logr : Math.expm1(logr) - logr;
  }
  return out;
}

/**
 * Adaptive KL coefficient (Ziegler et al. 2019, §2.2): β ← β·(1 + K_β·e_t·n/horizon) with
 * e_t = clip(KL_t/target − 1, −0.2, 0.2), so β grows when KL overshoots the target and shrinks
 * when it undershoots. `update` takes the measured per-sequence KL and the episodes just seen.
 */
export class AdaptiveKlController {
  constructor(
    public value: number,
    readonly target: number,
    readonly horizon: number,
  ) {}

  update(currentKl: number, nSteps: number): number {
    const error = Math.min(Math.max(currentKl / this.target - 1, -0.2), 0.2);
    this.value *= 1 + (error * nSteps) / this.horizon;
    return this.value;
  }
}

/** Index of the last real token of each row (−1 for an empty response). */
export function lastTokenIndex(mask: ArrayLike<number>, shape: [number, number]): Int32Array {
  const [B, R] = shape;
  const out = new Int32Array(B).fill(-1);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < R; t++) if (mask[b * R + t]) out[b] = t;
  }
  return out;
}

export interface TokenRewards {
  /** −β·KL on every response token, plus the score on the last one: [B, R]. */
  rewards: Float32Array;
  /** −β·KL per token (0 at padding): [B, R]. */
  nonScore: Float32Array;
  /** Scores after the missing-EOS penalty: [B]. */
  scores: Float32Array;
}

/**
 * Per-token rewards (rlhf-practice §4.10–11): r_t = −β·kl_t on each response token, and the
 * sequence score added at the final real token: the EOS when the response stopped, else the last
 * token before the length cap. Responses that never emitted EOS first lose `missingEosPenalty`
 * (the "EOS trick" of [N]/[N+], TRL's `missing_eos_penalty`); only the response is inspected.
 */
export function tokenRewards(
  kl: ArrayLike<number>,
  scores: ArrayLike<number>,
  mask: ArrayLike<number>,
  finished: readonly boolean[],
  shape: [number, number],
  options: { klCoef: number; missingEosPenalty?: number },
): TokenRewards {
  const [B, R] = shape;
  const rewards = new Float32Array(B * R);
  const nonScore = new Float32Array(B * R);
  const adjusted = Float32Array.from(scores);
  const last = lastTokenIndex(mask, shape);
  for (let b = 0; b < B; b++) {
    if (!finished[b] && options.missingEosPenalty) adjusted[b]! -= options.missingEosPenalty;
    for (let t = 0; t < R; t++) {
      const i = b * R + t;
      if (!mask[i]) continue;
      nonScore[i] = -options.klCoef * kl[i]!;
      rewards[i] = nonScore[i]!;
    }
    if (last[b]! >= 0) rewards[b * R + last[b]!]! += adjusted[b]!;
  }
  return { rewards, nonScore, scores: adjusted };
}

export interface Truncated {
  /** Each response cut after its first stop token (kept) and at `maxLength`. */
  responses: number[][];
  /** Whether each response contains the stop token. */
  finished: boolean[];
}

/**
 * Cuts every response after its first `stopId` (TRL's `truncate_response`; [N+] §3: everything
 * after the stop token is padding, the stop token itself is a real, trained token).
 */
export function truncateAtStop(
  responses: number[][],
  stopId: number,
  maxLength = Infinity,
): Truncated {
  const out: number[][] = [];
  const finished: boolean[] = [];
  for (const r of responses) {
    const stop = r.indexOf(stopId);
    const cut = stop >= 0 && stop < maxLength ? stop + 1 : Math.min(r.length, maxLength);
    out.push(r.slice(0, cut));
    finished.push(stop >= 0 && stop < maxLength);
  }
  return { responses: out, finished };
}

/** Sum over each row of a [B, R] matrix: [B]. */
export function rowSums(values: ArrayLike<number>, shape: [number, number]): Float32Array {
  const [B, R] = shape;
  const out = new Float32Array(B);
  for (let b = 0; b < B; b++) {
    let s = 0;
    for (let t = 0; t < R; t++) s += values[b * R + t]!;
    out[b] = s;
  }
  return out;
}

/** Unbiased variance of an array (0 below two entries), as torch's `var()` for `val/ratio_var`. */
export function unbiasedVar(values: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < values.length; i++) m += values[i]! / values.length;
  let s = 0;
  for (let i = 0; i < values.length; i++) s += (values[i]! - m) ** 2;
  return values.length > 1 ? s / (values.length - 1) : 0;
}
