/** Summary statistics of a preference dataset as a danfo DataFrame. */
import * as dfd from 'danfojs-node';
import type { PreferenceDataset } from './dataset';

const FIELDS = ['prompt', 'chosen', 'rejected'] as const;

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/** Word count by whitespace runs (a rough, tokenizer-free length). */
export function wordCount(text: string): number {
  const m = text.match(/\S+/g);
  return m ? m.length : 0;
}

/**
 * One row per text field (prompt, chosen, rejected): row count, character-length statistics,
 * mean words, blank texts, and duplicates (rows whose text already appeared above). Duplicate
 * prompts are expected in multi-pair data and matter for splitting; duplicate responses hint
 * at templated or degenerate data.
 */
export function describe(data: PreferenceDataset): dfd.DataFrame {
  const rows = FIELDS.map((field) => {
    const texts = data.records.map((r) => r[field]);
    const lens = texts.map((t) => t.length).sort((a, b) => a - b);
    const n = lens.length;
    const mean = n > 0 ? lens.reduce((a, b) => a + b, 0) / n : Number.NaN;
    const std = n > 0 ? Math.sqrt(lens.reduce((a, b) => a + (b - mean) ** 2, 0) / n) : Number.NaN;
    const words = n > 0 ? texts.reduce((a, t) => a + wordCount(t), 0) / n : Number.NaN;
    const unique = new Set(texts).size;
    return {
      field,
      count: n,
      mean_chars: mean,
      std_chars: std,
      min_chars: n > 0 ? lens[0]! : Number.NaN,
      median_chars: quantile(lens, 0.5),
      p90_chars: quantile(lens, 0.9),
      max_chars: n > 0 ? lens[n - 1]! : Number.NaN,
      mean_words: words,
      blank: texts.filter((t) => t.trim() === '').length,
      unique,
      duplicates: n - unique,
    };
  });
  return new dfd.DataFrame(rows);
}
