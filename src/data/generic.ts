/** Generic loaders (jsonl, csv, parquet) with a column mapping; TRL's conversational form too. */
import { open } from 'node:fs/promises';
import { basename } from 'node:path';
import {
  type AsyncBuffer,
  parquetMetadataAsync,
  parquetReadObjects,
  parquetSchema,
} from 'hyparquet';
import {
  Collector,
  checkTriple,
  type LoadResult,
  RowProblem,
  textField,
  typeName,
} from './collect';
import { csvRecords } from './csv';
import { loadJsonLines } from './json_lines';
import { DEFAULT_MAX_LINE_BYTES, readLines } from './lines';
import { type ColumnMapping, DataError, type LoadOptions, type PreferenceRecord } from './types';

export interface GenericLoadOptions extends LoadOptions {
  /** Which columns hold prompt/chosen/rejected. @defaultValue the same names */
  mapping?: Partial<ColumnMapping>;
}

interface Resolved {
  prompt: string;
  chosen: string;
  rejected: string;
  id?: string;
  /** false when the prompt column was not named: it may then be absent (implicit prompt). */
  promptRequired: boolean;
}

function resolve(mapping: Partial<ColumnMapping> | undefined): Resolved {
  return {
    prompt: mapping?.prompt ?? 'prompt',
    chosen: mapping?.chosen ?? 'chosen',
    rejected: mapping?.rejected ?? 'rejected',
    ...(mapping?.id !== undefined ? { id: mapping.id } : {}),
    promptRequired: mapping?.prompt !== undefined,
  };
}

/** Wrong mappings are a usage error, not a bad row: they abort whatever `onError` says. */
function checkColumns(file: string, columns: string[], m: Resolved): void {
  const wanted: Array<[string, string | undefined, boolean]> = [
    ['prompt', m.prompt, m.promptRequired],
    ['chosen', m.chosen, true],
    ['rejected', m.rejected, true],
    ['id', m.id, m.id !== undefined],
  ];
  for (const [role, col, required] of wanted) {
    if (required && col !== undefined && !columns.includes(col)) {
      throw new DataError(
        file,
        1,
        `column '${col}' (mapped to ${role}) not found; columns are: ${columns.join(', ')}`,
      );
    }
  }
}

const ROLE_TAG: Record<string, string> = {
  user: 'Human',
  assistant: 'Assistant',
  system: 'System',
};

interface Message {
  role: string;
  content: string;
}

function messages(v: unknown, field: string): Message[] {
  if (!Array.isArray(v))
    throw new RowProblem(`field '${field}' must be a list of messages, got ${typeName(v)}`);
  return v.map((m, i) => {
    const o = (typeof m === 'object' && m !== null ? m : {}) as Record<string, unknown>;
    if (typeof o.role !== 'string' || !(o.role in ROLE_TAG)) {
      throw new RowProblem(`${field}[${i}].role must be one of user, assistant, system`);
    }
    if (typeof o.content !== 'string') {
      throw new RowProblem(`${field}[${i}].content must be a string, got ${typeName(o.content)}`);
    }
    return { role: o.role, content: o.content };
  });
}

/** Renders turns in HH's layout, so conversational and HH data share one text format. */
export function renderTurns(msgs: Message[]): string {
  return msgs.map((m) => `\n\n${ROLE_TAG[m.role]}: ${m.content}`).join('');
}

function renderResponse(rest: Message[], field: string): string {
  if (rest[0]?.role !== 'assistant')
    throw new RowProblem(`${field} must continue with an assistant message`);
  return ` ${rest[0].content}${renderTurns(rest.slice(1))}`;
}

/** TRL conversational preference row: explicit prompt messages, or the common prefix of both. */
function conversational(obj: Record<string, unknown>, m: Resolved) {
  const chosen = messages(obj[m.chosen], m.chosen);
  const rejected = messages(obj[m.rejected], m.rejected);
  let prompt: Message[];
  let cRest = chosen;
  let rRest = rejected;
  if (m.prompt in obj) {
    const p = obj[m.prompt];
    prompt = typeof p === 'string' ? [{ role: 'user', content: p }] : messages(p, m.prompt);
  } else {
    let n = 0;
    while (
      n < Math.min(chosen.length, rejected.length) &&
      chosen[n]!.role === rejected[n]!.role &&
      chosen[n]!.content === rejected[n]!.content
    ) {
      n += 1;
    }
    while (n > 0 && chosen[n]?.role !== 'assistant') n -= 1; // the responses start at an assistant turn
    prompt = chosen.slice(0, n);
    cRest = chosen.slice(n);
    rRest = rejected.slice(n);
  }
  if (prompt.length === 0) throw new RowProblem('conversation has no prompt messages');
  return {
    prompt: `${renderTurns(prompt)}\n\nAssistant:`,
    chosen: renderResponse(cRest, m.chosen),
    rejected: renderResponse(rRest, m.rejected),
  };
}

