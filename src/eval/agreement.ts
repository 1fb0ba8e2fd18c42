/**
 * Does a reward model see what a judge sees? On the rows where an edit changed the judge's score,
 * the fraction where the model's predicted gain has the judge's sign. A reward model can rank a
 * dataset's (y_w, y_l) pairs well and still be blind to the small edits a policy makes: this is
 * the accuracy that matters for RL on the policy's own outputs.
 */
import type { BootstrapOptions } from './bootstrap';
import { DEFAULT_TIE_EPS } from './compare';
import { clusteredFraction, wilsonInterval } from './proportion';

export interface EditAgreement {
  /** Rows whose judge score changed (the others carry no preference). */
  edits: number;
  /** Fraction of those edits where sign(predicted gain) = sign(judge's gain); NaN without edits. */
  accuracy: number;
  /**
   * 95% interval: Wilson's with rows taken as independent, or a cluster bootstrap over prompts
   * (`clusteredEditAgreement`); absent without edits.
   */
  ci95?: [number, number];
}

/**
 * The rows an edit changed the judge's score on, and whether the prediction agrees there (1) or
 * not (0). A zero prediction counts as a miss: it ranks nothing.
 */
function editHits(
  before: ArrayLike<number>,
  after: ArrayLike<number>,
  predictedGain: ArrayLike<number>,
  tieEps: number,
): { rows: number[]; hits: number[] } {
  const n = before.length;
  if (after.length !== n || predictedGain.length !== n) {
    throw new Error(
      `editAgreement: before, after and predictedGain must have one entry per row, got ${n}, ${after.length} and ${predictedGain.length}`,
    );
  }
  const rows: number[] = [];
  const hits: number[] = [];
  for (let i = 0; i < n; i++) {
    const judged = after[i]! - before[i]!;
    if (Math.abs(judged) <= tieEps) continue;
    rows.push(i);
    hits.push(Math.sign(judged) === Math.sign(predictedGain[i]!) && predictedGain[i] !== 0 ? 1 : 0);
  }
  return { rows, hits };
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
  const { hits } = editHits(before, after, predictedGain, tieEps);
  const edits = hits.length;
  const agree = hits.reduce((a, h) => a + h, 0);
  return edits === 0
    ? { edits, accuracy: Number.NaN }
    : { edits, accuracy: agree / edits, ci95: wilsonInterval(agree, edits) };
}

/**
 * `editAgreement` where several rows share a prompt (`opts.groups`, one label per row): the
 * interval resamples whole prompts among the edits (clusters of unequal size), since draws of one
 * prompt are not independent evidence.
 */
export function clusteredEditAgreement(
  before: ArrayLike<number>,
  after: ArrayLike<number>,
  predictedGain: ArrayLike<number>,
  opts: BootstrapOptions & { groups: ArrayLike<number> },
  tieEps: number = DEFAULT_TIE_EPS,
): EditAgreement {
  const { rows, hits } = editHits(before, after, predictedGain, tieEps);
  const edits = hits.length;
  if (edits === 0) return { edits, accuracy: Number.NaN };
  const accuracy = hits.reduce((a, h) => a + h, 0) / edits;
  const groups = rows.map((i) => opts.groups[i]!);
  return { edits, accuracy, ci95: clusteredFraction(hits, { ...opts, groups }).ci95 };
}

/** `clusteredEditAgreement` on all edits, and apart on the improving and the worsening ones. */
export interface EditReadout {
  all: EditAgreement;
  improving: EditAgreement;
  worsening: EditAgreement;
  /**
   * The mean of the improving and the worsening accuracies: 0.5 for any constant prediction, where
   * `all.accuracy` gives a constant "better" the share of edits that improve.
   */
  balanced: number;
}

/**
 * Agreement read three ways. A policy's edits mostly improve, so a model that calls every edit an
 * improvement scores that share on `all` while it ranks nothing; `balanced` is not fooled.
 */
export function clusteredEditReadout(
  before: ArrayLike<number>,
  after: ArrayLike<number>,
  predictedGain: ArrayLike<number>,
  opts: BootstrapOptions & { groups: ArrayLike<number> },
  tieEps: number = DEFAULT_TIE_EPS,
): EditReadout {
  // rows moving the other way count as ties (after := before), so each part keeps its own edits
  const only = (sign: number) =>
    Float64Array.from(after, (a, i) => (Math.sign(a - before[i]!) === sign ? a : before[i]!));
  const read = (part: ArrayLike<number>, name: string) =>
    clusteredEditAgreement(
      before,
      part,
      predictedGain,
      { ...opts, label: `${opts.label ?? 'editReadout'}.${name}` },
      tieEps,
    );
  const improving = read(only(1), 'up');
  const worsening = read(only(-1), 'down');
  return {
    all: read(after, 'all'),
    improving,
    worsening,
    balanced: (improving.accuracy + worsening.accuracy) / 2,
  };
}
