/** Shared types of the preference-data layer: records, load options and load reports. */

/**
 * One preference pair in TRL's column names. A PIT triple maps as
 * {prompt: x, chosen: y_w, rejected: y_l}.
 */
export interface PreferenceRecord {
  id: string;
  /** Where the row came from, e.g. `hh:harmless-base-test.jsonl.gz` or `synthetic`. */
  source: string;
  prompt: string;
  chosen: string;
  rejected: string;
  /** Free-form extras (scores, original split, ...); kept as a plain JSON-able object. */
  meta?: Record<string, unknown>;
}

/** One rejected input row: where it was and why. */
export interface LoadError {
  file: string;
  /** 1-based line (jsonl/csv: physical line where the record starts; parquet: row number). */
  line: number;
  reason: string;
}

/** What a loader did: every row read is either loaded or listed in `errors`. */
export interface LoadReport {
  file: string;
  format: string;
  rowsRead: number;
  loaded: number;
  skipped: number;
  errors: LoadError[];
  bytes: number;
  ms: number;
}

/** `throw`: the first bad row aborts with `file:line: reason`; `skip`: bad rows are reported. */
export type OnError = 'throw' | 'skip';

/** Maps the three preference columns to the names used in a generic file. */
export interface ColumnMapping {
  prompt?: string;
  chosen: string;
  rejected: string;
  /** Optional id column; rows get `<file>:<line>` ids otherwise. */
  id?: string;
}

export interface LoadOptions {
  /** @defaultValue 'throw' */
  onError?: OnError;
  /** Stop after this many loaded rows (useful for a quick look at a large file). */
  limit?: number;
  /** Longest accepted line in bytes. @defaultValue 10 MiB */
  maxLineBytes?: number;
}

/** The error a loader throws with `onError: 'throw'`; carries the structured location. */
export class DataError extends Error {
  readonly file: string;
  readonly line: number;
  readonly reason: string;

  constructor(file: string, line: number, reason: string) {
    super(`${file}:${line}: ${reason}`);
    this.name = 'DataError';
    this.file = file;
    this.line = line;
    this.reason = reason;
  }
}
