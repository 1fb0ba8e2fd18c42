/** The benchmark's rows: the fields `--json` promises, leak-free train steps, the table. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  type BenchRow,
  benchWorker,
  findTorchPython,
  formatBench,
  replayAgrees,
} from '../../src/bench';
import type { ReplayWorkload } from '../../src/bench/replay';
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

test('the stages section measures each pipeline trainer and records its batches for PyTorch', async () => {
  const backend = await runtime.ready();
  const replayFile = path.join(mkdtempSync(path.join(tmpdir(), 'pitlab-replay-test-')), 'r.json');
  const rows = await benchWorker({
    backend,
    overrides: true,
    quick: true,
    section: 'stages',
    replayFile,
  });
  const stage = (r: BenchRow) => r.workload.split(' ')[1];
  assert.equal(rows.map(stage), [
    ...['sft', 'sft', 'rm_rp', 'rm_rp', 'rm_rpit', 'rm_rpit'],
    ...['rl_mp', 'pit_rl', 'baseline:'],
  ]);
  const timed = rows.filter((r, i) => i < 6 && !r.workload.endsWith(': matmul floor'));
  for (const [i, floor] of rows.slice(0, 6).entries()) {
    if (i % 2 === 0) continue;
    assert.is(floor.workload, `${rows[i - 1]!.workload}: matmul floor`);
    // the matmuls are part of the step, so the rate without the rest is higher than the step's
    assert.ok(floor.throughput > rows[i - 1]!.throughput, floor.workload);
    assert.match(floor.note ?? '', /^\d+ matmul kernels take \d+ of \d+ ms of kernel time/);
  }
  for (const row of rows) {
    assert.ok(Number.isFinite(row.throughput) && row.throughput > 0, `${row.workload} throughput`);
    assert.ok((row.ms ?? 0) > 0);
    assert.match(row.note ?? '', /tensors leaked: 0$/);
  }
  const replay = JSON.parse(readFileSync(replayFile, 'utf8')) as {
    workloads: ReplayWorkload[];
  };
  assert.equal(
    replay.workloads.map((w) => w.workload),
    timed.map((r) => r.workload),
  );
  for (const [i, w] of replay.workloads.entries()) {
    assert.is(w.steps.length, 3, `${w.workload}: the quick run's 3 steps`);
    // the replay carries exactly the tokens the row's rate counts
    const tokens = w.steps.flat().reduce((n, p) => n + p.tokens, 0);
    const row = timed[i]!;
    const counted = (row.throughput * row.ms! * w.steps.length) / 1000;
    assert.ok(
      Math.abs(tokens - counted) < 1e-6 * counted,
      `${w.workload}: ${tokens} vs ${counted}`,
    );
    assert.ok(Number.isFinite(w.firstLoss) && w.firstLoss > 0);
    assert.ok(w.initial['h.0.attn.c_attn.weight']!.length > 0);
    for (const step of w.steps) {
      if (w.kind === 'sft') {
        // each part's loss divides by the whole batch's targets
        const targets = step.reduce((n, p) => n + p.lossMask!.reduce((a, v) => a + v, 0), 0);
        for (const p of step) assert.is(p.normaliser, targets);
        continue;
      }
      for (const p of step) {
        assert.is(p.B, (w.kind === 'rpit' ? 4 : 2) * p.pairs!, 'rows are blocks of the pairs');
        assert.is(p.ids.length, p.B * p.T);
        if (w.kind === 'rpit') {
          // every row's y_ref term is read from exactly one row
          for (let b = 0; b < p.B; b++) {
            const row = p.fromRow!.slice(b * p.B, (b + 1) * p.B);
            assert.is(
              row.reduce((a, v) => a + v, 0),
              1,
            );
          }
        }
      }
    }
  }
  const python = findTorchPython();
  if (!python) {
    // .ci/run installs PyTorch: CI must run the replay
    assert.not.ok(process.env.CI === 'true', 'PyTorch is missing under CI=true');
    console.warn('bench.test: no Python with torch, the replay itself is not checked');
    return;
  }
  const out = spawnSync(
    python,
    [path.join(__dirname, '..', '..', 'bench', 'torch_reference.py'), '--stage-replay', replayFile],
    {
      encoding: 'utf8',
      env: { ...process.env, OMP_NUM_THREADS: '1' },
    },
  );
  assert.is(out.status, 0, out.stderr);
  const torchRows = JSON.parse(out.stdout.trim().split('\n').pop()!).rows as BenchRow[];
  assert.equal(
    torchRows.map((r) => r.workload),
    replay.workloads.map((w) => w.workload),
  );
  for (const r of torchRows) {
    // the same weights, batches and loss: PyTorch computes the trainer's step-1 loss
    assert.ok(replayAgrees(r), `${r.workload}: ${r.note}`);
    assert.ok(r.throughput > 0);
  }
  // a replay of another computation gets no ratio
  const off = { ...torchRows[0]!, stepOneLoss: { replay: 1.01, trainer: 1 } };
  assert.not.ok(replayAgrees(off));
});

test('findTorchPython returns a python that imports torch, or nothing', () => {
  const py = findTorchPython();
  assert.ok(py === undefined || typeof py === 'string');
});

test.run();
