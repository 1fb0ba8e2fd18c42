/** `pitlab run` and `pitlab graph`: the PIT pipeline from the terminal. */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { PROFILES, type Profile } from '../pit/config';
import type { GraphNode } from '../pit/graph';
import { pipelineGraph, type Results, runPipeline } from '../pit/pipeline';

const OPTIONS = {
  profile: { type: 'string', default: process.env.PITLAB_PROFILE ?? 'default' },
  seed: { type: 'string', default: '0' },
  out: { type: 'string' },
  data: { type: 'string' },
  format: { type: 'string' },
  config: { type: 'string' },
  json: { type: 'boolean', default: false },
} as const;

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
  return {
    profile: values.profile as Profile,
    seed,
    outDir: values.out ? path.resolve(values.out) : undefined,
    data: values.data ? { file: values.data, format: values.format } : undefined,
    overrides,
    json: values.json,
  };
}

/** One status line per stage; on a terminal the running stage's bar redraws in place. */
function progressPrinter() {
  const tty = process.stderr.isTTY;
  let current = '';
  return {
    onStatus(node: GraphNode) {
      if (node.status === 'running') {
        current = node.name;
        if (!tty) process.stderr.write(`▶ ${node.name} ...\n`);
        return;
      }
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
    },
    onProgress(stage: string, fraction: number, detail?: string) {
      if (!tty || stage !== current) return;
      const width = 30;
      const filled = Math.round(width * Math.max(0, Math.min(1, fraction)));
      const bar = `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`;
      process.stderr.write(
        `\r\x1b[K  ${stage.padEnd(16)} ${bar} ${(100 * fraction).toFixed(0).padStart(3)}% ${detail ?? ''}`,
      );
    },
  };
}

export function mainTable(r: Results): string {
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`.padStart(7);
  const lines = [
    `PIT on ${r.config.data.source === 'synthetic' ? 'the synthetic task' : r.config.data.source} (n = ${r.n}, profile ${r.profile}, seed ${r.seed}, ${r.backend})`,
    '',
  ];
  lines.push(
    `${'A'.padEnd(12)} ${'B'.padEnd(13)} ${'judge'.padEnd(9)} ${'win'.padStart(7)} ${'tie'.padStart(7)} ${'lose'.padStart(7)} ${'Δ'.padStart(7)}  95% CI`,
  );
  for (const c of r.comparisons) {
    lines.push(
      `${String(c.a).padEnd(12)} ${String(c.b).padEnd(13)} ${c.judge.padEnd(9)} ${pct(c.win)} ${pct(c.tie)} ${pct(c.lose)} ${pct(c.delta)}  [${pct(c.ci95[0]).trim()}, ${pct(c.ci95[1]).trim()}]`,
    );
  }
  const rm = r.rewardModels;
  lines.push(
    '',
    `R_P held-out accuracy ${rm.rp.heldoutAccuracy?.toFixed(3)} · R_PIT swap accuracy ${rm.rpit.swapAccuracy?.toFixed(3)} · mean |r(x,y,y)| ${rm.rpit.selfGapAbsMean?.toFixed(3)}`,
  );
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
