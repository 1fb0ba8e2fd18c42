/** What `report.html` shows: tables and figures built from results.json and the stage metrics. */
import path from 'node:path';
import { type MetricName, readMetrics } from '../../train/metrics';
import {
  eloFigure,
  eloSeries,
  lineFigure,
  rewardHistogram,
  temperatureFigure,
} from '../../viz/eval';
import { metricFigure } from '../../viz/training';
import type { HeldOutSplits, Results } from '../results';
import { metricsFiles } from '../stages/artifacts';
import { type ReportSection, type ReportTable, renderReport } from './render';

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const ci = (c: [number, number], f = pct) => `[${f(c[0])}, ${f(c[1])}]`;

/** One figure per metric key and metrics file, for the keys the file has. */
function curves(
  dirOf: (stage: string) => string,
  stage: string,
  keys: MetricName[],
): ReportSection['figures'] {
  const figures: NonNullable<ReportSection['figures']> = [];
  for (const { file, label } of metricsFiles(dirOf(stage))) {
    const rows = readMetrics(file);
    for (const key of keys) {
      const figure = metricFigure(rows, [key], key, { yTitle: key });
      if (figure.data.length === 0) continue;
      figures.push({ title: `${stage} · ${label} · ${key}`, figure });
    }
  }
  return figures;
}

/** A response with its score; no score where none exists (Self-Refine on real data). */
const withScore = (text: string, score: number | null | undefined) =>
  typeof score === 'number' && Number.isFinite(score) ? `${text} (${score.toFixed(2)})` : text;

/** The main table, the mean scores, RLHF's effect and the curriculum ablation. */
function resultsSection(r: Results): ReportSection {
  const cmpTable: ReportTable = {
    title:
      'Main table: pairwise comparisons (Δ = win − lose, 95% bootstrap CI over prompts; n counts prompts × draws of y_0)',
    columns: ['A', 'B', 'judge', 'n', 'win', 'tie', 'lose', 'Δ', '95% CI', 'win rate', '95% CI'],
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
      pct(c.winRate),
      ci(c.winRateCi95),
    ]),
  };
  const rlhfTable: ReportTable = {
    title: 'RLHF of M_P: M_P^SFT and M_P^RL sampled alike (mean score; Δ of RL vs SFT)',
    columns: ['judge', 'temperature', 'M_P^SFT', '95% CI', 'M_P^RL', '95% CI', 'Δ', '95% CI'],
    rows: (r.rlhf ?? []).map((row) => [
      row.judge,
      row.temperature,
      row.sft.mean,
      ci(row.sft.ci95, (x) => x.toFixed(3)),
      row.rl.mean,
      ci(row.rl.ci95, (x) => x.toFixed(3)),
      pct(row.rlVsSft.delta),
      ci(row.rlVsSft.ci95),
    ]),
  };
  const meanTable: ReportTable = {
    title: 'Mean judge score per system',
    columns: ['system', 'judge', 'mean', '95% CI'],
    rows: r.meanScores.map((m) => [m.system, m.judge, m.mean, ci(m.ci95, (x) => x.toFixed(3))]),
  };
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
  return { title: 'Results', tables: [cmpTable, meanTable, rlhfTable, ablation] };
}

/** Held-out metrics of the reward models, pooled and per split, and on PIT's own edits. */
function rewardModelTable(r: Results): ReportTable {
  const rms = r.rewardModels;
  // each split's own value beside the pooled one
  const splitRows = (model: string, metric: string, s: HeldOutSplits): ReportTable['rows'] => [
    [model, `${metric}, valid split only`, s.valid, '', ''],
    [model, `${metric}, test split only`, s.test, '', ''],
  ];
  const accCi = (c: [number, number] | undefined) => (c ? ci(c, (x) => x.toFixed(3)) : '');
  return {
    title: 'Reward models (held-out)',
    columns: ['model', 'metric', 'value', '95% CI (Wilson)', 'pairs'],
    rows: [
      [
        'R_P',
        'pairwise accuracy',
        rms.rp.heldoutAccuracy,
        accCi(rms.rp.heldoutAccuracyCi95),
        rms.rp.heldoutPairs,
      ],
      [
        'R_PIT',
        'swap accuracy',
        rms.rpit.swapAccuracy,
        accCi(rms.rpit.swapAccuracyCi95),
        rms.rpit.heldoutPairs,
      ],
      ['R_PIT', 'mean |r(x, y, y)|', rms.rpit.selfGapAbsMean, '', rms.rpit.heldoutPairs],
      ...splitRows('R_P', 'pairwise accuracy', rms.rp.bySplit),
      ...splitRows('R_PIT', 'swap accuracy', rms.rpit.bySplit),
      [
        'judge RM',
        'pairwise accuracy',
        rms.judge.heldoutAccuracy,
        accCi(rms.judge.heldoutAccuracyCi95),
        rms.judge.heldoutPairs,
      ],
      // the same models on PIT's own edits of M_P^RL's responses (test rows the judge changed)
      [
        'R_PIT',
        `agreement with ${r.rewardAgreement.judge} on PIT's edits`,
        r.rewardAgreement.rpit.accuracy,
        accCi(r.rewardAgreement.rpit.ci95),
        r.rewardAgreement.rpit.edits,
      ],
      [
        'R_P',
        `agreement with ${r.rewardAgreement.judge} on PIT's edits`,
        r.rewardAgreement.rp.accuracy,
        accCi(r.rewardAgreement.rp.ci95),
        r.rewardAgreement.rp.edits,
      ],
      ...validationAgreementRows(r, accCi),
    ],
  };
}

