/**
 * `pitlab bench`: runs the reference workloads on every available backend (one child process per
 * backend, since a process holds one tfjs engine) and the PyTorch reference in the same invocation,
 * then prints throughput and the ratio to PyTorch.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { benchLoaders } from '../data/bench';
import { profileConfig } from '../pit/config';
import { type BackendName, probeBackends, runtime } from '../runtime';
import { benchKernels } from '../runtime/kernels/bench';
import { dataflowBench } from './kernel';
import { STAGE_BASELINE, stageBench } from './stages';
import {
  type BenchRow,
  matmulBench,
  matmulFloorBench,
  sampleBench,
  trainStepBench,
} from './workloads';

export type { BenchRow } from './workloads';

const ROOT = path.resolve(__dirname, '..', '..');

export interface BenchWorkerOptions {
  backend: BackendName;
  /** Install pitlab's wasm kernel overrides (off = stock tfjs-backend-wasm). */
  overrides: boolean;
  /** Fewer iterations, for a quick look. */
  quick: boolean;
  /** Run a side section instead of the model workloads. */
  section?: 'kernels' | 'data' | 'stages';
  /** Stages section: where to write the trainers' batches for their PyTorch replay. */
  replayFile?: string;
}

/** Measures every workload in this process on one backend. */
export async function benchWorker(options: BenchWorkerOptions): Promise<BenchRow[]> {
  await runtime.ready({ backend: options.backend, overrides: options.overrides });
  if (options.section === 'kernels') {
    const rows = await benchKernels({ budgetMs: options.quick ? 100 : 400 });
    return rows.map((r) => ({ ...r, workload: `kernel: ${r.workload}` }));
  }
  if (options.section === 'data') {
    return benchLoaders({ pairs: options.quick ? 10_000 : 100_000 });
  }
  if (options.section === 'stages') {
    // The stages' LM step (the PyTorch stage baseline's shape): how much of it is matmul.
    const m = profileConfig('default').model;
    const { batch, tokens } = STAGE_BASELINE;
    const shape = { ...m, blockSize: tokens };
    const floor = await matmulFloorBench('stage baseline: matmul floor', shape, batch);
    return [...(await stageBench(options.quick, options.replayFile)), floor];
  }
  const slow = options.backend === 'cpu' || !options.overrides;
  // 100 train steps in total on the fast backends: the leak check of the foundation issue.
  const [warmup, iters] = options.quick || slow ? [1, 2] : [5, 95];
  // A workload the backend cannot run (stock wasm has no gradient for tf.gather) is a row that
  // says why, not a failed benchmark.
  const attempt = async (workload: string, unit: string, run: () => Promise<BenchRow>) => {
    try {
      return await run();
    } catch (err) {
      const note = `cannot run: ${(err as Error).message.split('\n')[0]}`;
      return { workload, backend: options.backend, throughput: Number.NaN, unit, note };
    }
  };
  const rows = [
    await attempt('train_step', 'tokens/s', () =>
      trainStepBench(undefined, undefined, iters, warmup),
    ),
    ...(options.backend === 'wasm' && !slow
      ? [
          await attempt('train_step: matmul floor', 'tokens/s', () =>
            matmulFloorBench('train_step: matmul floor'),
          ),
        ]
      : []),
    await attempt('sample', 'tokens/s', () => sampleBench(64, 48, options.quick || slow ? 1 : 3)),
    await attempt('matmul', 'GFLOP/s', () => matmulBench(options.quick || slow ? 5 : 20)),
  ];
  const variant =
    options.backend === 'wasm' ? (options.overrides ? 'pitlab kernels' : 'stock') : '';
  return rows.map((r) => ({ ...r, ...(variant ? { variant } : {}) }));
}

/** The first Python that can import torch: the PATH's python3, then Debian's. */
export function findTorchPython(): string | undefined {
  for (const py of ['python3', '/usr/bin/python3']) {
    const res = spawnSync(py, ['-c', 'import torch'], { stdio: 'ignore', timeout: 120_000 });
    if (res.status === 0) return py;
  }
  return undefined;
}

