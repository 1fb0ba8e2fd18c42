/** The `pitlab` command line: dispatches subcommands. */
import { runtime } from '../runtime';
import { type CommandHelp, parseOptions, printedHelp, UsageError, usageHint } from './args';
import { BENCH_HELP, benchCommand } from './bench';
import { DATA_HELP, dataCommand } from './data';
import { INSTALL_HELP, installCommand, NOTEBOOK_HELP, notebookCommand } from './kernel';
import {
  EXPERIMENT_HELP,
  experimentCommand,
  GRAPH_HELP,
  graphCommand,
  RUN_HELP,
  runCommand,
} from './run';

const INFO_HELP: CommandHelp = {
  name: 'info',
  synopsis: '',
  summary: 'show the tensor runtime (backend, versions, memory) as JSON',
};

async function infoCommand(args: string[]): Promise<number> {
  if (printedHelp(args, INFO_HELP)) return 0;
  parseOptions(args, {});
  await runtime.ready();
  console.log(JSON.stringify(runtime.info(), null, 2));
  return 0;
}

/** Every command, in the overview's order; each module owns its usage text. */
const COMMANDS: Record<string, [CommandHelp, (args: string[]) => Promise<number>]> = {
  run: [RUN_HELP, runCommand],
  graph: [GRAPH_HELP, graphCommand],
  experiment: [EXPERIMENT_HELP, experimentCommand],
  data: [DATA_HELP, dataCommand],
  bench: [BENCH_HELP, benchCommand],
  info: [INFO_HELP, infoCommand],
  install: [INSTALL_HELP, installCommand],
  notebook: [NOTEBOOK_HELP, notebookCommand],
};

function overview(): string {
  const names = Object.keys(COMMANDS);
  const width = Math.max(...names.map((n) => n.length));
  return [
    'usage: pitlab <command> [options]',
    '',
    'commands:',
    ...names.map((n) => `  ${n.padEnd(width)}  ${COMMANDS[n]![0].summary}`),
    '',
    "'pitlab <command> --help' shows a command's options.",
  ].join('\n');
}

/**
 * Runs a command. A usage error prints with a pointer to the command's help (exit 2); any other
 * error as one clear line (with the stack under PITLAB_DEBUG=1).
 */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '-h' || command === '--help') {
    console.log(overview());
    return 0;
  }
  const entry = Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
  if (!entry) {
    console.error(`pitlab: unknown command '${command}'\n\n${overview()}`);
    return 2;
  }
  try {
    return await entry[1](rest);
  } catch (err) {
    const e = err as Error;
    if (e instanceof UsageError) {
      console.error(`pitlab ${command}: ${e.message}\n${usageHint(command)}`);
      return 2;
    }
    console.error(`pitlab: ${process.env.PITLAB_DEBUG ? e.stack : e.message}`);
    return 1;
  }
}
