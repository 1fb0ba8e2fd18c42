/** `pitlab data synth|inspect`: writes the synthetic task, or loads and validates a preference file. */
import { parseArgs } from 'node:util';
import { describe } from '../data/describe';
import { FORMATS, type Format, loadPreferences } from '../data/load';
import { SYNTH_DIR, writeSynthetic } from '../data/synth/io';
import { type ColumnMapping, DataError } from '../data/types';

const USAGE = `usage:
  pitlab data synth [--seed N] [--size S] [--out DIR]
      write the synthetic list task (train/valid/test pairs, refine demos); default out: data/synthetic
  pitlab data inspect FILE [--format hh|tldr|jsonl|csv|parquet] [--map prompt=a,chosen=b,rejected=c]
                           [--skip-bad] [--json] [--limit N]
      load and validate FILE; exits 1 on bad input unless --skip-bad
`;

/** "prompt=q,chosen=good,rejected=bad" → mapping; unknown keys are an error naming the allowed ones. */
export function parseMapping(text: string): Partial<ColumnMapping> {
  const out: Partial<ColumnMapping> = {};
  for (const part of text.split(',')) {
    const [key, col] = part.split('=').map((s) => s.trim());
    if (!key || !col || !['prompt', 'chosen', 'rejected', 'id'].includes(key)) {
      throw new Error(`--map: expected prompt=COL,chosen=COL,rejected=COL[,id=COL], got '${part}'`);
    }
    out[key as keyof ColumnMapping] = col;
  }
  return out;
}

function intOption(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0)
    throw new Error(`--${name}: expected a non-negative integer, got '${value}'`);
  return n;
}

/** Two decimals are plenty for a terminal table of lengths. */
function rounded(rows: object[]): object[] {
  return rows.map((r) =>
    Object.fromEntries(
      Object.entries(r).map(([k, v]) => [k, typeof v === 'number' ? Math.round(v * 100) / 100 : v]),
    ),
  );
}

async function synth(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { seed: { type: 'string' }, size: { type: 'string' }, out: { type: 'string' } },
  });
  const seed = intOption('seed', values.seed, 0);
  const size = intOption('size', values.size, 2000);
  const paths = await writeSynthetic(values.out ?? SYNTH_DIR, { seed, size });
  console.log(`wrote ${paths.join(', ')}`);
  return 0;
}

async function inspect(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      format: { type: 'string' },
      map: { type: 'string' },
      'skip-bad': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      limit: { type: 'string' },
    },
  });
  const file = positionals[0];
  if (!file || positionals.length > 1) throw new Error('inspect: expected exactly one FILE');
  const format = values.format as Format | undefined;
  if (format !== undefined && !FORMATS.includes(format)) {
    throw new Error(`--format: unknown '${format}'. Allowed: ${FORMATS.join(', ')}`);
  }
  const skip = values['skip-bad'] ?? false;
  try {
    const { data, report } = await loadPreferences(file, {
      ...(format ? { format } : {}),
      ...(values.map ? { mapping: parseMapping(values.map) } : {}),
      ...(values.limit ? { limit: intOption('limit', values.limit, 0) } : {}),
      onError: skip ? 'skip' : 'throw',
    });
    const summary = data.size > 0 ? describe(data) : undefined;
    if (values.json) {
      const stats = summary ? (await import('danfojs-node')).toJSON(summary) : [];
      console.log(JSON.stringify({ ok: true, ...report, summary: stats }));
    } else {
      console.log(
        `${file}: ${report.loaded} loaded, ${report.skipped} skipped of ${report.rowsRead} rows read`,
      );
      for (const e of report.errors.slice(0, 20))
        console.log(`  skipped ${e.file}:${e.line}: ${e.reason}`);
      if (report.errors.length > 20) console.log(`  ... and ${report.errors.length - 20} more`);
      if (summary)
        console.table(rounded((await import('danfojs-node')).toJSON(summary) as object[]));
    }
    return 0;
  } catch (err) {
    if (!(err instanceof DataError)) throw err;
    if (values.json) {
      const errors = [{ line: err.line, reason: err.reason }];
      console.log(JSON.stringify({ ok: false, file, loaded: 0, skipped: 0, errors }));
    } else {
      console.error(`pitlab data inspect: ${err.message}`);
    }
    return 1;
  }
}

export async function dataCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  try {
    if (sub === 'synth') return await synth(rest);
    if (sub === 'inspect') return await inspect(rest);
    if (sub === undefined || sub === '-h' || sub === '--help') {
      console.log(USAGE);
      return 0;
    }
    console.error(`pitlab data: unknown subcommand '${sub}'\n\n${USAGE}`);
    return 2;
  } catch (err) {
    console.error(`pitlab data ${sub}: ${(err as Error).message}`);
    return 2;
  }
}
