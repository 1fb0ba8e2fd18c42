/**
 * safetensors read/write (https://github.com/huggingface/safetensors): an 8-byte little-endian
 * header length, a JSON header {name: {dtype, shape, data_offsets}, __metadata__}, then raw
 * little-endian bytes. The format is small enough that a reader/writer is ~100 lines, and no
 * maintained npm package writes it from Node; files interoperate with PyTorch's `safetensors`.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';

export type StDtype = 'F32' | 'I32';

export interface StTensor {
  dtype: StDtype;
  shape: number[];
  data: Float32Array | Int32Array;
}

export interface StFile {
  tensors: Map<string, StTensor>;
  metadata: Record<string, string>;
}

/** Writes `path` atomically: a crash leaves either the old file or the new one, never half. */
export function writeFileAtomic(path: string, chunks: Uint8Array[]): void {
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  const fd = openSync(tmp, 'w');
  try {
    for (const chunk of chunks) writeSync(fd, chunk);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

export function saveSafetensors(
  path: string,
  tensors: Map<string, StTensor>,
  metadata: Record<string, string> = {},
): void {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  const names = [...tensors.keys()].sort(); // deterministic bytes for identical content
  for (const name of names) {
    const t = tensors.get(name)!;
    const expected = t.shape.reduce((a, b) => a * b, 1);
    if (t.data.length !== expected) {
      throw new Error(
        `saveSafetensors: '${name}' has ${t.data.length} values for shape [${t.shape}]`,
      );
    }
    header[name] = {
      dtype: t.dtype,
      shape: t.shape,
      data_offsets: [offset, offset + t.data.byteLength],
    };
    offset += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8); // align data to 8 bytes, as the reference does
  const headerBytes = Buffer.from(json, 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(headerBytes.length));
  const chunks: Uint8Array[] = [len, headerBytes];
  for (const name of names) {
    const d = tensors.get(name)!.data;
    chunks.push(new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
  }
  writeFileAtomic(path, chunks);
}

export function loadSafetensors(path: string): StFile {
  const buf = readFileSync(path);
  if (buf.length < 8) throw new Error(`${path}: not a safetensors file (${buf.length} bytes)`);
  const headerLen = Number(buf.readBigUInt64LE(0));
  if (8 + headerLen > buf.length) {
    throw new Error(`${path}: header length ${headerLen} exceeds file size ${buf.length}`);
  }
  let header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  try {
    header = JSON.parse(buf.subarray(8, 8 + headerLen).toString('utf8'));
  } catch (err) {
    throw new Error(`${path}: corrupt safetensors header (${(err as Error).message})`);
  }
  const base = 8 + headerLen;
  const tensors = new Map<string, StTensor>();
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') {
      metadata = entry as unknown as Record<string, string>;
      continue;
    }
    const [start, end] = entry.data_offsets;
    if (base + end > buf.length) throw new Error(`${path}: tensor '${name}' is truncated`);
    // Copy into a fresh, aligned buffer (the file buffer's offset need not be 4-aligned).
    const bytes = new Uint8Array(buf.subarray(base + start, base + end));
    let data: Float32Array | Int32Array;
    if (entry.dtype === 'F32') data = new Float32Array(bytes.buffer);
    else if (entry.dtype === 'I32') data = new Int32Array(bytes.buffer);
    else throw new Error(`${path}: tensor '${name}' has unsupported dtype ${entry.dtype}`);
    tensors.set(name, { dtype: entry.dtype, shape: entry.shape, data });
  }
  return { tensors, metadata };
}
