/** The benchmark's rows: the fields `--json` promises, leak-free train steps, the table. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { benchWorker, findTorchPython, formatBench } from '../../src/bench';
import { runtime } from '../../src/runtime';

test('a quick worker run yields train_step, sample and matmul rows with leak-free steps', async () => {
  const backend = await runtime.ready();
  const rows = await benchWorker({ backend, overrides: true, quick: true });
  const floored = backend === 'wasm'; // the matmul floor profiles wasm's synchronous kernels
  assert.equal(
    rows.map((r) => r.workload),
    ['train_step', ...(floored ? ['train_step: matmul floor'] : []), 'sample', 'matmul'],
  );
  if (floored) {
    // The matmuls are part of the step, so the rate without the rest is higher than the step's.
    const floor = rows[1]!;
    assert.ok(floor.throughput > rows[0]!.throughput, 'matmul floor rate above the step rate');
    assert.match(
      floor.note ?? '',
      /^B=16 T=64 C=128 L=4: \d+ matmul kernels take [\d.]+ of [\d.]+ ms/,
    );
  }
  for (const row of rows) {
    assert.is(row.backend, backend);
    assert.ok(Number.isFinite(row.throughput) && row.throughput > 0, `${row.workload} throughput`);
    assert.ok(['tokens/s', 'GFLOP/s'].includes(row.unit));
  }
  assert.match(rows[0]!.note ?? '', /tensors leaked over 3 steps: 0$/);
  const table = formatBench({
    rows: [
      { workload: 'train_step', backend: 'pytorch', throughput: 1000, unit: 'tokens/s' },
      { ...rows[0]!, vsPytorch: rows[0]!.throughput / 1000 },
    ],
    tfjs: '4.22.0',
    node: process.version,
  });
  assert.match(table, /vs PyTorch/);
  assert.match(table, /×/);
});

test('the stages section measures each pipeline trainer without leaking tensors', async () => {
  const backend = await runtime.ready();
  const rows = await benchWorker({ backend, overrides: true, quick: true, section: 'stages' });
  assert.equal(
    rows.map((r) => r.workload.split(' ')[1]),
    ['sft', 'rm_rp', 'rm_rpit', 'rl_mp', 'pit_rl', 'baseline:'],
  );
  for (const row of rows) {
    assert.ok(Number.isFinite(row.throughput) && row.throughput > 0, `${row.workload} throughput`);
    assert.ok((row.ms ?? 0) > 0);
    assert.match(row.note ?? '', /tensors leaked: 0$/);
  }
});

test('findTorchPython returns a python that imports torch, or nothing', () => {
  const py = findTorchPython();
  assert.ok(py === undefined || typeof py === 'string');
});

test.run();
