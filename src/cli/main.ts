/** The `pitlab` command line: dispatches subcommands. */
import { runtime } from '../runtime';
import { benchCommand } from './bench';
import { dataCommand } from './data';
import { installCommand, notebookCommand } from './kernel';
import { experimentCommand, graphCommand, runCommand } from './run';

const USAGE = `usage: pitlab <command> [options]

commands:
  info            show the tensor runtime (backend, versions, memory)
  bench [--json]  benchmark training, sampling and matmul against PyTorch
  data synth|inspect  write the synthetic task; load and validate a preference file
  install [--user|--prefix DIR]  install the Jupyter kernelspec 'pitlab'
  notebook [--lab]  start Jupyter on notebooks/ with the pitlab kernel
  run [--profile smoke|default|full] [--seed N] [--out DIR] [--data FILE --format F] [--config JSON]
      [--jobs N]  run the PIT pipeline (cached stages) and write results.json and report.html;
                  --jobs: stages at once, each in its own process (default: one per core, ≤ 4)
  graph [same options as run]  show the stage graph with each stage's status
  experiment main|temperature|curriculum|iterations [same options as run]
                  run one experiment (and only the stages it needs) and print its rows
`;

/** Runs a command; errors print as one clear line (with the stack under PITLAB_DEBUG=1). */
export async function main(argv: string[]): Promise<number> {
  try {
    return await dispatch(argv);
  } catch (err) {
    const e = err as Error;
    console.error(`pitlab: ${process.env.PITLAB_DEBUG ? e.stack : e.message}`);
    return 1;
  }
}

async function dispatch(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'run':
      return runCommand(rest);
    case 'graph':
      return graphCommand(rest);
    case 'experiment':
      return experimentCommand(rest);
    case 'info': {
      await runtime.ready();
      console.log(JSON.stringify(runtime.info(), null, 2));
      return 0;
    }
    case 'bench':
      return benchCommand(rest);
    case 'data':
      return dataCommand(rest);
    case 'install':
      return installCommand(rest);
    case 'notebook':
      return notebookCommand(rest);
    case undefined:
    case '-h':
    case '--help':
      console.log(USAGE);
      return 0;
    default:
      console.error(`pitlab: unknown command '${command}' (args: ${rest.join(' ')})\n\n${USAGE}`);
      return 2;
  }
}
