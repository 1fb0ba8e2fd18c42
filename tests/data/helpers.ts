/** Test helpers for the data suite: temp files and the shared HH sample's location. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';

export const REPO = resolve(__dirname, '..', '..');
/** CI clones the repository with shared/ beside it. */
export const HH_FILE = resolve(
  REPO,
  '..',
  'shared',
  'data',
  'hh-rlhf',
  'harmless-base-test.part1.jsonl.gz',
);

const dir = mkdtempSync(join(tmpdir(), 'pitlab-data-test-'));
let n = 0;

/** Writes `content` to a fresh temp file (gzipped when `gzip`) and returns its path. */
export function tmpFile(name: string, content: string | Buffer, gzip = false): string {
  n += 1;
  const p = join(dir, `${n}-${name}`);
  writeFileSync(p, gzip ? gzipSync(content) : content);
  return p;
}

export function tmpPath(name: string): string {
  n += 1;
  return join(dir, `${n}-${name}`);
}

/** A JSON line per object. */
export const jsonl = (rows: unknown[]) => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
