/**
 * Display helpers for notebooks: rows of plain objects as danfo tables, and plotly figures of
 * bars with intervals and of metric curves. Pure presentation; running the pipeline from a
 * notebook is `src/pit/notebook.ts`.
 */
import * as dfd from 'danfojs-node';
import type { Figure } from './data';

type Cell = string | number | boolean | null;

function formatCell(v: unknown, digits: number): Cell {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return String(v);
    return Number.isInteger(v) ? v : Number(v.toFixed(digits));
  }
  if (typeof v === 'string' || typeof v === 'boolean') return v;
  if (Array.isArray(v) && v.every((x) => typeof x === 'number')) {
    return `[${v.map((x) => (x as number).toFixed(digits)).join(', ')}]`;
  }
  return JSON.stringify(v);
}

/**
 * Rows of plain objects as a danfo DataFrame for display: numbers rounded to `digits`, number
 * arrays (confidence intervals) as "[lo, hi]", nested objects as JSON. Columns follow the
 * first row's keys, then any new keys in order of appearance.
 */
export function table(
  rows: ReadonlyArray<Record<string, unknown>>,
  opts: { digits?: number; columns?: readonly string[] } = {},
): dfd.DataFrame {
  const digits = opts.digits ?? 3;
  const columns = opts.columns ?? [...new Set(rows.flatMap((r) => Object.keys(r)))];
  if (rows.length === 0) return new dfd.DataFrame([], { columns: [...columns] });
  const data = rows.map((r) => columns.map((c) => formatCell(r[c], digits)));
  // Mixed columns (a number and a string) would upset danfo's dtype inference: stringify them.
  for (let c = 0; c < columns.length; c++) {
    const kinds = new Set(data.map((row) => (row[c] === null ? 'null' : typeof row[c])));
    kinds.delete('null');
    if (kinds.size > 1) for (const row of data) row[c] = row[c] === null ? null : String(row[c]);
  }
  return new dfd.DataFrame(data, { columns: [...columns] });
}

/** Bars with 95% CI error bars: one bar per row, labelled by `label(row)`. */
export function barCiFigure(
  rows: ReadonlyArray<{ mean: number; ci95: readonly [number, number] | number[] }>,
  label: (row: number) => string,
  opts: { title: string; yTitle: string; color?: (row: number) => string } = {
    title: '',
    yTitle: '',
  },
): Figure {
  return {
    data: [
      {
        type: 'bar',
        x: rows.map((_, i) => label(i)),
        y: rows.map((r) => r.mean),
        error_y: {
          type: 'data',
          symmetric: false,
          array: rows.map((r) => r.ci95[1]! - r.mean),
          arrayminus: rows.map((r) => r.mean - r.ci95[0]!),
        },
        ...(opts.color ? { marker: { color: rows.map((_, i) => opts.color!(i)) } } : {}),
      },
    ],
    layout: {
      title: { text: opts.title },
      yaxis: { title: { text: opts.yTitle } },
      showlegend: false,
    },
  };
}

/** One line of `curvesFigure`: column `key` of a metrics frame against its `step` column. */
export interface Curve {
  name: string;
  frame: dfd.DataFrame;
  key: string;
  /** Added to every step (to lay curriculum rounds end to end). @defaultValue 0 */
  stepOffset?: number;
  dash?: 'solid' | 'dash' | 'dot';
}

/** Several metric curves, possibly from different stages, on one chart. */
export function curvesFigure(
  curves: readonly Curve[],
  opts: { title: string; yTitle: string; xTitle?: string },
): Figure {
  const data = curves.flatMap((c) => {
    if (!c.frame.columns.includes(c.key)) return [];
    const steps = c.frame.column('step').values as number[];
    const values = c.frame.column(c.key).values as number[];
    const x: number[] = [];
    const y: number[] = [];
    values.forEach((v, i) => {
      if (Number.isFinite(v)) {
        x.push(steps[i]! + (c.stepOffset ?? 0));
        y.push(v);
      }
    });
    return [
      {
        type: 'scatter',
        mode: 'lines+markers',
        name: c.name,
        x,
        y,
        ...(c.dash ? { line: { dash: c.dash } } : {}),
      },
    ];
  });
  return {
    data,
    layout: {
      title: { text: opts.title },
      xaxis: { title: { text: opts.xTitle ?? 'step' } },
      yaxis: { title: { text: opts.yTitle } },
    },
  };
}
