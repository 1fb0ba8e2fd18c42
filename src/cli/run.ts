/** `pitlab run` and `pitlab graph`: the PIT pipeline from the terminal. */
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { PROFILES, type Profile } from '../pit/config';
import { EXPERIMENTS, type ExperimentName } from '../pit/experiment_stages';
import type { EvalResults } from '../pit/experiments';
import type { GraphNode } from '../pit/graph';
import {
  type HeldOutSplits,
  pipelineGraph,
  type Results,
  runExperiment,
  runPipeline,
} from '../pit/pipeline';

const OPTIONS = {
  profile: { type: 'string', default: process.env.PITLAB_PROFILE ?? 'default' },
  seed: { type: 'string', default: '0' },
  out: { type: 'string' },
  data: { type: 'string' },
  format: { type: 'string' },
  config: { type: 'string' },
  jobs: { type: 'string' },
  json: { type: 'boolean', default: false },
} as const;

/** Independent stages at once: one per core, up to the graph's width (4 stages overlap at most). */
const DEFAULT_JOBS = Math.min(4, availableParallelism());

function parseRunArgs(args: string[]) {
  const { values } = parseArgs({ args, options: OPTIONS });
  if (!PROFILES.includes(values.profile as Profile)) {
    throw new Error(`--profile must be one of ${PROFILES.join(', ')}, got '${values.profile}'`);
  }
  const seed = Number(values.seed);
  if (!Number.isInteger(seed) || seed < 0)
    throw new Error(`--seed must be a non-negative integer, got '${values.seed}'`);
  let overrides: unknown = {};
  if (values.config) {
    try {
      overrides = JSON.parse(values.config);
    } catch (err) {
      throw new Error(`--config must be JSON (${(err as Error).message})`);
    }
  }
  const jobs = values.jobs === undefined ? DEFAULT_JOBS : Number(values.jobs);
  if (!Number.isInteger(jobs) || jobs < 1)
    throw new Error(`--jobs must be a positive integer, got '${values.jobs}'`);
  return {
    profile: values.profile as Profile,
    seed,
    jobs,
    outDir: values.out ? path.resolve(values.out) : undefined,
    data: values.data ? { file: values.data, format: values.format } : undefined,
    overrides,
    json: values.json,
  };
}

/**
 * One status line per finished stage; on a terminal the running stages' bars share one line that
 * redraws in place (several run at once with --jobs > 1).
 */
function progressPrinter() {
  const tty = process.stderr.isTTY;
  const running = new Map<string, { fraction: number; detail?: string }>();
  const redraw = () => {
    const width = running.size > 1 ? 12 : 30;
    const parts = [...running].map(([stage, { fraction, detail }]) => {
      const filled = Math.round(width * Math.max(0, Math.min(1, fraction)));
      const bar = `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`;
      const pct = `${(100 * fraction).toFixed(0).padStart(3)}%`;
      return `${stage} ${bar} ${pct}${running.size === 1 && detail ? ` ${detail}` : ''}`;
    });
    process.stderr.write(`\r\x1b[K  ${parts.join('  ')}`);
  };
  return {
    onStatus(node: GraphNode) {
      if (node.status === 'running') {
        running.set(node.name, { fraction: 0 });
        if (!tty) process.stderr.write(`▶ ${node.name} ...\n`);
        return;
      }
      running.delete(node.name);
      const secs = node.seconds === undefined ? '' : ` ${node.seconds.toFixed(1)} s`;
      const mark = {
        cached: '✓ cached',
        done: '✓ done',
        failed: '✗ failed',
        stale: '',
        running: '',
      }[node.status];
      process.stderr.write(
        `${tty ? '\r\x1b[K' : ''}${mark.padEnd(9)} ${node.name}${secs}${node.error ? `: ${node.error}` : ''}\n`,
      );
      if (tty && running.size > 0) redraw();
    },
    onProgress(stage: string, fraction: number, detail?: string) {
      if (!tty || !running.has(stage)) return;
      running.set(stage, { fraction, detail });
      redraw();
    },
  };
}