function runTorch(python: string, args: string[] = []): { rows: BenchRow[]; version: string } {
  const res = spawnSync(python, [path.join(ROOT, 'bench', 'torch_reference.py'), ...args], {
    encoding: 'utf8',
    env: { ...process.env, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1', MKL_NUM_THREADS: '1' },
  });
  if (res.status !== 0) throw new Error(`PyTorch reference failed:\n${res.stderr}`);
  const out = JSON.parse(res.stdout.trim().split('\n').pop()!);
  return { rows: out.rows, version: out.torch };
}

function runWorker(
  backend: BackendName,
  overrides: boolean,
  quick: boolean,
  section?: 'kernels' | 'data' | 'stages',
  replayFile?: string,
): BenchRow[] {
  const args = [path.join(ROOT, 'bin', 'pitlab.js'), 'bench', '--worker', '--backend', backend];
  if (!overrides) args.push('--no-overrides');
  if (quick) args.push('--quick');
  if (section) args.push(`--${section}`);
  if (replayFile) args.push('--replay', replayFile);
  const res = spawnSync(process.execPath, args, { encoding: 'utf8', env: process.env });
  if (res.status !== 0) {
    return [
      {
        workload: 'error',
        backend,
        throughput: Number.NaN,
        unit: '',
        note: res.stderr.slice(-500),
      },
    ];
  }
  return JSON.parse(res.stdout.trim().split('\n').pop()!);
}

export interface BenchOptions {
  backends?: BackendName[];
  quick?: boolean;
  /** Also measure stock wasm without pitlab's overrides. @defaultValue true */
  stock?: boolean;
  /** Kernel microbenchmarks (stock wasm vs overrides vs cpu). @defaultValue true */
  kernels?: boolean;
  /** Preference-data loader throughput (100,000 HH pairs). @defaultValue true */
  data?: boolean;
  /** Training throughput of each pipeline stage (default-profile sizes). @defaultValue true */
  stages?: boolean;
  log?: (line: string) => void;
}

/**
 * The stage rows and their PyTorch baselines: the trainers' own batches replayed (`replay.ts`),
 * and an LM train step of the model on [32, 32] tokens, the reference the matmul floor is read
 * against.
 */
function stageRows(python: string | undefined, quick: boolean, log: (l: string) => void) {
  const rows: BenchRow[] = [];
  const dir = python ? mkdtempSync(path.join(tmpdir(), 'pitlab-replay-')) : undefined;
  const replayFile = dir ? path.join(dir, 'stages.json') : undefined;
  try {
    log('pipeline stages ...');
    rows.push(...runWorker('wasm', true, quick, 'stages', replayFile));
    if (!python) return rows;
    const { batch, tokens } = STAGE_BASELINE;
    const m = profileConfig('default').model;
    const shape = ['--vocab', String(m.vocabSize), '--block', String(tokens)];
    const size = [
      '--layers',
      String(m.nLayer),
      '--heads',
      String(m.nHead),
      '--embd',
      String(m.nEmbd),
    ];
    const torch = runTorch(python, [
      ...shape,
      ...size,
      '--batch',
      String(batch),
      '--iters',
      '20',
      '--skip-sample',
    ]);
    const step = torch.rows.find((r) => r.workload === 'train_step')!;
    rows.push({
      ...step,
      workload: 'stage baseline: LM train step',
      note: `B=${batch} T=${tokens}`,
    });
    if (replayFile && existsSync(replayFile)) {
      log("pytorch, the stages' own batches ...");
      rows.push(...runTorch(python, ['--stage-replay', replayFile]).rows);
    }
    return rows;
  } finally {
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * `vsPytorch` of every row: a stage row against PyTorch replaying its batches (the LM-step ratio
 * goes in its note), the matmul floors against the step they were profiled in, the rest against
 * PyTorch's row of the same workload.
 */
function setRatios(rows: BenchReport['rows']): void {
  const stageBase = rows.find((r) => r.workload === 'stage baseline: LM train step');
  const pytorchRow = (workload: string) =>
    rows.find((r) => r.backend === 'pytorch' && r.workload === workload);
  for (const row of rows) {
    if (row.backend === 'pytorch' || !Number.isFinite(row.throughput)) continue;
    const staged =
      row.workload.startsWith('stage: ') || row.workload.startsWith('stage baseline: matmul');
    if (staged && row.unit === 'tokens/s') {
      // a stage's matmul floor compares with the replay of that stage's whole step
      const replay = pytorchRow(row.workload.replace(/: matmul floor$/, ''));
      const lmStep = stageBase ? row.throughput / stageBase.throughput : undefined;
      if (!replay) {
        row.vsPytorch = lmStep;
        continue;
      }
      if (lmStep !== undefined)
        row.note = `${row.note ?? ''}; vs the LM step ${lmStep.toFixed(3)}×`;
      if (replayAgrees(replay)) {
        row.vsPytorch = row.throughput / replay.throughput;
      } else {
        row.note = `${row.note}; no ratio: the PyTorch replay computes another loss (${replay.note})`;
      }
      continue;
    }
    // A floor row compares with the whole step it was profiled in.
    const ref = pytorchRow(row.workload.replace(/: matmul floor$/, ''));
    if (ref) row.vsPytorch = row.throughput / ref.throughput;
  }
}

/**
 * Whether a stage replay computed the trainer's own step-1 loss from the same weights and batches
 * (float32 sums in another order: agreement to 1e-4 relative).
 */
export function replayAgrees(row: BenchRow): boolean {
  const check = row.stepOneLoss;
  if (!check) return false;
  return Math.abs(check.replay - check.trainer) <= 1e-4 * Math.max(1, Math.abs(check.trainer));
}

export interface BenchReport {
  rows: Array<BenchRow & { variant?: string; vsPytorch?: number }>;
  pytorch?: string;
  tfjs: string;
  node: string;
}

export async function runBench(options: BenchOptions = {}): Promise<BenchReport> {
  const log = options.log ?? (() => {});
  // webgpu on a software adapter (lavapipe) checks correctness, not speed: only when asked for.
  const backends =
    options.backends ??
    probeBackends()
      .filter((p) => p.available && (p.name !== 'webgpu' || p.gpu))
      .map((p) => p.name);
  const rows: BenchReport['rows'] = [];
  let pytorch: string | undefined;
  const python = findTorchPython();
  if (python) {
    log(`pytorch (${python}) ...`);
    const torch = runTorch(python);
    pytorch = torch.version;
    rows.push(...torch.rows);
  } else {
    log(
      'PyTorch not found (Debian: apt-get install python3-torch libopenblas0-pthread): no ratios',
    );
  }
  for (const backend of backends) {
    log(`${backend} ...`);
    rows.push(...runWorker(backend, true, options.quick ?? false));
    if (backend === 'wasm' && (options.stock ?? true)) {
      log('wasm, stock kernels ...');
      rows.push(...runWorker(backend, false, options.quick ?? false));
    }
  }
  if ((options.kernels ?? true) && backends.includes('wasm')) {
    log('kernel microbenchmarks ...');
    rows.push(...runWorker('wasm', true, options.quick ?? false, 'kernels'));
  }
  if (options.data ?? true) {
    log('data loaders ...');
    rows.push(...runWorker('cpu', false, options.quick ?? false, 'data'));
  }
  rows.push(...dataflowBench(!!options.quick));
  if ((options.stages ?? true) && backends.includes('wasm')) {
    rows.push(...stageRows(python, !!options.quick, log));
  }
  setRatios(rows);
  return { rows, pytorch, tfjs: runtime.tf.version.tfjs, node: process.version };
}

/** A plain-text table of a report. */
export function formatBench(report: BenchReport): string {
  const header = ['workload', 'backend', 'variant', 'throughput', 'unit', 'ms/iter', 'vs PyTorch'];
  const lines = report.rows.map((r) => [
    r.workload,
    r.backend,
    (r as { variant?: string }).variant ?? '',
    !Number.isFinite(r.throughput)
      ? `n/a (${r.note ?? ''})`
      : r.throughput.toFixed(r.throughput < 100 ? 2 : 0),
    r.unit,
    r.ms?.toFixed(1) ?? '',
    r.vsPytorch === undefined ? '' : `${r.vsPytorch.toFixed(3)}×`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const fmt = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  return [fmt(header), fmt(widths.map((w) => '-'.repeat(w))), ...lines.map(fmt)].join('\n');
}
