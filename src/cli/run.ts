/** `pitlab run`, `graph` and `experiment`: the PIT pipeline from the terminal. */
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { FORMATS } from '../data/load';
import { PROFILES } from '../pit/config';
import type { EvalResults } from '../pit/experiments';
import type { GraphNode } from '../pit/graph';
import type { Agreement, LossAblation } from '../pit/loss_ablation';
import { pipelineGraph, type RunOptions, runExperiment, runPipeline } from '../pit/pipeline';
import type { HeldOutSplits, Results } from '../pit/results';
import { EXPERIMENTS, type ExperimentName } from '../pit/stages';
import { type CommandHelp, numberArg, oneOf, parseOptions, printedHelp, UsageError } from './args';

/** Options of `run`, `graph` and `experiment` alike; the accepted values are the library's. */
const RUN_OPTIONS = {
  profile: {
    type: 'string',
    default: process.env.PITLAB_PROFILE ?? 'default',
    arg: 'P',
    help: `config profile: ${PROFILES.join(', ')} (default: $PITLAB_PROFILE, else default)`,
  },
  seed: { type: 'string', arg: 'N', help: 'seed of every stage (default: 0)' },
  out: {
    type: 'string',
    arg: 'DIR',
    help: 'results directory (default: runs/<profile>-seed<N>-<config key>)',
  },
  data: {
    type: 'string',
    arg: 'FILE',
    help: 'a preference file to run on instead of the bundled synthetic task',
  },
  format: {
    type: 'string',
    arg: 'F',
    help: `format of --data: ${FORMATS.join(', ')} (default: from the file name)`,
  },
  config: {
    type: 'string',
    arg: 'JSON',
    help: 'partial config merged over the profile, e.g. \'{"sft":{"maxSteps":100}}\'',
  },
  cache: {
    type: 'string',
    arg: 'DIR',
    help: 'stage cache (default: $PITLAB_CACHE, else .cache/stages)',
  },
  jobs: {
    type: 'string',
    arg: 'N',
    help:
      'cores to keep busy: stages at once, each in its own process; a stage with threads counts ' +
      'each (default: one per core, at most 4)',
  },
  json: { type: 'boolean', default: false, help: 'print JSON instead of text' },
} as const;

export const RUN_HELP: CommandHelp = {
  name: 'run',
  synopsis: '[options]',
  summary: 'run the PIT pipeline (cached stages) and write results.json and report.html',
  options: RUN_OPTIONS,
};

export const GRAPH_HELP: CommandHelp = {
  name: 'graph',
  synopsis: '[options]',
  summary: "show the stage graph with each stage's status (cached or stale); runs nothing",
  options: RUN_OPTIONS,
};

export const EXPERIMENT_HELP: CommandHelp = {
  name: 'experiment',
  synopsis: `${Object.keys(EXPERIMENTS).join('|')} [options]`,
  summary: 'run one experiment (and only the stages it needs) and print its rows',
  options: RUN_OPTIONS,
};

/** Independent stages at once: one per core, up to the graph's width (4 stages overlap at most). */
const DEFAULT_JOBS = Math.min(4, availableParallelism());

/**
 * The run options from the command line, every value checked before any work; seed and jobs
 * ranges are checked by the library.
 */
function parseRunArgs(args: string[], allowPositionals = false) {
  const { values, positionals } = parseOptions(args, RUN_OPTIONS, allowPositionals);
  const profile = oneOf('--profile', values.profile, PROFILES);
  if (values.format !== undefined && values.data === undefined) {
    throw new UsageError('--format applies to --data FILE, and no --data was given');
  }
  const format =
    values.format === undefined ? undefined : oneOf('--format', values.format, FORMATS);
  let overrides: unknown = {};
  if (values.config) {
    try {
      overrides = JSON.parse(values.config);
    } catch (err) {
      throw new UsageError(`--config must be JSON (${(err as Error).message})`);
    }
  }
  const run: RunOptions = {
    profile,
    seed: numberArg('--seed', values.seed),
    jobs: numberArg('--jobs', values.jobs) ?? DEFAULT_JOBS,
    outDir: values.out ? path.resolve(values.out) : undefined,
    data: values.data ? { file: values.data, format } : undefined,
    overrides,
    // The library falls back to $PITLAB_CACHE, then .cache/stages.
    cacheDir: values.cache ? path.resolve(values.cache) : undefined,
  };
  return { run, json: values.json, positionals };
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
  if (printedHelp(args, RUN_HELP)) return 0;
  const { run: options, json } = parseRunArgs(args);
  const printer = progressPrinter();
  const t0 = performance.now();
  const run = await runPipeline({
    ...options,
    onStatus: printer.onStatus,
    onProgress: printer.onProgress,
  });
  const seconds = (performance.now() - t0) / 1000;
  if (json) {
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
  if (printedHelp(args, GRAPH_HELP)) return 0;
  const { run: options, json } = parseRunArgs(args);
  const nodes = pipelineGraph(options);
  if (json) {
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
    case 'loss': {
      const r = result as LossAblation;
      const cell = (a: Agreement) =>
        `${a.mean.toFixed(3)} [${a.ci95[0].toFixed(3)}, ${a.ci95[1].toFixed(3)}] of ${a.n}`;
      return r.rows.flatMap((row) => [
        `${row.model}: held-out pairs valid ${cell(row.pairs.valid)}, test ${cell(row.pairs.test)}`,
        `${''.padEnd(row.model.length)}  M_PIT^SFT's edits (${r.judge}) valid ${cell(row.edits.valid)}, test ${cell(row.edits.test)}`,
      ]);
    }
  }
}

/** `pitlab experiment <main|temperature|curriculum|iterations> [run options]`. */
export async function experimentCommand(args: string[]): Promise<number> {
  if (printedHelp(args, EXPERIMENT_HELP)) return 0;
  const { run: options, json, positionals } = parseRunArgs(args, true);
  const experiments = Object.keys(EXPERIMENTS) as ExperimentName[];
  if (positionals.length !== 1) {
    const got = positionals.length ? positionals.join(' ') : 'none';
    throw new UsageError(`expected one experiment (${experiments.join(', ')}), got ${got}`);
  }
  const name = oneOf('experiment', positionals[0]!, experiments);
  const printer = progressPrinter();
  const { result } = await runExperiment(name, {
    ...options,
    onStatus: printer.onStatus,
    onProgress: printer.onProgress,
  });
  console.log(json ? JSON.stringify(result) : experimentLines(name, result).join('\n'));
  return 0;
}