export function mainTable(r: Results): string {
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`.padStart(7);
  const lines = [
    `PIT on ${r.config.data.source === 'synthetic' ? 'the synthetic task' : r.config.data.source} (${r.prompts} test prompts × ${r.samples} draws of y_0, profile ${r.profile}, seed ${r.seed}, ${r.backend})`,
    '',
  ];
  lines.push(
    `${'A'.padEnd(12)} ${'B'.padEnd(13)} ${'judge'.padEnd(9)} ${'win'.padStart(7)} ${'tie'.padStart(7)} ${'lose'.padStart(7)} ${'Δ'.padStart(7)}  95% CI${' '.repeat(10)}win rate [95% CI]`,
  );
  for (const c of r.comparisons) {
    lines.push(
      `${String(c.a).padEnd(12)} ${String(c.b).padEnd(13)} ${c.judge.padEnd(9)} ${pct(c.win)} ${pct(c.tie)} ${pct(c.lose)} ${pct(c.delta)}  ${`[${pct(c.ci95[0]).trim()}, ${pct(c.ci95[1]).trim()}]`.padEnd(16)}  ${c.winRate.toFixed(3)} [${c.winRateCi95[0].toFixed(3)}, ${c.winRateCi95[1].toFixed(3)}]`,
    );
  }
  lines.push('');
  for (const row of r.rlhf ?? []) {
    lines.push(
      `RLHF (${row.judge}, T=${row.temperature}): M_P^SFT ${row.sft.mean.toFixed(3)} → M_P^RL ${row.rl.mean.toFixed(3)} · RL vs SFT Δ ${pct(row.rlVsSft.delta).trim()} [${pct(row.rlVsSft.ci95[0]).trim()}, ${pct(row.rlVsSft.ci95[1]).trim()}]`,
    );
  }
  const rm = r.rewardModels;
  const ciText = (c?: [number, number]) => (c ? ` [${c[0].toFixed(3)}, ${c[1].toFixed(3)}]` : '');
  const splitText = (s: HeldOutSplits) =>
    ` (valid ${s.valid.toFixed(3)}, test ${s.test.toFixed(3)})`;
  lines.push(
    '',
    `R_P held-out accuracy ${rm.rp.heldoutAccuracy?.toFixed(3)}${ciText(rm.rp.heldoutAccuracyCi95)}${splitText(rm.rp.bySplit)} · R_PIT swap accuracy ${rm.rpit.swapAccuracy?.toFixed(3)}${ciText(rm.rpit.swapAccuracyCi95)}${splitText(rm.rpit.bySplit)} · mean |r(x,y,y)| ${rm.rpit.selfGapAbsMean?.toFixed(3)} (${rm.rp.heldoutPairs} held-out pairs)`,
  );
  const ag = r.rewardAgreement;
  if (ag) {
    lines.push(
      `On PIT's edits (${ag.rpit.edits} test rows ${ag.judge} scored differently): R_PIT agrees ${ag.rpit.accuracy?.toFixed(3)}${ciText(ag.rpit.ci95)} · R_P agrees ${ag.rp.accuracy?.toFixed(3)}${ciText(ag.rp.ci95)}`,
    );
  }
  for (const round of r.pitRl?.rounds ?? []) {
    lines.push(
      `PIT RL round ${round.round}: kept update ${round.keptUpdate ?? '–'} of ${round.updates}${round.stoppedEarly ? ' (stopped early)' : ''}`,
    );
  }
  return lines.join('\n');
}

export async function runCommand(args: string[]): Promise<number> {
  const opts = parseRunArgs(args);
  const printer = progressPrinter();
  const t0 = performance.now();
  const run = await runPipeline({
    ...opts,
    onStatus: printer.onStatus,
    onProgress: printer.onProgress,
  });
  const seconds = (performance.now() - t0) / 1000;
  if (opts.json) {
    console.log(JSON.stringify(run.results));
  } else {
    console.log(mainTable(run.results));
    console.log(
      `\n${seconds.toFixed(1)} s · results: ${path.join(run.outDir, 'results.json')} · report: ${path.join(run.outDir, 'report.html')}`,
    );
  }
  return 0;
}

export async function graphCommand(args: string[]): Promise<number> {
  const opts = parseRunArgs(args);
  const nodes = pipelineGraph(opts);
  if (opts.json) {
    console.log(JSON.stringify(nodes, null, 1));
    return 0;
  }
  for (const n of nodes) {
    console.log(
      `${n.status.padEnd(7)} ${n.name.padEnd(16)} ${n.key}  ← ${n.deps.join(', ') || '(none)'}`,
    );
  }
  return 0;
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const interval = (ci: [number, number]) => `[${pct(ci[0])}, ${pct(ci[1])}]`;

/** One experiment's rows as text lines (the same numbers results.json holds). */
function experimentLines(name: ExperimentName, result: unknown): string[] {
  switch (name) {
    case 'main': {
      const r = result as Pick<EvalResults, 'comparisons' | 'meanScores'>;
      return [
        ...r.comparisons.map(
          (c) =>
            `${c.a} vs ${c.b} (${c.judge}): Δ ${pct(c.delta)} ${interval(c.ci95)}, win rate ${pct(c.winRate)}`,
        ),
        ...r.meanScores.map((m) => `mean ${m.system} (${m.judge}): ${m.mean.toFixed(3)}`),
      ];
    }
    case 'temperature':
      return (result as EvalResults['temperatureSweep']).map(
        (t) =>
          `${t.system} at T=${t.temperature} (${t.judge}): mean ${t.mean.toFixed(3)}, Δ vs original ${pct(t.delta)} ${interval(t.ci95)}`,
      );
    case 'curriculum':
      return (result as EvalResults['curriculumAblation']).map(
        (a) =>
          `${a.curriculum} (${a.judge}): mean ${a.mean.toFixed(3)}, Δ vs original ${pct(a.delta)} ${interval(a.ci95)}`,
      );
    case 'iterations':
      return (result as Pick<EvalResults, 'iterations'>).iterations.map(
        (i) =>
          `${i.system} ${i.rule} t=${i.iteration} (${i.judge}): mean ${i.mean.toFixed(3)}, Δ vs original ${pct(i.delta)} ${interval(i.deltaCi95)}`,
      );
  }
}

/** `pitlab experiment <main|temperature|curriculum|iterations> [run options]`. */
export async function experimentCommand(args: string[]): Promise<number> {
  const [name, ...rest] = args;
  if (!name || !(name in EXPERIMENTS)) {
    throw new Error(
      `experiment: expected one of ${Object.keys(EXPERIMENTS).join(', ')}, got '${name ?? ''}'`,
    );
  }
  const opts = parseRunArgs(rest);
  const printer = progressPrinter();
  const { result } = await runExperiment(name as ExperimentName, {
    ...opts,
    onStatus: printer.onStatus,
    onProgress: printer.onProgress,
  });
  console.log(
    opts.json ? JSON.stringify(result) : experimentLines(name as ExperimentName, result).join('\n'),
  );
  return 0;
}
