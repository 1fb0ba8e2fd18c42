/** `pitlab install` (the Jupyter kernelspec) and `pitlab notebook` (Jupyter on notebooks/). */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

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

/** Where `install` writes for the given arguments; throws on unknown arguments. */
export function kernelDir(args: string[]): string {
  let base = userDataDir();
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--user') base = userDataDir();
    else if (a === '--prefix') {
      const dir = args[++i];
      if (!dir)
        throw new Error('pitlab install: `--prefix` needs a directory, e.g. --prefix /tmp/jupyter');
      base = path.join(path.resolve(dir), 'share', 'jupyter');
    } else if (a?.startsWith('--prefix=')) {
      base = path.join(path.resolve(a.slice('--prefix='.length)), 'share', 'jupyter');
    } else {
      throw new Error(`pitlab install: unknown argument '${a}'. Allowed: --user, --prefix DIR`);
    }
  }
  return path.join(base, 'kernels', KERNEL_NAME);
}

/** `pitlab install [--user|--prefix DIR]`: writes the kernelspec named `pitlab`. */
export async function installCommand(args: string[]): Promise<number> {
  let dir: string;
  try {
    dir = kernelDir(args);
  } catch (e) {
    console.error((e as Error).message);
    return 2;
  }
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'kernel.json'), `${JSON.stringify(kernelSpec(), null, 2)}\n`);
  console.log(`installed kernelspec '${KERNEL_NAME}' (${DISPLAY_NAME}) in ${dir}`);
  return 0;
}

const NO_JUPYTER = `pitlab notebook: Jupyter was not found on PATH. Install it with
  sudo apt-get install jupyter-notebook      (Debian/Ubuntu), or
  pip install notebook                        (or: pip install jupyterlab)`;

/**
 * `pitlab notebook [--lab] [jupyter args...]`: installs the kernelspec for this user and starts
 * Jupyter Notebook (or JupyterLab) on the repository's notebooks/ folder.
 */
export async function notebookCommand(args: string[]): Promise<number> {
  const lab = args.includes('--lab');
  const rest = args.filter((a) => a !== '--lab');
  if (spawnSync('jupyter', ['--version'], { stdio: 'ignore' }).status !== 0) {
    console.error(NO_JUPYTER);
    return 1;
  }
  const installed = await installCommand(['--user']);
  if (installed !== 0) return installed;
  const dir = path.join(ROOT, 'notebooks');
  if (!existsSync(dir)) mkdirSync(dir, { recursive: true });
  const child = spawn('jupyter', [lab ? 'lab' : 'notebook', `--notebook-dir=${dir}`, ...rest], {
    stdio: 'inherit',
  });
  return new Promise((resolve) => {
    child.on('exit', (code) => resolve(code ?? 1));
    child.on('error', () => resolve(1));
  });
}