/** The same agreement on validation prompts, measured by PIT RL on its kept improver's edits. */
function validationAgreementRows(
  r: Results,
  accCi: (c: [number, number] | undefined) => string,
): ReportTable['rows'] {
  const v = r.pitRl.validationAgreement;
  if (!v) return [];
  const metric = `agreement with ${v.judge} on the improver's validation edits`;
  return [
    ['R_PIT', metric, v.rpit.accuracy, accCi(v.rpit.ci95), v.rpit.edits],
    ['R_P', metric, v.rp.accuracy, accCi(v.rp.ci95), v.rp.edits],
  ];
}

function stagesTable(r: Results): ReportTable {
  return {
    title: 'Stages',
    columns: ['stage', 'seconds', 'cached', 'peak RSS (MB)'],
    rows: Object.entries(r.stages).map(([s, v]) => [
      s,
      v.seconds,
      v.cached ? 'yes' : 'no',
      v.peakRssMb ?? '',
    ]),
  };
}

/** Score distributions, the temperature sweep, iterations and ELO under the lead judge. */
function evaluationSections(r: Results): ReportSection[] {
  const lead = r.judges[0]!;
  const sweep = ['pit', 'self_refine'].map((system) => ({
    name: system,
    points: r.temperatureSweep
      .filter((t) => t.system === system)
      .map((t) => ({ temperature: t.temperature, mean: t.delta, ci95: t.ci95 })),
  }));
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
  const eloLead = r.elo.find((e) => e.judge === lead) ?? { players: [], rating: [], ci95: [] };
  return [
    {
      title: 'Reward distributions (Figure 2)',
      figures: [
        {
          title: `${lead} scores`,
          figure: rewardHistogram(
            Object.entries(r.distributions).map(([name, values]) => ({ name, values })),
            { title: `${lead} score`, xTitle: 'score', nbins: 20 },
          ),
        },
      ],
    },
    {
      title: 'Temperature (Figure 3) and iterations',
      figures: [
        {
          title: `Δ vs original by temperature (${lead})`,
          figure: temperatureFigure(sweep, { title: 'Δ vs original', yTitle: 'Δ' }),
        },
        {
          title: `Mean ${lead} score by iteration`,
          figure: lineFigure(
            'mean score',
            [iter('pit', 'fixed'), iter('pit', 'gap'), iter('self_refine', 'fixed')],
            'iteration',
            'mean score',
          ),
        },
        {
          title: `ELO over iterations (${lead})`,
          figure: eloFigure(eloSeries(eloLead, ['pit', 'self_refine']), { title: 'ELO' }),
        },
      ],
      text: `Gap stopping rule: ${r.gapRuleMeanIterations.toFixed(2)} iterations used on average.`,
    },
  ];
}

/** Reward-model and stage tables, and the stages' training curves. */
function trainingSection(r: Results, dirOf: (stage: string) => string): ReportSection {
  return {
    title: 'Training (Figure 4: the gap reward during the curriculum rounds)',
    tables: [rewardModelTable(r), stagesTable(r)],
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
  };
}

function examplesSection(r: Results): ReportSection {
  const examples: ReportTable = {
    title: 'Examples (scores under the lead judge)',
    columns: ['prompt', 'original', 'PIT', 'Self-Refine'],
    rows: r.examples.map((e) => [
      e.prompt,
      withScore(e.original, e.scores.original),
      withScore(e.pit, e.scores.pit),
      withScore(e.selfRefine, e.scores.self_refine),
    ]),
  };
  return { title: 'Examples', tables: [examples] };
}

export function buildReport(r: Results, dirOf: (stage: string) => string): string {
  const sections: ReportSection[] = [
    resultsSection(r),
    ...evaluationSections(r),
    trainingSection(r, dirOf),
    examplesSection(r),
  ];
  return renderReport(
    'pitlab: PIT on ' +
      (r.config.data.source === 'synthetic'
        ? 'the synthetic task'
        : path.basename(r.config.data.source)),
    `profile ${r.profile} · seed ${r.seed} · backend ${r.backend} · pitlab ${r.versions.pitlab} · tfjs ${r.versions.tfjs} · ${r.prompts} test prompts × ${r.samples} draws of y_0`,
    sections,
  );
}
