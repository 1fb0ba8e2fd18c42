/** Byte-level BPE (GPT-2 style) trained in-process on a corpus; any text round-trips exactly. */
import {
  type DecodeOptions,
  type EncodeOptions,
  NUM_SPECIAL,
  SPECIAL_TOKENS,
  type Tokenizer,
  withBosEos,
} from './special';

/** GPT-2's pre-tokenizer: merges never cross a word, number or punctuation boundary. */
const PRETOKEN = /'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

/** Ids 6..261 are the 256 bytes; merge i creates id BYTE_BASE + 256 + i. */
const BYTE_BASE = NUM_SPECIAL;
const FIRST_MERGE = BYTE_BASE + 256;

const pairKey = (a: number, b: number) => a * 0x100000 + b; // ids stay below 2^20
const utf8 = new TextEncoder();

export interface BpeTrainOptions {
  /** Total vocabulary including specials and the 256 bytes. @defaultValue 1000 */
  vocabSize?: number;
  /** A pair must occur at least this often to be merged. @defaultValue 2 */
  minFrequency?: number;
}

export class BpeTokenizer implements Tokenizer {
  readonly kind = 'bpe' as const;
  readonly merges: ReadonlyArray<readonly [number, number]>;
  private readonly ranks = new Map<number, number>();
  private readonly pieces: Uint8Array[] = [];
  private readonly cache = new Map<string, number[]>();

  constructor(merges: ReadonlyArray<readonly [number, number]>) {
    this.merges = merges;
    for (const s of Object.values(SPECIAL_TOKENS)) this.pieces.push(utf8.encode(s));
    for (let b = 0; b < 256; b++) this.pieces.push(Uint8Array.of(b));
    merges.forEach(([a, b], i) => {
      const pa = this.pieces[a];
      const pb = this.pieces[b];
      if (!pa || !pb || a < BYTE_BASE || b < BYTE_BASE) {
        throw new Error(`BpeTokenizer: merge ${i} [${a}, ${b}] refers to an unknown or special id`);
      }
      const joined = new Uint8Array(pa.length + pb.length);
      joined.set(pa);
      joined.set(pb, pa.length);
      this.pieces.push(joined);
      this.ranks.set(pairKey(a, b), i);
    });
  }

  /**
   * Learns merges from `texts`: count pre-token frequencies, then repeatedly merge the most
   * frequent adjacent pair (ties broken by the smaller pair of ids, so training is
   * deterministic). Pair counts are updated only for the words that contain the merged pair.
   */
  static train(texts: Iterable<string>, opts: BpeTrainOptions = {}): BpeTokenizer {
    const vocabSize = opts.vocabSize ?? 1000;
    const minFrequency = opts.minFrequency ?? 2;
    if (vocabSize < FIRST_MERGE) {
      throw new Error(
        `BpeTokenizer.train: vocabSize must be at least ${FIRST_MERGE} (specials + 256 bytes), got ${vocabSize}`,
      );
    }
    const freqOf = new Map<string, number>();
    for (const t of texts)
      for (const w of t.match(PRETOKEN) ?? []) freqOf.set(w, (freqOf.get(w) ?? 0) + 1);
    const words = [...freqOf.keys()].map((w) => Array.from(utf8.encode(w), (b) => b + BYTE_BASE));
    const freq = [...freqOf.values()];
    const counts = new Map<number, number>();
    const where = new Map<number, Set<number>>();
    const add = (w: number[], wi: number, f: number) => {
      for (let i = 0; i + 1 < w.length; i++) {
        const k = pairKey(w[i]!, w[i + 1]!);
        const c = (counts.get(k) ?? 0) + f;
        if (c > 0) counts.set(k, c);
        else counts.delete(k);
        if (f > 0) {
          const s = where.get(k);
          if (s) s.add(wi);
          else where.set(k, new Set([wi]));
        }
      }
    };
    words.forEach((w, wi) => {
      add(w, wi, freq[wi]!);
    });

    const merges: Array<[number, number]> = [];
    while (FIRST_MERGE + merges.length < vocabSize) {
      let best = -1;
      let bestCount = minFrequency - 1;
      for (const [k, c] of counts)
        if (c > bestCount || (c === bestCount && k < best)) [best, bestCount] = [k, c];
      if (best < 0) break;
      const a = Math.floor(best / 0x100000);
      const b = best % 0x100000;
      const id = FIRST_MERGE + merges.length;
      merges.push([a, b]);
      for (const wi of [...(where.get(best) ?? [])]) {
        const w = words[wi]!;
        add(w, wi, -freq[wi]!); // stale `where` entries are harmless: re-adding restores counts
        const merged: number[] = [];
        for (let i = 0; i < w.length; i++) {
          if (i + 1 < w.length && w[i] === a && w[i + 1] === b) {
            merged.push(id);
            i += 1;
          } else merged.push(w[i]!);
        }
        words[wi] = merged;
        add(merged, wi, freq[wi]!);
      }
      counts.delete(best);
      where.delete(best);
    }
    return new BpeTokenizer(merges);
  }

