/** `pitlab install` (the Jupyter kernelspec) and `pitlab notebook` (Jupyter on notebooks/). */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { type CommandHelp, parseOptions, printedHelp, UsageError } from './args';

const ROOT = path.resolve(__dirname, '..', '..');
export const KERNEL_NAME = 'pitlab';
export const DISPLAY_NAME = 'TypeScript (pitlab)';

/** The kernel.json pitlab writes: the absolute node path, so nvm/version switches don't break it. */
export function kernelSpec(): Record<string, unknown> {
  return {
    argv: [process.execPath, path.join(ROOT, 'kernel', 'launch.js'), '{connection_file}'],
    display_name: DISPLAY_NAME,
    language: 'typescript',
    // SIGINT reaches a busy synchronous loop (vm breakOnSigint); a message could not.
    interrupt_mode: 'signal',
    metadata: { pitlab_root: ROOT },
  };
}

/** Jupyter's per-user data directory (jupyter_core's rules on Linux and macOS). */
function userDataDir(): string {
  if (process.env.JUPYTER_DATA_DIR) return process.env.JUPYTER_DATA_DIR;
  if (process.platform === 'darwin') return path.join(os.homedir(), 'Library', 'Jupyter');
  const xdg = process.env.XDG_DATA_HOME || path.join(os.homedir(), '.local', 'share');
  return path.join(xdg, 'jupyter');
}

const INSTALL_OPTIONS = {
  user: {
    type: 'boolean',
    default: false,
    help: "into this user's Jupyter data directory (the default)",
  },
  prefix: {
    type: 'string',
    arg: 'DIR',
    help: 'into DIR/share/jupyter instead (a virtualenv, a temp dir)',
  },
} as const;

export const INSTALL_HELP: CommandHelp = {
  name: 'install',
  synopsis: '[--user | --prefix DIR]',
  summary: `install the Jupyter kernelspec '${KERNEL_NAME}' (${DISPLAY_NAME})`,
  options: INSTALL_OPTIONS,
};

export const NOTEBOOK_HELP: CommandHelp = {
  name: 'notebook',
  synopsis: '[--lab] [jupyter args...]',
  summary: 'start Jupyter on notebooks/ with the pitlab kernel (installed for this user first)',
  options: { lab: { type: 'boolean', help: 'JupyterLab instead of Jupyter Notebook' } },
  notes:
    "Any other argument goes to Jupyter unchanged; after '--' too (pitlab notebook -- --help shows\nJupyter's own help).",
};

/** Where `install` writes for the given arguments; throws a UsageError on unknown arguments. */
export function kernelDir(args: string[]): string {
  const { values } = parseOptions(args, INSTALL_OPTIONS);
  if (values.prefix === undefined) return path.join(userDataDir(), 'kernels', KERNEL_NAME);
  if (values.user) throw new UsageError('--user and --prefix DIR exclude each other');
  return path.join(path.resolve(values.prefix), 'share', 'jupyter', 'kernels', KERNEL_NAME);
}

/** `pitlab install [--user|--prefix DIR]`: writes the kernelspec named `pitlab`. */
export async function installCommand(args: string[]): Promise<number> {
  if (printedHelp(args, INSTALL_HELP)) return 0;
  const dir = kernelDir(args);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'kernel.json'), `${JSON.stringify(kernelSpec(), null, 2)}\n`);
  console.log(`installed kernelspec '${KERNEL_NAME}' (${DISPLAY_NAME}) in ${dir}`);
  return 0;
}

const NO_JUPYTER = `pitlab notebook: Jupyter was not found on PATH. Install it with
  sudo apt-get install jupyter-notebook      (Debian/Ubuntu), or
  pip install notebook                        (or: pip install jupyterlab)`;

/**
 * Jupyter's command line: the app, the notebook folder, `--allow-root` for root (Jupyter refuses
 * to start as root without it: containers and CI often run as root), then the user's arguments.
 */
export function jupyterArgs(
  lab: boolean,
  dir: string,
  rest: string[],
  uid: number | undefined = process.getuid?.(),
): string[] {
  const root = uid === 0 && !rest.includes('--allow-root') ? ['--allow-root'] : [];
  return [lab ? 'lab' : 'notebook', `--notebook-dir=${dir}`, ...root, ...rest];
}

/**
 * `pitlab notebook [--lab] [jupyter args...]`: installs the kernelspec for this user and starts
 * Jupyter Notebook (or JupyterLab) on the repository's notebooks/ folder.
 */
export async function notebookCommand(args: string[]): Promise<number> {
  if (printedHelp(args, NOTEBOOK_HELP)) return 0;
  const end = args.indexOf('--');
  const ours = end < 0 ? args : args.slice(0, end);
  const lab = ours.includes('--lab');
  // Jupyter gets everything else, '--' itself dropped.
  const rest = [...ours.filter((a) => a !== '--lab'), ...(end < 0 ? [] : args.slice(end + 1))];
  if (spawnSync('jupyter', ['--version'], { stdio: 'ignore' }).status !== 0) {
    console.error(NO_JUPYTER);
    return 1;
  }
  const installed = await installCommand(['--user']);
  if (installed !== 0) return installed;
  const dir = path.join(ROOT, 'notebooks');
  if (!existsSync(dir)) mkdirSync(dir, { recursive: true });
  const child = spawn('jupyter', jupyterArgs(lab, dir, rest), { stdio: 'inherit' });
  return new Promise((resolve) => {
    child.on('exit', (code) => resolve(code ?? 1));
    child.on('error', () => resolve(1));
  });
}
