/**
 * Content-addressed artifact store for pipeline stages.
 *
 * A stage's key is a hash of what determines its output — its name, its config, the seed, the
 * project version and the keys of its inputs — never file times. Outcomes of a lookup:
 *
 *   key present ──▶ hit: load the artifact, skip the work
 *   key absent  ──▶ miss: run, write into a temp dir, fsync, rename to the key (atomic)
 *   run throws  ──▶ the temp dir is removed; no half-written artifact is ever visible
 *
 * A stage killed mid-way (SIGKILL) leaves at most a `.tmp-*` dir, which is ignored and swept.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../models/safetensors';
import { canonicalJson } from '../runtime/json';

/** Stage keys hash this form (sorted keys), so equal configs key equally. */
export { canonicalJson };

export interface KeyParts {
  stage: string;
  config: unknown;
  seed: number;
  version: string;
  /** Keys of the artifacts this stage reads, by input name. */
  inputs: Record<string, string>;
}

/** sha256 over the canonical form of every part; 20 hex chars is plenty for a local cache. */
export function stageKey(parts: KeyParts): string {
  return createHash('sha256').update(canonicalJson(parts)).digest('hex').slice(0, 20);
}

export class ArtifactStore {
  constructor(readonly root: string) {}

  dir(stage: string, key: string): string {
    return path.join(this.root, stage, key);
  }

  /** Scratch space of one key (checkpoints of a running stage); removed once it publishes. */
  workDir(stage: string, key: string): string {
    const dir = path.join(this.root, stage, `${key}.work`);
    mkdirSync(dir, { recursive: true });
    return dir;
  }

  has(stage: string, key: string): boolean {
    return existsSync(path.join(this.dir(stage, key), 'DONE'));
  }

  /**
   * Runs `write(tmpDir)` and publishes its files under the key atomically. The marker file `DONE`
   * is written last, inside the temp dir, so a published dir is always complete.
   */
  async publish(
    stage: string,
    key: string,
    write: (dir: string) => Promise<void>,
  ): Promise<string> {
    const final = this.dir(stage, key);
    const tmp = `${final}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
    mkdirSync(tmp, { recursive: true });
    try {
      await write(tmp);
      writeFileAtomic(path.join(tmp, 'DONE'), [Buffer.from('complete\n')]);
      if (existsSync(final)) rmSync(final, { recursive: true, force: true }); // stale, incomplete
      renameSync(tmp, final);
      rmSync(`${final}.work`, { recursive: true, force: true });
    } catch (err) {
      rmSync(tmp, { recursive: true, force: true });
      throw err;
    }
    return final;
  }

  readJson<T>(stage: string, key: string, file: string): T {
    return JSON.parse(readFileSync(path.join(this.dir(stage, key), file), 'utf8')) as T;
  }

  /**
   * Removes temp dirs left by killed runs: those whose writer process (the pid in the name) is
   * gone. A live run's temp dir is never touched, however long its stage takes.
   */
  sweep(): number {
    let removed = 0;
    if (!existsSync(this.root)) return 0;
    for (const stage of readdirSync(this.root)) {
      const stageDir = path.join(this.root, stage);
      for (const entry of readdirSync(stageDir)) {
        const full = path.join(stageDir, entry);
        const pid = Number(/\.tmp-(\d+)-/.exec(entry)?.[1]);
        if (pid && !processAlive(pid)) {
          rmSync(full, { recursive: true, force: true });
          removed += 1;
        }
      }
    }
    return removed;
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0); // signal 0: existence check only
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
