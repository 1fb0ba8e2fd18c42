/** What `report.html` shows: tables and figures built from results.json and the stage metrics. */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { readMetrics } from '../train/metrics';
import type { Figure } from '../viz/data';
import type { Results } from './pipeline';
import { type ReportSection, type ReportTable, renderReport } from './report';

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const ci = (c: [number, number], f = pct) => `[${f(c[0])}, ${f(c[1])}]`;

function line(
  title: string,
  series: Array<{ name: string; x: number[]; y: number[]; err?: number[][] }>,
  xTitle: string,
  yTitle: string,
): Figure {
  return {
    data: series.map((s) => ({
      type: 'scatter',
      mode: 'lines+markers',
      name: s.name,
      x: s.x,
      y: s.y,
      ...(s.err
        ? {
            error_y: {
              type: 'data',
              symmetric: false,
              array: s.err.map((e, i) => e[1]! - s.y[i]!),
              arrayminus: s.err.map((e, i) => s.y[i]! - e[0]!),
            },
          }
        : {}),
    })),
    layout: {
      title: { text: title },
      xaxis: { title: { text: xTitle } },
      yaxis: { title: { text: yTitle } },
    },
  };
}

function histogram(title: string, series: Record<string, number[]>, xTitle: string): Figure {
  return {
    data: Object.entries(series).map(([name, x]) => ({
      type: 'histogram',
      name,
      x,
      opacity: 0.55,
      nbinsx: 20,
    })),
    layout: {
      title: { text: title },
      barmode: 'overlay',
      xaxis: { title: { text: xTitle } },
      yaxis: { title: { text: 'rows' } },
    },
  };
}

/** Metrics files a stage kept in its artifact dir. */
function metricsFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.metrics.jsonl'))
    .sort()
    .map((f) => path.join(dir, f));
}

function curves(
  dirOf: (stage: string) => string,
  stage: string,
  keys: string[],
): ReportSection['figures'] {
  const figures: NonNullable<ReportSection['figures']> = [];
  for (const file of metricsFiles(dirOf(stage))) {
    const rows = readMetrics(file);
    const label = path.basename(file, '.metrics.jsonl');
    for (const key of keys) {
      const pts = rows.filter((r) => typeof (r as Record<string, unknown>)[key] === 'number');
      if (pts.length === 0) continue;
      figures.push({
        title: `${stage} · ${label} · ${key}`,
        figure: line(
          key,
          [
            {
              name: key,
              x: pts.map((r) => r.step),
              y: pts.map((r) => (r as Record<string, number>)[key]!),
            },
          ],
          'step',
          key,
        ),
      });
    }
  }
  return figures;
}

