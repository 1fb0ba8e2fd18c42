/**
 * Does a reward model see what a judge sees? On the rows where an edit changed the judge's score,
 * the fraction where the model's predicted gain has the judge's sign. A reward model can rank a
 * dataset's (y_w, y_l) pairs well and still be blind to the small edits a policy makes: this is
 * the accuracy that matters for RL on the policy's own outputs.
 */
import { DEFAULT_TIE_EPS } from './compare';
import { wilsonInterval } from './proportion';

export interface EditAgreement {
  /** Rows whose judge score changed (the others carry no preference). */
  edits: number;
  /** Fraction of those edits where sign(predicted gain) = sign(judge's gain); NaN without edits. */
  accuracy: number;
  /** Wilson 95% interval (rows taken as independent); absent without edits. */
  ci95?: [number, number];
}

/**
 * `before`/`after`: the judge's scores of each row's response before and after the edit;
 * `predictedGain`: the model's estimate of after − before (a gap reward, or a difference of
 * scalar rewards). A zero prediction counts as a miss: it ranks nothing.
 */
export function editAgreement(
  before: ArrayLike<number>,
  after: ArrayLike<number>,
  predictedGain: ArrayLike<number>,
  tieEps: number = DEFAULT_TIE_EPS,
): EditAgreement {
  const n = before.length;
  if (after.length !== n || predictedGain.length !== n) {
    throw new Error(
      `editAgreement: before, after and predictedGain must have one entry per row, got ${n}, ${after.length} and ${predictedGain.length}`,
    );
  }
  let edits = 0;
  let agree = 0;
  for (let i = 0; i < n; i++) {
    const judged = after[i]! - before[i]!;
    if (Math.abs(judged) <= tieEps) continue;
    edits += 1;
    if (Math.sign(judged) === Math.sign(predictedGain[i]!) && predictedGain[i] !== 0) agree += 1;
  }
  return edits === 0
    ? { edits, accuracy: Number.NaN }
    : { edits, accuracy: agree / edits, ci95: wilsonInterval(agree, edits) };
}
