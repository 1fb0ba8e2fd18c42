/** Word-level tokenizer: a closed vocabulary of space-separated words (the synthetic task's). */
import { synthWords } from '../synth/lexicon';
import {
  type DecodeOptions,
  type EncodeOptions,
  NUM_SPECIAL,
  SPECIAL_IDS,
  SPECIAL_TOKENS,
  type Tokenizer,
  withBosEos,
} from './special';

/** Words are runs of non-space characters; a newline is a token of its own. */
function split(text: string): string[] {
  return text.match(/\n|[^\s]+/g) ?? [];
}

/**
 * Maps each word to an id; unknown words become UNK. Text whose words are separated by single
 * spaces and whose lines are separated by "\n" decodes back exactly (any unicode, emoji included,
 * as long as its words are in the vocabulary).
 */
export class WordTokenizer implements Tokenizer {
  readonly kind = 'word' as const;
  readonly words: readonly string[];
  private readonly index: Map<string, number>;

  /** `words` excludes the special tokens; they always take ids 0..5. */
  constructor(words: readonly string[]) {
    const specials = Object.values(SPECIAL_TOKENS) as string[];
    this.words = words.filter((w, i) => words.indexOf(w) === i && !specials.includes(w));
    this.index = new Map(this.words.map((w, i) => [w, i + NUM_SPECIAL]));
  }

  /** The synthetic task's closed vocabulary (no UNK ever appears in its data). */
  static synthetic(): WordTokenizer {
    return new WordTokenizer(synthWords());
  }

  /** Vocabulary from texts: words with at least `minCount` uses, most frequent first, ties by text. */
  static fromCorpus(
    texts: Iterable<string>,
    opts: { minCount?: number; maxWords?: number } = {},
  ): WordTokenizer {
    const counts = new Map<string, number>();
    for (const t of texts) for (const w of split(t)) counts.set(w, (counts.get(w) ?? 0) + 1);
    const words = [...counts]
      .filter(([, c]) => c >= (opts.minCount ?? 1))
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      .slice(0, opts.maxWords ?? Number.POSITIVE_INFINITY)
      .map(([w]) => w);
    return new WordTokenizer(words);
  }

  static fromJSON(json: unknown): WordTokenizer {
    const j = json as { kind?: string; words?: unknown };
    if (
      j?.kind !== 'word' ||
      !Array.isArray(j.words) ||
      j.words.some((w) => typeof w !== 'string')
    ) {
      throw new Error("WordTokenizer.fromJSON: expected {kind: 'word', words: string[]}");
    }
    return new WordTokenizer(j.words as string[]);
  }

  get vocabSize(): number {
    return NUM_SPECIAL + this.words.length;
  }

  encode(text: string, opts: EncodeOptions = {}): number[] {
    return withBosEos(
      split(text).map((w) => this.index.get(w) ?? SPECIAL_IDS.unk),
      opts,
    );
  }

  decode(ids: readonly number[], opts: DecodeOptions = {}): string {
    const skip = opts.skipSpecial ?? true;
    const specials = Object.values(SPECIAL_TOKENS);
    let out = '';
    for (const id of ids) {
      if (id < NUM_SPECIAL && skip) continue;
      const w = id < NUM_SPECIAL ? specials[id]! : this.words[id - NUM_SPECIAL];
      if (w === undefined)
        throw new Error(
          `WordTokenizer.decode: id ${id} is outside the vocabulary (size ${this.vocabSize})`,
        );
      // a space between words, none around a newline
      out += out === '' || out.endsWith('\n') || w === '\n' ? w : ` ${w}`;
    }
    return out;
  }

  toJSON(): { kind: 'word'; specials: typeof SPECIAL_TOKENS; words: string[] } {
    return { kind: 'word', specials: SPECIAL_TOKENS, words: [...this.words] };
  }
}
