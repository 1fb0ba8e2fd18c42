/**
 * What every `pitlab` command shares: its usage text, built from the same option table parseArgs
 * reads (so the help always lists exactly the accepted options), `--help`, and usage errors that
 * name what is accepted. The accepted values themselves come from the library's own lists.
 */
import { type ParseArgsConfig, parseArgs } from 'node:util';

type ParseArgsOptionConfig = NonNullable<ParseArgsConfig['options']>[string];

/** One parseArgs option plus its line in the usage text (`arg`: the value's placeholder). */
export type OptionSpec = ParseArgsOptionConfig & { help: string; arg?: string };
export type OptionTable = Record<string, OptionSpec>;

export interface CommandHelp {
  /** As typed after `pitlab`: `run`, `data inspect`. */
  name: string;
  /** What follows the name on the usage line: `[options]`, `FILE [options]`. */
  synopsis: string;
  /** One line; main's overview shows it too. */
  summary: string;
  options?: OptionTable;
  /** Text after the options (subcommands, pass-through arguments). */
  notes?: string;
}

/** A wrong option or value: printed with a pointer to `--help`, exit status 2, before any work. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** `-h`/`--help` anywhere before a `--` (after it, arguments belong to someone else). */
export function wantsHelp(args: string[]): boolean {
  const end = args.indexOf('--');
  return (end < 0 ? args : args.slice(0, end)).some((a) => a === '-h' || a === '--help');
}

function optionLabel(name: string, o: OptionSpec): string {
  return `${o.short ? `-${o.short}, ` : ''}--${name}${o.arg ? ` ${o.arg}` : ''}`;
}

export function usageText(h: CommandHelp): string {
  const rows: [string, string][] = Object.entries(h.options ?? {}).map(([name, o]) => [
    optionLabel(name, o),
    o.help,
  ]);
  rows.push(['-h, --help', 'show this help']);
  const width = Math.max(...rows.map(([label]) => label.length));
  const indent = `\n${' '.repeat(width + 4)}`;
  const lines = [
    `usage: pitlab ${h.name} ${h.synopsis}`.trimEnd(),
    '',
    h.summary,
    '',
    'options:',
    ...rows.map(([label, help]) => `  ${label.padEnd(width)}  ${help.split('\n').join(indent)}`),
  ];
  if (h.notes) lines.push('', h.notes);
  return lines.join('\n');
}

/** Prints the usage when asked for; the caller then returns 0. */
export function printedHelp(args: string[], h: CommandHelp): boolean {
  if (!wantsHelp(args)) return false;
  console.log(usageText(h));
  return true;
}

export function acceptedOptions(options: OptionTable = {}): string {
  return [...Object.keys(options).map((k) => `--${k}`), '--help'].join(', ');
}

/**
 * parseArgs (strict) over the table; its errors become UsageErrors, an unknown option's naming
 * every option the command accepts.
 */
export function parseOptions<T extends OptionTable>(
  args: string[],
  options: T,
  allowPositionals = false,
) {
  try {
    return parseArgs({ args, options, allowPositionals, strict: true });
  } catch (err) {
    const e = err as Error & { code?: string };
    if (!e.code?.startsWith('ERR_PARSE_ARGS')) throw err;
    if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      const option = /'([^']*)'/.exec(e.message)?.[1] ?? '';
      throw new UsageError(
        `unknown option '${option}'. Accepted options: ${acceptedOptions(options)}`,
      );
    }
    // e.g. a missing value, or `--seed -1` (Node's message: write `--seed=-1`)
    throw new UsageError(e.message.replace(/\s*\n\s*/g, ' '));
  }
}

/**
 * `value` when the library's list of accepted values holds it, else an error naming the list.
 * `what` is the option (`--profile`) or the argument (`experiment`).
 */
export function oneOf<T extends string>(what: string, value: string, accepted: readonly T[]): T {
  if ((accepted as readonly string[]).includes(value)) return value as T;
  throw new UsageError(`unknown ${what} '${value}'. Accepted: ${accepted.join(', ')}`);
}

/**
 * The number typed for `option`. Only a non-number is rejected here, to quote the text as typed;
 * ranges and integrality are the library's checks, which name the value.
 */
export function numberArg(option: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || Number.isNaN(n)) {
    throw new UsageError(`${option} must be a number, got '${value}'`);
  }
  return n;
}

/** The line under a usage error. */
export function usageHint(command: string): string {
  return `(pitlab ${command} --help shows the usage)`;
}
