/** PreferenceDataset: preference pairs with TRL columns, viewed as a danfo DataFrame. */
import * as dfd from 'danfojs-node';
import { Rng, runtime } from '../runtime';
import type { PreferenceRecord } from './types';

/** Column order of the DataFrame view; `meta` is held as a JSON string so danfo sees text. */
export const COLUMNS = ['id', 'source', 'prompt', 'chosen', 'rejected', 'meta'] as const;

/** Where randomness comes from: an explicit seed, a stream, or `runtime.rng(label)`. */
export interface RandomOptions {
  seed?: number;
  rng?: Rng;
}

function streamFor(opts: RandomOptions, label: string): Rng {
  if (opts.rng) return opts.rng;
  if (opts.seed !== undefined) return new Rng(opts.seed).fork(label);
  return runtime.rng(label);
}

/**
 * An immutable list of preference pairs. Rows are kept as plain records (loaders append to them
 * at full speed) and the danfo DataFrame is built on first use of `frame` and cached, so
 * loading 100k pairs does not pay for a frame nobody asked for.
 */
export class PreferenceDataset {
  readonly records: readonly PreferenceRecord[];
  private cached?: dfd.DataFrame;

  constructor(records: readonly PreferenceRecord[]) {
    this.records = records;
  }

  /** Checks every record (string fields, non-empty texts) and wraps copies of them. */
  static fromRecords(records: readonly PreferenceRecord[]): PreferenceDataset {
    records.forEach((r, i) => {
      for (const key of ['id', 'source', 'prompt', 'chosen', 'rejected'] as const) {
        if (typeof r[key] !== 'string') {
          throw new Error(
            `PreferenceDataset.fromRecords: record ${i} field '${key}' must be a string, got ${typeof r[key]}`,
          );
        }
      }
    });
    return new PreferenceDataset(records.map((r) => ({ ...r })));
  }

  /** Rebuilds a dataset from a frame with the `COLUMNS` columns (as `frame` produces). */
  static fromFrame(df: dfd.DataFrame): PreferenceDataset {
    const missing = COLUMNS.filter((c) => c !== 'meta' && !df.columns.includes(c));
    if (missing.length > 0) {
      throw new Error(
        `PreferenceDataset.fromFrame: missing column(s) ${missing.join(', ')}; have ${df.columns.join(', ')}`,
      );
    }
    const rows = dfd.toJSON(df) as Array<Record<string, unknown>>;
    return PreferenceDataset.fromRecords(
      rows.map((row) => {
        const rec: PreferenceRecord = {
          id: String(row.id),
          source: String(row.source),
          prompt: String(row.prompt),
          chosen: String(row.chosen),
          rejected: String(row.rejected),
        };
        if (typeof row.meta === 'string' && row.meta !== '') rec.meta = JSON.parse(row.meta);
        return rec;
      }),
    );
  }

  get size(): number {
    return this.records.length;
  }

  /** The DataFrame view (columns `COLUMNS`); built once, then shared. Treat it as read-only. */
  get frame(): dfd.DataFrame {
    if (!this.cached) {
      const cols: Record<string, string[]> = {};
      for (const c of COLUMNS) cols[c] = [];
      for (const r of this.records) {
        cols.id!.push(r.id);
        cols.source!.push(r.source);
        cols.prompt!.push(r.prompt);
        cols.chosen!.push(r.chosen);
        cols.rejected!.push(r.rejected);
        cols.meta!.push(r.meta ? JSON.stringify(r.meta) : '');
      }
      // danfo cannot build a frame with zero rows from columns, so an empty set gets named columns only
      this.cached =
        this.records.length === 0
          ? new dfd.DataFrame([], { columns: [...COLUMNS] })
          : new dfd.DataFrame(cols, { columns: [...COLUMNS] });
    }
    return this.cached;
  }

  /** Plain copies of the rows. */
  toRecords(): PreferenceRecord[] {
    return this.records.map((r) => ({ ...r, ...(r.meta ? { meta: { ...r.meta } } : {}) }));
  }

  head(n = 5): PreferenceDataset {
    return new PreferenceDataset(this.records.slice(0, Math.max(0, n)));
  }

  filter(keep: (row: PreferenceRecord, index: number) => boolean): PreferenceDataset {
    return new PreferenceDataset(this.records.filter(keep));
  }

  /** `n` rows drawn without replacement (all rows, shuffled, when `n` >= size). */
  sample(n: number, opts: RandomOptions = {}): PreferenceDataset {
    if (!Number.isInteger(n) || n < 0) {
      throw new Error(`PreferenceDataset.sample: n must be a non-negative integer, got ${n}`);
    }
    const rng = streamFor(opts, 'data/sample');
    const idx = rng.shuffle(this.records.map((_, i) => i)).slice(0, n);
    return new PreferenceDataset(idx.map((i) => this.records[i]!));
  }

  concat(other: PreferenceDataset): PreferenceDataset {
    return new PreferenceDataset([...this.records, ...other.records]);
  }

  /**
   * Seeded split that keeps every prompt in exactly one part, so a model never sees a test
   * prompt in training. Prompt groups are shuffled, then each goes to the part furthest below
   * its target row count; part sizes therefore match `fractions` to within one group.
   */
  split<K extends string>(
    opts: RandomOptions & { fractions: Record<K, number> },
  ): Record<K, PreferenceDataset> {
    const names = Object.keys(opts.fractions) as K[];
    const fr = names.map((k) => opts.fractions[k]);
    const total = fr.reduce((a, b) => a + b, 0);
    if (names.length === 0 || fr.some((f) => !(f >= 0)) || Math.abs(total - 1) > 1e-6) {
      throw new Error(
        `PreferenceDataset.split: fractions must be non-negative and sum to 1, got ${JSON.stringify(opts.fractions)}`,
      );
    }
    const groups = new Map<string, number[]>();
    this.records.forEach((r, i) => {
      const g = groups.get(r.prompt);
      if (g) g.push(i);
      else groups.set(r.prompt, [i]);
    });
    // sort before shuffling so the result depends on the seed and the rows, not on Map order
    const keys = streamFor(opts, 'data/split').shuffle([...groups.keys()].sort());
    const parts: number[][] = names.map(() => []);
    for (const key of keys) {
      const rows = groups.get(key)!;
      let best = 0;
      let bestDeficit = Number.NEGATIVE_INFINITY;
      fr.forEach((f, j) => {
        const deficit = f * this.records.length - parts[j]!.length;
        if (deficit > bestDeficit) {
          bestDeficit = deficit;
          best = j;
        }
      });
      parts[best]!.push(...rows);
    }
    const out = {} as Record<K, PreferenceDataset>;
    names.forEach((k, j) => {
      const idx = parts[j]!.sort((a, b) => a - b);
      out[k] = new PreferenceDataset(idx.map((i) => this.records[i]!));
    });
    return out;
  }
}
