/** A small RFC 4180 CSV record reader over streamed lines (quoted fields may span lines). */
import type { Line } from './lines';

export type CsvRecord =
  | { line: number; fields: string[]; error?: undefined }
  | { line: number; fields?: undefined; error: string };

/**
 * Groups physical lines into CSV records. `line` is where a record starts, so errors point at
 * the row a person sees in an editor. A quoted field that never closes is reported at EOF, and
 * a record longer than `maxBytes` characters is rejected rather than grown without bound.
 */
export async function* csvRecords(
  lines: AsyncIterable<Line>,
  maxBytes: number,
): AsyncGenerator<CsvRecord> {
  let pending: string | undefined; // text of a record whose quoted field is still open
  let start = 0;
  for await (const ln of lines) {
    if (ln.error !== undefined) {
      if (pending !== undefined) {
        yield { line: start, error: `record broken by an unreadable line ${ln.line}: ${ln.error}` };
        pending = undefined;
      } else {
        yield { line: ln.line, error: ln.error };
      }
      continue;
    }
    const text = pending === undefined ? ln.text : `${pending}\n${ln.text}`;
    if (pending === undefined) {
      start = ln.line;
      if (ln.text.trim() === '') continue; // blank lines are not records
    }
    const parsed = parseRecord(text);
    if (parsed === 'open') {
      if (text.length > maxBytes) {
        yield { line: start, error: `quoted field runs past ${maxBytes} characters` };
        pending = undefined;
      } else {
        pending = text;
      }
      continue;
    }
    pending = undefined;
    yield typeof parsed === 'string'
      ? { line: start, error: parsed }
      : { line: start, fields: parsed };
  }
  if (pending !== undefined)
    yield { line: start, error: 'unterminated quoted field at end of file' };
}

/** Fields of one complete record, 'open' if a quote is still open, or an error message. */
export function parseRecord(text: string): string[] | 'open' | string {
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    if (text[i] === '"') {
      let value = '';
      i += 1;
      for (;;) {
        const q = text.indexOf('"', i);
        if (q < 0) return 'open';
        value += text.slice(i, q);
        if (text[q + 1] === '"') {
          value += '"';
          i = q + 2;
        } else {
          i = q + 1;
          break;
        }
      }
      fields.push(value);
      if (i === text.length) return fields;
      if (text[i] !== ',')
        return `unexpected character ${JSON.stringify(text[i])} after a closing quote`;
      i += 1;
    } else {
      const comma = text.indexOf(',', i);
      const end = comma < 0 ? text.length : comma;
      const value = text.slice(i, end);
      if (value.includes('"')) return 'a quote inside an unquoted field';
      fields.push(value);
      if (comma < 0) return fields;
      i = comma + 1;
    }
  }
}
