/** Fixtures shared by several suites. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
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

/** Asserts `actual` matches `expected` entry by entry within `tol`, naming the first miss. */
export function assertClose(
  actual: ArrayLike<number>,
  expected: number[],
  tol = 1e-5,
  what = '',
): void {
  assert.is(actual.length, expected.length, `${what} length`);
  for (let i = 0; i < expected.length; i++) {
    assert.ok(
      Math.abs(actual[i]! - expected[i]!) <= tol,
      `${what}[${i}] = ${actual[i]}, expected ${expected[i]}`,
    );
  }
}

/** Runs `body` with backend `name` active, then restores the previous one; false if `name` is unavailable. */
export async function onBackend(name: string, body: () => Promise<void>): Promise<boolean> {
  const previous = tf.getBackend();
  if (!(await tf.setBackend(name))) return false;
  try {
    await body();
  } finally {
    await tf.setBackend(previous);
  }
  return true;
}

let wasmReady: Promise<boolean> | undefined;

/** Readies the wasm backend once per process; false, with a warning naming `suite`, where it cannot load. */
export function ensureWasm(suite: string): Promise<boolean> {
  wasmReady ??= runtime
    .ready({ backend: 'wasm' })
    .then(() => true)
    .catch((err: Error) => {
      console.warn(`${suite}: wasm unavailable, skipping its checks (${err.message})`);
      return false;
    });
  return wasmReady;
}
