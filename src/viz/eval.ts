/**
 * Plotly figure builders (plain {data, layout} objects) for evaluation results: win / tie / lose
 * with Δ and its CI, score against sampling temperature (the PIT paper's Figure 3), ELO over
 * improvement iterations (Table 3 as a chart) and overlaid reward distributions (Figure 2).
 */
import type { Comparison } from '../eval/compare';
import type { EloResult } from '../eval/elo';
import type { Figure } from './data';

/** Plotly's default colour cycle, spelled out so a line and its CI band share one colour. */
const PALETTE = [
  '#1f77b4',
  '#ff7f0e',
  '#2ca02c',
  '#d62728',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#7f7f7f',
  '#bcbd22',
  '#17becf',
];

const colour = (i: number) => PALETTE[i % PALETTE.length]!;

/** `#rrggbb` with an alpha, for translucent bands. */
function translucent(hex: string, alpha: number): string {
  const v = Number.parseInt(hex.slice(1), 16);
  return `rgba(${(v >> 16) & 255}, ${(v >> 8) & 255}, ${v & 255}, ${alpha})`;
}

const pct = (x: number) => Math.round(x * 1000) / 10;

/** A comparison with enough to name it: `a`, `b` and `judge` as in results.json, or a `label`. */
export type LabelledComparison = Comparison & {
  a?: string;
  b?: string;
  judge?: string;
  label?: string;
};

function comparisonLabel(c: LabelledComparison, i: number): string {
  if (c.label) return c.label;
  if (c.a && c.b) return `${c.a} vs ${c.b}${c.judge ? ` (${c.judge})` : ''}`;
  return `comparison ${i + 1}`;
}

/**
 * Stacked horizontal win / tie / lose bars (percent of rows) per comparison, with Δ and its 95%
 * CI as points with error bars on a second panel that shares the rows.
 */
export function winTieLoseFigure(comparisons: LabelledComparison[]): Figure {
  const labels = comparisons.map(comparisonLabel);
  const bar = (key: 'win' | 'tie' | 'lose', color: string) => ({
    type: 'bar',
    orientation: 'h',
    name: key,
    y: labels,
    x: comparisons.map((c) => pct(c[key])),
    marker: { color },
    text: comparisons.map((c) => `${pct(c[key])}%`),
    textposition: 'inside',
    xaxis: 'x',
    yaxis: 'y',
  });
  const delta = {
    type: 'scatter',
    mode: 'markers',
    name: 'Δ = win − lose (95% CI)',
    y: labels,
    x: comparisons.map((c) => pct(c.delta)),
    error_x: {
      type: 'data',
      symmetric: false,
      array: comparisons.map((c) => pct(c.ci95[1] - c.delta)),
      arrayminus: comparisons.map((c) => pct(c.delta - c.ci95[0])),
    },
    marker: { color: '#222', size: 9 },
    text: comparisons.map(
      (c) => `Δ ${pct(c.delta)} [${pct(c.ci95[0])}, ${pct(c.ci95[1])}], n = ${c.n}`,
    ),
    hoverinfo: 'text',
    xaxis: 'x2',
    yaxis: 'y',
  };
  return {
    data: [bar('win', '#2ca02c'), bar('tie', '#bbbbbb'), bar('lose', '#d62728'), delta],
    layout: {
      title: { text: 'Win / tie / lose and Δ with 95% bootstrap CI' },
      barmode: 'stack',
      xaxis: { domain: [0, 0.6], range: [0, 100], title: { text: '% of rows' } },
      xaxis2: {
        domain: [0.68, 1],
        range: [-100, 100],
        zeroline: true,
        title: { text: 'Δ (points)' },
      },
      yaxis: { automargin: true, autorange: 'reversed' },
      legend: { orientation: 'h', y: -0.2 },
    },
  };
}

/** One line of a temperature sweep: mean score (or Δ) per temperature with its CI. */
export interface TemperatureSeries {
  name: string;
  points: Array<{ temperature: number; mean: number; ci95: [number, number] }>;
}

