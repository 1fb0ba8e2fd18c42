/**
 * Kernel microbenchmark: stock wasm vs wasm with pitlab's overrides vs cpu, on the matmul,
 * transpose and embedding shapes of the reference GPT. Usage:
 *   npx tsx scripts/kernel-bench.ts [--filter SUBSTRING] [--no-cpu] [--json]
 */
import { benchKernels, type KernelBackend } from '../src/runtime/kernels/bench';

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const fi = argv.indexOf('--filter');
  const filter = fi >= 0 ? argv[fi + 1] : undefined;
  const backends: KernelBackend[] = argv.includes('--no-cpu')
    ? ['wasm', 'wasm+overrides']
    : ['wasm', 'wasm+overrides', 'cpu'];
  const rows = await benchKernels({ backends, filter });
  if (argv.includes('--json')) {
    console.log(JSON.stringify({ rows }, null, 2));
    return;
  }
  const names = [...new Set(rows.map((r) => r.workload))];
  const cell = (w: string, b: KernelBackend) =>
    rows.find((r) => r.workload === w && r.backend === b);
  const pad = (s: string, n: number) => s.padStart(n);
  console.log(
    `${'workload'.padEnd(52)}${pad('wasm ms', 10)}${pad('+ovr ms', 10)}${pad('cpu ms', 10)}` +
      `${pad('speedup', 9)}${pad('+ovr thr', 16)}`,
  );
  for (const w of names) {
    const s = cell(w, 'wasm');
    const o = cell(w, 'wasm+overrides');
    const c = cell(w, 'cpu');
    const f = (r: typeof s) => (r ? r.ms.toFixed(2) : 'n/a');
    const speed = s && o ? `${(s.ms / o.ms).toFixed(1)}x` : 'n/a';
    const thr = o ? `${o.throughput.toFixed(2)} ${o.unit}` : '';
    console.log(
      `${w.padEnd(52)}${pad(f(s), 10)}${pad(f(o), 10)}${pad(f(c), 10)}${pad(speed, 9)}${pad(thr, 16)}`,
    );
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
