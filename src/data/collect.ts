/** Row-level validation and the collector that applies `onError` and builds the load report. */
import { stat } from 'node:fs/promises';
import { PreferenceDataset } from './dataset';
import {
  DataError,
  type LoadError,
  type LoadOptions,
  type LoadReport,
  type PreferenceRecord,
} from './types';

/** What every loader returns: the rows kept and an account of every row read. */
export interface LoadResult {
  data: PreferenceDataset;
  report: LoadReport;
}

/** Thrown inside a row parser to reject that row; the collector adds file and line. */
export class RowProblem extends Error {}

/** Short type name for messages ("array", "null", "number", ...). */
export function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

/** The string at `obj[key]`, or a RowProblem naming the field and what was wrong. */
export function textField(obj: Record<string, unknown>, key: string, label = key): string {
  if (!(key in obj)) {
    const keys = Object.keys(obj);
    throw new RowProblem(
      `missing field '${key}'${label !== key ? ` (mapped to ${label})` : ''}; row has ${keys.length > 0 ? keys.join(', ') : 'no fields'}`,
    );
  }
  const v = obj[key];
  if (typeof v !== 'string') {
    throw new RowProblem(`field '${key}' must be a string, got ${typeName(v)}`);
  }
  if (v.trim() === '') throw new RowProblem(`field '${key}' is empty`);
  return v;
}

/** Final checks shared by every format: non-empty texts and a real preference. */
export function checkTriple(prompt: string, chosen: string, rejected: string, needPrompt = true) {
  if (needPrompt && prompt.trim() === '') throw new RowProblem('prompt is empty');
  if (chosen.trim() === '') throw new RowProblem('chosen response is empty');
  if (rejected.trim() === '') throw new RowProblem('rejected response is empty');
  if (chosen === rejected) throw new RowProblem('chosen and rejected are identical');
}

/** Parses one JSON line into an object, or a RowProblem with the parser's message. */
export function parseJsonObject(text: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new RowProblem(`malformed JSON: ${(err as Error).message}`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new RowProblem(`expected a JSON object, got ${typeName(v)}`);
  }
  return v as Record<string, unknown>;
}

/**
 * Accumulates rows for one file. Invariant: rowsRead = loaded + skipped, and every skipped row
 * has an entry in `errors`, so nothing is dropped without a trace.
 */
export class Collector {
  readonly records: PreferenceRecord[] = [];
  readonly errors: LoadError[] = [];
  rowsRead = 0;
  private readonly t0 = performance.now();

  constructor(
    readonly file: string,
    readonly format: string,
    readonly opts: LoadOptions,
  ) {}

  /** True once `limit` rows are loaded; loaders stop reading then. */
  get full(): boolean {
    return this.opts.limit !== undefined && this.records.length >= this.opts.limit;
  }

  bad(line: number, reason: string): void {
    this.rowsRead += 1;
    if ((this.opts.onError ?? 'throw') === 'throw') throw new DataError(this.file, line, reason);
    this.errors.push({ file: this.file, line, reason });
  }

  /** Runs `build` for one row; a RowProblem becomes a bad row, anything else propagates. */
  row(line: number, build: () => PreferenceRecord): void {
    let rec: PreferenceRecord;
    try {
      rec = build();
    } catch (err) {
      if (!(err instanceof RowProblem)) throw err;
      this.bad(line, err.message);
      return;
    }
    this.rowsRead += 1;
    this.records.push(rec);
  }

  async finish(): Promise<LoadResult> {
    if (this.rowsRead === 0) throw new DataError(this.file, 1, 'empty file: no rows to load');
    const bytes = (await stat(this.file)).size;
    return {
      data: new PreferenceDataset(this.records),
      report: {
        file: this.file,
        format: this.format,
        rowsRead: this.rowsRead,
        loaded: this.records.length,
        skipped: this.errors.length,
        errors: this.errors,
        bytes,
        ms: performance.now() - this.t0,
      },
    };
  }
}
