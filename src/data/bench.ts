/** Loader throughput benchmark: a 100,000-pair HH-style file built from the bundled HH sample. */
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HH_SAMPLE, loadHh } from './hh';
import { readLines } from './lines';

export interface BenchRow {
  workload: string;
  backend: string;
  throughput: number;
  unit: string;
}

/** Writes `pairs` rows by cycling the sample's lines (uncompressed, so MB/s is of JSON text). */
async function buildFile(path: string, pairs: number, sample: string): Promise<number> {
  const lines: string[] = [];
  for await (const ln of readLines(sample)) if (ln.text !== undefined) lines.push(ln.text);
  if (lines.length === 0) throw new Error(`benchLoaders: no rows in ${sample}`);
  const out = createWriteStream(path);
  for (let i = 0; i < pairs; i++) {
    if (!out.write(`${lines[i % lines.length]}\n`))
      await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((res, rej) => out.end((err?: Error | null) => (err ? rej(err) : res())));
  return (await stat(path)).size;
}

/**
 * Loads a 100,000-pair HH file and reports MB/s (1 MB = 10^6 bytes of file) and peak RSS
 * growth over the run. RSS is sampled every 50 ms; it includes the kept rows themselves, which
 * is what "memory bounded by the data kept" means: growth should track the loaded text size,
 * not a multiple of the file.
 */
export async function benchLoaders(
  opts: { pairs?: number; sample?: string } = {},
): Promise<BenchRow[]> {
  const pairs = opts.pairs ?? 100_000;
  const dir = await mkdtemp(join(tmpdir(), 'pitlab-bench-'));
  try {
    const file = join(dir, 'hh-bench.jsonl');
    const bytes = await buildFile(file, pairs, opts.sample ?? HH_SAMPLE);
    global.gc?.();
    const rss0 = process.memoryUsage().rss;
    let peak = rss0;
    const timer = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 50);
    const t0 = performance.now();
    const { report } = await loadHh(file);
    const secs = (performance.now() - t0) / 1000;
    clearInterval(timer);
    peak = Math.max(peak, process.memoryUsage().rss);
    if (report.loaded !== pairs)
      throw new Error(`benchLoaders: loaded ${report.loaded} of ${pairs} pairs`);
    const workload = `data/load_hh_${pairs}_pairs_${Math.round(bytes / 1e6)}MB`;
    return [
      { workload, backend: 'node', throughput: bytes / 1e6 / secs, unit: 'MB/s' },
      { workload, backend: 'node', throughput: pairs / secs, unit: 'pairs/s' },
      { workload, backend: 'node', throughput: (peak - rss0) / 1e6, unit: 'MB peak RSS growth' },
    ];
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
