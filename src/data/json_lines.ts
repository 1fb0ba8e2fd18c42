/** The read loop shared by every loader of one JSON object per line (jsonl, HH, TL;DR). */
import { Collector, type LoadResult, parseJsonObject } from './collect';
import { readLines } from './lines';
import type { LoadOptions, PreferenceRecord } from './types';

/**
 * Reads `file` line by line and turns each non-blank line's object into a record with `build`
 * (given the 1-based line number). Unreadable lines and rejected rows go through `onError`;
 * reading stops once `limit` rows are loaded.
 */
export async function loadJsonLines(
  file: string,
  format: string,
  opts: LoadOptions,
  build: (obj: Record<string, unknown>, line: number) => PreferenceRecord,
): Promise<LoadResult> {
  const c = new Collector(file, format, opts);
  for await (const ln of readLines(file, opts.maxLineBytes)) {
    if (ln.error !== undefined) {
      c.bad(ln.line, ln.error);
      continue;
    }
    if (ln.text.trim() === '') continue; // blank lines are not rows
    c.row(ln.line, () => build(parseJsonObject(ln.text), ln.line));
    if (c.full) break;
  }
  return c.finish();
}
