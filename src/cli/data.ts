/** `pitlab data synth|inspect`: writes the synthetic task, or loads and validates a preference file. */
import { describe } from '../data/describe';
import { FORMATS, loadPreferences } from '../data/load';
import { SYNTH_DIR, writeSynthetic } from '../data/synth/io';
import { type ColumnMapping, DataError } from '../data/types';
import {
  type CommandHelp,
  oneOf,
  parseOptions,
  printedHelp,
  UsageError,
  usageHint,
  usageText,
} from './args';

const SYNTH_OPTIONS = {
  seed: { type: 'string', arg: 'N', help: 'generator seed (default: 0)' },
  size: { type: 'string', arg: 'S', help: 'training pairs (default: 2000)' },
  out: { type: 'string', arg: 'DIR', help: 'output directory (default: data/synthetic)' },
} as const;

const INSPECT_OPTIONS = {
  format: {
    type: 'string',
    arg: 'F',
    help: `${FORMATS.join(', ')} (default: from the file name)`,
  },
  map: {
    type: 'string',
    arg: 'M',
    help: 'column mapping, e.g. prompt=q,chosen=good,rejected=bad[,id=key]',
  },
  'skip-bad': {
    type: 'boolean',
    default: false,
    help: 'skip bad rows and list them (else the first one exits 1)',
  },
  json: { type: 'boolean', default: false, help: 'print the report as JSON' },
  limit: { type: 'string', arg: 'N', help: 'read at most N pairs' },
} as const;

export const SYNTH_HELP: CommandHelp = {
  name: 'data synth',
  synopsis: '[options]',
  summary: 'write the synthetic list task (train/valid/test pairs, refine demos)',
  options: SYNTH_OPTIONS,
};

export const INSPECT_HELP: CommandHelp = {
  name: 'data inspect',
  synopsis: 'FILE [options]',
  summary: 'load and validate a preference file; exits 1 on bad input unless --skip-bad',
  options: INSPECT_OPTIONS,
};

const SUBCOMMANDS = { synth: SYNTH_HELP, inspect: INSPECT_HELP };

export const DATA_HELP: CommandHelp = {
  name: 'data',
  synopsis: `${Object.keys(SUBCOMMANDS).join('|')} [options]`,
  summary: 'write the synthetic task; load and validate a preference file',
  notes: [
    'subcommands:',
    ...Object.entries(SUBCOMMANDS).map(([sub, h]) => `  ${sub.padEnd(8)} ${h.summary}`),
    '',
    "'pitlab data <subcommand> --help' lists its options.",
  ].join('\n'),
};

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
    throw new UsageError(`--${name}: expected a non-negative integer, got '${value}'`);
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
  if (printedHelp(args, SYNTH_HELP)) return 0;
  const { values } = parseOptions(args, SYNTH_OPTIONS);
  const seed = intOption('seed', values.seed, 0);
  const size = intOption('size', values.size, 2000);
  const paths = await writeSynthetic(values.out ?? SYNTH_DIR, { seed, size });
  console.log(`wrote ${paths.join(', ')}`);
  return 0;
}

async function inspect(args: string[]): Promise<number> {
  if (printedHelp(args, INSPECT_HELP)) return 0;
  const { values, positionals } = parseOptions(args, INSPECT_OPTIONS, true);
  const file = positionals[0];
  if (!file || positionals.length > 1) throw new UsageError('expected exactly one FILE');
  const format =
    values.format === undefined ? undefined : oneOf('--format', values.format, FORMATS);
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
      console.log(usageText(DATA_HELP));
      return 0;
    }
    console.error(`pitlab data: unknown subcommand '${sub}'\n\n${usageText(DATA_HELP)}`);
    return 2;
  } catch (err) {
    console.error(`pitlab data ${sub}: ${(err as Error).message}`);
    if (err instanceof UsageError) console.error(usageHint(`data ${sub}`));
    return 2;
  }
}
