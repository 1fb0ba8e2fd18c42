/** Special tokens shared by every pitlab tokenizer, and the sequence layouts built from them. */

/**
 * Fixed ids 0..5 in every vocabulary. PAD is distinct from EOS: if they coincided, masking
 * padding would also mask EOS and a policy would never learn to stop (rlhf-practice §4.2).
 * SEP_REF separates x from a reference response; SEP separates the two responses the PIT gap
 * reward model reads.
 */
export const SPECIAL_TOKENS = {
  pad: '<pad>',
  bos: '<bos>',
  eos: '<eos>',
  unk: '<unk>',
  sepRef: '<sep_ref>',
  sep: '<sep>',
} as const;

export type SpecialName = keyof typeof SPECIAL_TOKENS;

export const SPECIAL_IDS: Readonly<Record<SpecialName, number>> = {
  pad: 0,
  bos: 1,
  eos: 2,
  unk: 3,
  sepRef: 4,
  sep: 5,
};

export const NUM_SPECIAL = 6;

export interface EncodeOptions {
  /** Prepend BOS. @defaultValue false */
  bos?: boolean;
  /** Append EOS. @defaultValue false */
  eos?: boolean;
}

export interface DecodeOptions {
  /** Drop special tokens from the text. @defaultValue true */
  skipSpecial?: boolean;
}

/** Adds BOS in front of and EOS after `ids` (in place) as `opts` asks; every encoder ends here. */
export function withBosEos(ids: number[], opts: EncodeOptions): number[] {
  if (opts.bos) ids.unshift(SPECIAL_IDS.bos);
  if (opts.eos) ids.push(SPECIAL_IDS.eos);
  return ids;
}

/** What every tokenizer offers; `toJSON` output reloads with the class's `fromJSON`. */
export interface Tokenizer {
  readonly kind: 'word' | 'bpe';
  readonly vocabSize: number;
  encode(text: string, opts?: EncodeOptions): number[];
  decode(ids: readonly number[], opts?: DecodeOptions): string;
  toJSON(): object;
}

/** A piece of a model input: text, or a special token by name. */
export type Segment = string | { special: SpecialName };

/**
 * Encodes segments in order, e.g. the gap reward model's input
 * `[x, {special: 'sepRef'}, yRef, {special: 'sep'}, y]`, with BOS/EOS around the whole.
 */
export function encodeSegments(
  tok: Tokenizer,
  segments: readonly Segment[],
  opts: EncodeOptions = {},
): number[] {
  const ids: number[] = [];
  for (const s of segments) {
    if (typeof s === 'string') ids.push(...tok.encode(s));
    else ids.push(SPECIAL_IDS[s.special]);
  }
  return withBosEos(ids, opts);
}