/** Mean judge score against sampling temperature, one line per system with a shaded 95% CI. */
export function temperatureFigure(
  series: TemperatureSeries[],
  opts: { yTitle?: string; title?: string } = {},
): Figure {
  const data: Array<Record<string, unknown>> = [];
  series.forEach((s, i) => {
    const pts = [...s.points].sort((p, q) => p.temperature - q.temperature);
    const t = pts.map((p) => p.temperature);
    data.push({
      type: 'scatter',
      mode: 'lines',
      name: `${s.name} 95% CI`,
      x: [...t, ...[...t].reverse()],
      y: [...pts.map((p) => p.ci95[1]), ...pts.map((p) => p.ci95[0]).reverse()],
      fill: 'toself',
      fillcolor: translucent(colour(i), 0.2),
      line: { width: 0 },
      hoverinfo: 'skip',
      showlegend: false,
      legendgroup: s.name,
    });
    data.push({
      type: 'scatter',
      mode: 'lines+markers',
      name: s.name,
      x: t,
      y: pts.map((p) => p.mean),
      line: { color: colour(i) },
      legendgroup: s.name,
    });
  });
  return {
    data,
    layout: {
      title: { text: opts.title ?? 'Score against sampling temperature (95% CI)' },
      xaxis: { title: { text: 'temperature' } },
      yaxis: { title: { text: opts.yTitle ?? 'mean judge score' } },
    },
  };
}

/** ELO ratings of one system across improvement iterations. */
export interface EloSeries {
  name: string;
  iterations: number[];
  rating: number[];
  ci95: Array<[number, number]>;
}

const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Splits an `EloResult` into one series per system, reading players named `<system>_<t>` or
 * `<system> t=<t>` (e.g. `pit_0` … `pit_5`, `self_refine t=1` …). Other players are left out.
 */
export function eloSeries(
  result: Pick<EloResult, 'players' | 'rating' | 'ci95'>,
  systems: string[],
): EloSeries[] {
  return systems.map((name) => {
    const pattern = new RegExp(`^${escapeRegex(name)}(?:_| t=)(\\d+)$`);
    const rows = result.players
      .map((p, i) => ({ m: pattern.exec(p), i }))
      .filter((r) => r.m !== null)
      .map((r) => ({ t: Number(r.m![1]), i: r.i }))
      .sort((x, y) => x.t - y.t);
    return {
      name,
      iterations: rows.map((r) => r.t),
      rating: rows.map((r) => result.rating[r.i]!),
      ci95: rows.map((r) => result.ci95[r.i]!),
    };
  });
}

/** ELO against improvement iteration for several systems, with 95% CI error bars. */
export function eloFigure(series: EloSeries[], opts: { title?: string } = {}): Figure {
  return {
    data: series.map((s, i) => ({
      type: 'scatter',
      mode: 'lines+markers',
      name: s.name,
      x: s.iterations,
      y: s.rating,
      line: { color: colour(i) },
      error_y: {
        type: 'data',
        symmetric: false,
        array: s.rating.map((r, k) => s.ci95[k]![1] - r),
        arrayminus: s.rating.map((r, k) => r - s.ci95[k]![0]),
      },
    })),
    layout: {
      title: { text: opts.title ?? 'ELO over improvement iterations (95% CI)' },
      xaxis: { title: { text: 'iteration' }, dtick: 1 },
      yaxis: { title: { text: 'ELO' } },
    },
  };
}

/** One distribution to overlay, e.g. R_P of y_w, y_l, M_P^RL samples or PIT outputs. */
export interface RewardSeries {
  name: string;
  values: ArrayLike<number>;
}

/**
 * Overlaid, normalised histograms of rewards, one per series, as in the PIT paper's Figure 2.
 * Densities, not counts, so series of different sizes compare by shape. Bins: `bins` when
 * given, else at most `nbins` (default 40) chosen by plotly.
 */
export function rewardHistogram(
  series: RewardSeries[],
  opts: {
    title?: string;
    xTitle?: string;
    bins?: { start: number; end: number; size: number };
    nbins?: number;
  } = {},
): Figure {
  return {
    data: series.map((s, i) => ({
      type: 'histogram',
      name: `${s.name} (n = ${s.values.length})`,
      x: Array.from(s.values),
      histnorm: 'probability density',
      opacity: 0.55,
      marker: { color: colour(i) },
      ...(opts.bins ? { xbins: opts.bins } : { nbinsx: opts.nbins ?? 40 }),
    })),
    layout: {
      title: { text: opts.title ?? 'Reward distributions' },
      barmode: 'overlay',
      xaxis: { title: { text: opts.xTitle ?? 'reward' } },
      yaxis: { title: { text: 'density' } },
    },
  };
}

/** Lines with markers, one per series, with asymmetric error bars where a series has `err` [lo, hi]. */
export function lineFigure(
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
