/**
 * Held-out selection's test: does a candidate policy beat the kept one? With per-prompt scores the
 * two are compared pairwise (same prompts, same draws of y_0), and the candidate wins only when its
 * mean gain exceeds `margin` standard errors of the per-prompt differences. A plain maximum over
 * checks picks whichever was luckiest when the held-out scorer barely sees a difference.
 */

/** What a held-out check returns: one score, or per-prompt scores whose mean is the score. */
export type HeldOutScores = number | ArrayLike<number>;

export const heldOutMean = (s: HeldOutScores): number => {
  if (typeof s === 'number') return s;
  let sum = 0;
  for (let i = 0; i < s.length; i++) sum += s[i]!;
  return s.length > 0 ? sum / s.length : Number.NaN;
};

/**
 * True when `candidate` beats `kept`: by mean when either is a single number (margin must then
 * be 0), else by a mean paired gain above `margin` × its standard error (margin 0: any gain).
 */
export function beatsKept(candidate: HeldOutScores, kept: HeldOutScores, margin: number): boolean {
  if (typeof candidate === 'number' || typeof kept === 'number') {
    if (margin > 0) {
      throw new Error(
        `held-out selection: selectionMargin ${margin} needs per-prompt scores from validate(), got a single number`,
      );
    }
    return heldOutMean(candidate) > heldOutMean(kept);
  }
  const n = candidate.length;
  if (n !== kept.length || n === 0) {
    throw new Error(
      `held-out selection: the checks scored ${kept.length} and then ${n} prompts; validate() must score the same prompts each time`,
    );
  }
  let sum = 0;
  let sumSq = 0;
  for (let i = 0; i < n; i++) {
    const d = candidate[i]! - kept[i]!;
    sum += d;
    sumSq += d * d;
  }
  const mean = sum / n;
  const variance = n > 1 ? Math.max(0, (sumSq - n * mean * mean) / (n - 1)) : 0;
  return mean > margin * Math.sqrt(variance / n);
}