  static fromJSON(json: unknown): BpeTokenizer {
    const j = json as { kind?: string; merges?: unknown };
    if (j?.kind !== 'bpe' || !Array.isArray(j.merges)) {
      throw new Error("BpeTokenizer.fromJSON: expected {kind: 'bpe', merges: [number, number][]}");
    }
    return new BpeTokenizer(j.merges as Array<[number, number]>);
  }

  get vocabSize(): number {
    return FIRST_MERGE + this.merges.length;
  }

  /** Applies merges to one pre-token, lowest rank first (as GPT-2 does); results are cached. */
  private encodeWord(word: string): number[] {
    const hit = this.cache.get(word);
    if (hit) return hit;
    let parts = Array.from(utf8.encode(word), (b) => b + BYTE_BASE);
    while (parts.length > 1) {
      let bestRank = Number.POSITIVE_INFINITY;
      for (let i = 0; i + 1 < parts.length; i++) {
        const r = this.ranks.get(pairKey(parts[i]!, parts[i + 1]!));
        if (r !== undefined && r < bestRank) bestRank = r;
      }
      if (bestRank === Number.POSITIVE_INFINITY) break;
      const [a, b] = this.merges[bestRank]!;
      const next: number[] = [];
      for (let i = 0; i < parts.length; i++) {
        if (i + 1 < parts.length && parts[i] === a && parts[i + 1] === b) {
          next.push(FIRST_MERGE + bestRank);
          i += 1;
        } else next.push(parts[i]!);
      }
      parts = next;
    }
    if (this.cache.size < 100_000) this.cache.set(word, parts);
    return parts;
  }

  encode(text: string, opts: EncodeOptions = {}): number[] {
    const ids: number[] = [];
    for (const w of text.match(PRETOKEN) ?? []) ids.push(...this.encodeWord(w));
    return withBosEos(ids, opts);
  }

  decode(ids: readonly number[], opts: DecodeOptions = {}): string {
    const skip = opts.skipSpecial ?? true;
    const chunks: Uint8Array[] = [];
    for (const id of ids) {
      const p = this.pieces[id];
      if (!p)
        throw new Error(
          `BpeTokenizer.decode: id ${id} is outside the vocabulary (size ${this.vocabSize})`,
        );
      if (id < NUM_SPECIAL && skip) continue;
      chunks.push(p);
    }
    // non-fatal: a sampled sequence may cut a multi-byte character, which shows as U+FFFD
    return new TextDecoder().decode(Buffer.concat(chunks));
  }

  /** The text of one token (for inspection; partial UTF-8 shows as U+FFFD). */
  token(id: number): string {
    return new TextDecoder().decode(this.pieces[id]);
  }

  toJSON(): { kind: 'bpe'; specials: typeof SPECIAL_TOKENS; merges: Array<[number, number]> } {
    return { kind: 'bpe', specials: SPECIAL_TOKENS, merges: this.merges.map(([a, b]) => [a, b]) };
  }
}