export function buildReport(r: Results, dirOf: (stage: string) => string): string {
  const cmpTable: ReportTable = {
    title: 'Main table: pairwise comparisons (Δ = win − lose, 95% bootstrap CI over prompts)',
    columns: ['A', 'B', 'judge', 'n', 'win', 'tie', 'lose', 'Δ', '95% CI'],
    rows: r.comparisons.map((c) => [
      c.a,
      c.b,
      c.judge,
      c.n,
      pct(c.win),
      pct(c.tie),
      pct(c.lose),
      pct(c.delta),
      ci(c.ci95),
    ]),
  };
  const meanTable: ReportTable = {
    title: 'Mean judge score per system',
    columns: ['system', 'judge', 'mean', '95% CI'],
    rows: r.meanScores.map((m) => [m.system, m.judge, m.mean, ci(m.ci95, (x) => x.toFixed(3))]),
  };
  const rmTable: ReportTable = {
    title: 'Reward models (held-out)',
    columns: ['model', 'metric', 'value'],
    rows: [
      ['R_P', 'pairwise accuracy', r.rewardModels.rp.heldoutAccuracy],
      ['R_PIT', 'swap accuracy', r.rewardModels.rpit.swapAccuracy],
      ['R_PIT', 'mean |r(x, y, y)|', r.rewardModels.rpit.selfGapAbsMean],
      ['judge RM', 'pairwise accuracy', r.rewardModels.judge.heldoutAccuracy],
    ],
  };
  const stageTable: ReportTable = {
    title: 'Stages',
    columns: ['stage', 'seconds', 'cached'],
    rows: Object.entries(r.stages).map(([s, v]) => [s, v.seconds, v.cached ? 'yes' : 'no']),
  };
  const lead = r.judges[0]!;
  const sweep = ['pit', 'self_refine'].map((system) => {
    const rows = r.temperatureSweep.filter((t) => t.system === system);
    return {
      name: system,
      x: rows.map((t) => t.temperature),
      y: rows.map((t) => t.delta),
      err: rows.map((t) => t.ci95),
    };
  });
  const iter = (system: string, rule: string) => {
    const rows = r.iterations.filter(
      (t) => t.system === system && t.rule === rule && t.judge === lead,
    );
    return {
      name: `${system} (${rule})`,
      x: rows.map((t) => t.iteration),
      y: rows.map((t) => t.mean),
      err: rows.map((t) => t.ci95),
    };
  };
  const eloLead = r.elo.find((e) => e.judge === lead);
  const eloSeries = ['pit', 'self_refine'].map((system) => {
    const idx = (eloLead?.players ?? [])
      .map((p, i) => [p, i] as const)
      .filter(([p]) => p.startsWith(`${system} t=`));
    return {
      name: system,
      x: idx.map(([p]) => Number(p.split('t=')[1])),
      y: idx.map(([, i]) => eloLead!.rating[i]!),
      err: idx.map(([, i]) => eloLead!.ci95[i]!),
    };
  });
  const ablation: ReportTable = {
    title: 'Curriculum ablation: improver applied once to y_0, against y_0',
    columns: ['curriculum', 'judge', 'mean', 'Δ vs original', '95% CI'],
    rows: r.curriculumAblation.map((a) => [
      a.curriculum,
      a.judge,
      a.mean,
      pct(a.delta),
      ci(a.ci95),
    ]),
  };
  const examples: ReportTable = {
    title: 'Examples (scores under the lead judge)',
    columns: ['prompt', 'original', 'PIT', 'Self-Refine'],
    rows: r.examples.map((e) => [
      e.prompt,
      `${e.original} (${e.scores.original?.toFixed(2)})`,
      `${e.pit} (${e.scores.pit?.toFixed(2)})`,
      `${e.selfRefine} (${e.scores.self_refine?.toFixed(2)})`,
    ]),
  };
  const sections: ReportSection[] = [
    { title: 'Results', tables: [cmpTable, meanTable, ablation] },
    {
      title: 'Reward distributions (Figure 2)',
      figures: [
        { title: `${lead} scores`, figure: histogram(`${lead} score`, r.distributions, 'score') },
      ],
    },
    {
      title: 'Temperature (Figure 3) and iterations',
      figures: [
        {
          title: `Δ vs original by temperature (${lead})`,
          figure: line('Δ vs original', sweep, 'temperature', 'Δ'),
        },
        {
          title: `Mean ${lead} score by iteration`,
          figure: line(
            'mean score',
            [iter('pit', 'fixed'), iter('pit', 'gap'), iter('self_refine', 'fixed')],
            'iteration',
            'mean score',
          ),
        },
        {
          title: `ELO over iterations (${lead})`,
          figure: line('ELO', eloSeries, 'iteration', 'rating'),
        },
      ],
      text: `Gap stopping rule: ${r.gapRuleMeanIterations.toFixed(2)} iterations used on average.`,
    },
    {
      title: 'Training (Figure 4: the gap reward during the curriculum rounds)',
      tables: [rmTable, stageTable],
      figures: [
        ...(curves(dirOf, 'pit_rl', [
          'pit/gap_reward_mean',
          'pit/positive_gap_frac',
          'objective/kl',
        ]) ?? []),
        ...(curves(dirOf, 'sft_mp', ['loss']) ?? []),
        ...(curves(dirOf, 'rm_rp', ['accuracy']) ?? []),
        ...(curves(dirOf, 'rm_rpit', ['loss']) ?? []),
        ...(curves(dirOf, 'rl_mp', [
          'objective/scores',
          'objective/kl',
          'objective/entropy',
          'policy/clipfrac_avg',
          'response/length_mean',
        ]) ?? []),
      ],
    },
    { title: 'Examples', tables: [examples] },
  ];
  return renderReport(
    'pitlab: PIT on ' +
      (r.config.data.source === 'synthetic'
        ? 'the synthetic task'
        : path.basename(r.config.data.source)),
    `profile ${r.profile} · seed ${r.seed} · backend ${r.backend} · pitlab ${r.versions.pitlab} · tfjs ${r.versions.tfjs} · n = ${r.n}`,
    sections,
  );
}
