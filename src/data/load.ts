/** One entry point over every loader: picks the format from the option or the file name. */

import type { LoadResult } from './collect';
import { type GenericLoadOptions, loadCsv, loadJsonl, loadParquet } from './generic';
import { loadHh } from './hh';
import { loadTldr } from './tldr';

export const FORMATS = ['hh', 'tldr', 'jsonl', 'csv', 'parquet'] as const;
export type Format = (typeof FORMATS)[number];

/** `.parquet` → parquet, `.csv(.gz)` → csv, anything else → jsonl (HH/TL;DR need `format`). */
export function guessFormat(file: string): Format {
  const f = file.toLowerCase().replace(/\.gz$/, '');
  if (f.endsWith('.parquet')) return 'parquet';
  if (f.endsWith('.csv')) return 'csv';
  return 'jsonl';
}

export async function loadPreferences(
  file: string,
  opts: GenericLoadOptions & { format?: Format } = {},
): Promise<LoadResult> {
  const format = opts.format ?? guessFormat(file);
  switch (format) {
    case 'hh':
      return loadHh(file, opts);
    case 'tldr':
      return loadTldr(file, opts);
    case 'jsonl':
      return loadJsonl(file, opts);
    case 'csv':
      return loadCsv(file, opts);
    case 'parquet':
      return loadParquet(file, opts);
    default:
      throw new Error(
        `loadPreferences: unknown format '${format as string}'. Allowed: ${FORMATS.join(', ')}`,
      );
  }
}
