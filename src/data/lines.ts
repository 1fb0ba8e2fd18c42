/** Streams a text file line by line: transparent gzip, strict UTF-8 and a cap on line length. */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';

/** One physical line, or the reason it could not be read as text. */
export type Line =
  | { line: number; text: string; error?: undefined }
  | { line: number; text?: undefined; error: string };

export const DEFAULT_MAX_LINE_BYTES = 10 * 1024 * 1024;

/** True when the file starts with the gzip magic bytes 1f 8b (the extension is not trusted). */
export async function isGzip(file: string): Promise<boolean> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(2);
    const { bytesRead } = await fh.read(buf, 0, 2, 0);
    return bytesRead === 2 && buf[0] === 0x1f && buf[1] === 0x8b;
  } finally {
    await fh.close();
  }
}

/** The decompressed byte stream of `file`. */
export async function openBytes(file: string): Promise<Readable> {
  const raw = createReadStream(file, { highWaterMark: 1 << 20 });
  if (!(await isGzip(file))) return raw;
  const gunzip = createGunzip();
  raw.on('error', (err) => gunzip.destroy(err));
  return raw.pipe(gunzip);
}

/**
 * Yields every line of `file` (without the newline; a trailing "\r" is dropped too).
 * Lines are split on raw bytes and decoded one at a time with a fatal decoder, so invalid
 * UTF-8 is reported on its own line instead of being replaced by U+FFFD. A line longer than
 * `maxLineBytes` is reported as an error and its bytes are discarded as they arrive, so memory
 * stays bounded by the cap however long the line is.
 */
export async function* readLines(
  file: string,
  maxLineBytes = DEFAULT_MAX_LINE_BYTES,
): AsyncGenerator<Line> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const stream = await openBytes(file);
  let parts: Buffer[] = [];
  let partBytes = 0;
  let dropping = false; // the current line went over the cap: its bytes are counted, not kept
  let dropped = 0;
  let lineNo = 0;

  const finish = (chunk: Buffer): Line => {
    lineNo += 1;
    if (dropping) {
      const total = dropped + chunk.length;
      dropping = false;
      dropped = 0;
      return { line: lineNo, error: `line is ${total} bytes, over the ${maxLineBytes}-byte limit` };
    }
    let bytes = parts.length === 0 ? chunk : Buffer.concat([...parts, chunk]);
    parts = [];
    partBytes = 0;
    if (bytes.length > 0 && bytes[bytes.length - 1] === 0x0d) bytes = bytes.subarray(0, -1);
    try {
      return { line: lineNo, text: decoder.decode(bytes) };
    } catch {
      return { line: lineNo, error: `invalid UTF-8 at byte ${firstBadByte(bytes)} of the line` };
    }
  };

  for await (const data of stream as AsyncIterable<Buffer>) {
    let start = 0;
    for (;;) {
      const nl = data.indexOf(0x0a, start);
      if (nl < 0) break;
      const piece = data.subarray(start, nl);
      if (!dropping && partBytes + piece.length > maxLineBytes) {
        dropping = true; // finish() reports the total length
        dropped = partBytes;
        parts = [];
        partBytes = 0;
      }
      yield finish(piece);
      start = nl + 1;
    }
    const rest = data.subarray(start);
    if (rest.length === 0) continue;
    if (dropping) {
      dropped += rest.length;
    } else if (partBytes + rest.length > maxLineBytes) {
      dropping = true;
      dropped = partBytes + rest.length;
      parts = [];
      partBytes = 0;
    } else {
      // copy: the stream may reuse its buffer for the next chunk
      parts.push(Buffer.from(rest));
      partBytes += rest.length;
    }
  }
  if (dropping || partBytes > 0) yield finish(Buffer.alloc(0));
}

/** Byte offset of the first invalid UTF-8 sequence (for the error message). */
function firstBadByte(bytes: Uint8Array): number {
  const d = new TextDecoder('utf-8', { fatal: true });
  let lo = 0;
  let hi = bytes.length;
  // binary search on the longest prefix that decodes (a cut inside a valid char also fails,
  // so this finds the bad sequence to within 3 bytes, which is enough for a message)
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    try {
      d.decode(bytes.subarray(0, mid));
      lo = mid;
    } catch {
      hi = mid - 1;
    }
  }
  return lo;
}
