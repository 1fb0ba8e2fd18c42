// Prints the GPU benchmark's table from results.jsonl (one JSON object per run), with each webgpu
// train step as a fraction of PyTorch CUDA's on the same config. Plain JavaScript: it runs on the
// bundled Node with nothing else.
const fs = require('node:fs');

const lines = fs.readFileSync(process.argv[2], 'utf8').trim().split('\n').filter(Boolean);
const runs = lines.map((l) => JSON.parse(l));
const rows = [];
let adapter;
for (const run of runs) {
  if (run.error) {
    console.log(`error: ${run.error}${run.stderr ? `\n${run.stderr}` : ''}`);
    continue;
  }
  if (run.adapter) adapter = run.adapter;
  for (const r of run.rows) {
    const workload =
      run.config && r.workload === 'train_step' ? `train_step ${run.config}` : r.workload;
    const backend = run.device ? `pytorch cuda (${run.device})` : `${r.backend}`;
    rows.push({ ...r, workload, backend, torch: Boolean(run.device) });
  }
}
if (adapter) {
  const kind = adapter.software ? 'CPU/software adapter' : 'GPU';
  console.log(
    `webgpu adapter: ${adapter.description || adapter.device} (${adapter.vendor}, ${adapter.architecture}; ${kind})`,
  );
  if (adapter.software && process.env.SOFTWARE_OK !== '1') {
    console.log('WARNING: Dawn picked a software adapter: these are not GPU figures.');
  }
}
const header = ['workload', 'backend', 'throughput', 'unit', 'ms', 'vs PyTorch CUDA'];
const body = rows.map((r) => {
  const ref = rows.find((o) => o.torch && o.workload === r.workload);
  return [
    r.workload,
    r.backend,
    r.throughput.toFixed(r.throughput < 100 ? 2 : 0),
    r.unit,
    r.ms.toFixed(2),
    !r.torch && ref ? `${(r.throughput / ref.throughput).toFixed(3)}×` : '',
  ];
});
const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
const fmt = (cells) => cells.map((c, i) => c.padEnd(widths[i])).join('  ');
console.log([fmt(header), fmt(widths.map((w) => '-'.repeat(w))), ...body.map(fmt)].join('\n'));
for (const r of rows)
  if (r.note && !r.torch) console.log(`\n${r.workload} (${r.backend}): ${r.note}`);
