/** Fixtures shared by several suites. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import { runtime } from '../src/runtime';

/**
 * Readies the runtime before the suite and gives it a fresh temp folder (named `prefix`…),
 * removed with everything in it after the suite. `dir` is set once the suite starts, so read it
 * inside tests, not at module load.
 */
export function readyWithTempDir(prefix: string): { readonly dir: string } {
  let dir = '';
  test.before(async () => {
    await runtime.ready();
    dir = mkdtempSync(path.join(tmpdir(), prefix));
  });
  test.after(() => rmSync(dir, { recursive: true, force: true }));
  return {
    get dir() {
      return dir;
    },
  };
}
