/** Test helpers for the data suite: temp files (the HH sample is `HH_SAMPLE` from src/data). */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

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