/** One row object through the mapping. Exported for loaders of other containers. */
export function mappedRecord(
  obj: Record<string, unknown>,
  m: Resolved,
  fallbackId: string,
  source: string,
): PreferenceRecord {
  let t: { prompt: string; chosen: string; rejected: string };
  if (Array.isArray(obj[m.chosen]) || Array.isArray(obj[m.rejected])) {
    t = conversational(obj, m);
  } else {
    if (!m.promptRequired && !(m.prompt in obj)) {
      throw new RowProblem(`missing field '${m.prompt}': plain-text rows need a prompt column`);
    }
    t = {
      prompt: textField(obj, m.prompt, 'prompt'),
      chosen: textField(obj, m.chosen, 'chosen'),
      rejected: textField(obj, m.rejected, 'rejected'),
    };
  }
  checkTriple(t.prompt, t.chosen, t.rejected);
  const id = m.id !== undefined ? obj[m.id] : undefined;
  const rec: PreferenceRecord = {
    id: id === undefined || id === null ? fallbackId : String(id),
    source,
    ...t,
  };
  // keep a `meta` object (as pitlab writes it) so saved scores survive a round trip
  const meta = obj.meta;
  if (typeof meta === 'object' && meta !== null && !Array.isArray(meta))
    rec.meta = meta as Record<string, unknown>;
  return rec;
}

/** Loads jsonl(.gz) with one object per line. */
export async function loadJsonl(file: string, opts: GenericLoadOptions = {}): Promise<LoadResult> {
  const m = resolve(opts.mapping);
  const name = basename(file);
  return loadJsonLines(file, 'jsonl', opts, (obj, line) =>
    mappedRecord(obj, m, `${name}:${line}`, `jsonl:${name}`),
  );
}

/** Loads csv(.gz) with a header row; every value is text. */
export async function loadCsv(file: string, opts: GenericLoadOptions = {}): Promise<LoadResult> {
  const m = resolve(opts.mapping);
  const c = new Collector(file, 'csv', opts);
  const name = basename(file);
  let header: string[] | undefined;
  const max = opts.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  for await (const rec of csvRecords(readLines(file, max), max)) {
    if (rec.error !== undefined) {
      if (!header) throw new DataError(file, rec.line, `unreadable header: ${rec.error}`);
      c.bad(rec.line, rec.error);
      continue;
    }
    if (!header) {
      header = rec.fields;
      checkColumns(file, header, m);
      continue;
    }
    const fields = rec.fields;
    const cols = header;
    c.row(rec.line, () => {
      if (fields.length !== cols.length) {
        throw new RowProblem(
          `expected ${cols.length} fields (as in the header), got ${fields.length}`,
        );
      }
      const obj: Record<string, unknown> = {};
      cols.forEach((h, i) => {
        obj[h] = fields[i];
      });
      return mappedRecord(obj, m, `${name}:${rec.line}`, `csv:${name}`);
    });
    if (c.full) break;
  }
  if (!header) throw new DataError(file, 1, 'empty file: no header row');
  return c.finish();
}

/** Random access to a file for hyparquet, reading only the byte ranges it asks for. */
async function fileBuffer(file: string): Promise<{ buf: AsyncBuffer; close: () => Promise<void> }> {
  const fh = await open(file, 'r');
  const { size } = await fh.stat();
  const buf: AsyncBuffer = {
    byteLength: size,
    slice: async (start, end = size) => {
      const out = Buffer.alloc(end - start);
      await fh.read(out, 0, out.length, start);
      return out.buffer.slice(out.byteOffset, out.byteOffset + out.length) as ArrayBuffer;
    },
  };
  return { buf, close: () => fh.close() };
}

/** Rows per read: bounds memory on large files while keeping hyparquet's batches efficient. */
const PARQUET_BATCH = 8192;

/** Loads parquet through hyparquet; `line` in errors is the 1-based row number. */
export async function loadParquet(
  file: string,
  opts: GenericLoadOptions = {},
): Promise<LoadResult> {
  const m = resolve(opts.mapping);
  const c = new Collector(file, 'parquet', opts);
  const name = basename(file);
  const { buf, close } = await fileBuffer(file);
  try {
    let metadata: Awaited<ReturnType<typeof parquetMetadataAsync>>;
    try {
      metadata = await parquetMetadataAsync(buf);
    } catch (err) {
      throw new DataError(file, 1, `not a readable parquet file: ${(err as Error).message}`);
    }
    const columns = parquetSchema(metadata).children.map((ch) => ch.element.name);
    checkColumns(file, columns, m);
    const total = Number(metadata.num_rows);
    for (let start = 0; start < total && !c.full; start += PARQUET_BATCH) {
      const rows = await parquetReadObjects({
        file: buf,
        metadata,
        rowStart: start,
        rowEnd: Math.min(total, start + PARQUET_BATCH),
      });
      for (let i = 0; i < rows.length && !c.full; i++) {
        const line = start + i + 1;
        c.row(line, () =>
          mappedRecord(rows[i] as Record<string, unknown>, m, `${name}:${line}`, `parquet:${name}`),
        );
      }
    }
  } finally {
    await close();
  }
  return c.finish();
}
