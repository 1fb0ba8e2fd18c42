/** The `pitlab` command line: dispatches subcommands. */
import { runtime } from '../runtime';
import { benchCommand } from './bench';
import { dataCommand } from './data';
import { installCommand, notebookCommand } from './kernel';

const USAGE = `usage: pitlab <command> [options]

commands:
  info            show the tensor runtime (backend, versions, memory)
  bench [--json]  benchmark training, sampling and matmul against PyTorch
  data synth|inspect  write the synthetic task; load and validate a preference file
  install [--user|--prefix DIR]  install the Jupyter kernelspec 'pitlab'
  notebook [--lab]  start Jupyter on notebooks/ with the pitlab kernel
  run             run the PIT pipeline (not yet available)
`;

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
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
