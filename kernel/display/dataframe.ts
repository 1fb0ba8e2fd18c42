/**
 * danfo.js `DataFrame` and `Series` as MIME bundles: an escaped HTML table with shape, dtypes
 * and a head/tail row limit, plus a `text/plain` grid. `application/vnd.dataresource+json` is
 * left out on purpose: VS Code renders it blank (microsoft/vscode-jupyter#15004).
 */
import { escapeHtml } from '../../src/viz/html';
import type { MimeBundle } from '../protocol';

export { escapeHtml };

/** The parts of danfo's DataFrame and Series this module reads (duck-typed, no import). */
export interface FrameLike {
  shape: number[];
  columns: string[];
  dtypes: string[];
  index: (string | number)[];
  values: unknown[];
  ndim: number;
}

export interface TableOptions {
  /** Rows shown from each end when the frame is longer than `2 * edgeRows`. @defaultValue 5 */
  edgeRows?: number;
  /** Columns shown at most. @defaultValue 20 */
  maxColumns?: number;
}

/** True for danfo DataFrame/Series instances (or anything with the same shape). */
export function isFrameLike(v: unknown): v is FrameLike {
  if (typeof v !== 'object' || v === null) return false;
  const name = v.constructor?.name;
  if (name !== 'DataFrame' && name !== 'Series') return false;
  const f = v as Partial<FrameLike>;
  return Array.isArray(f.shape) && Array.isArray(f.columns) && Array.isArray(f.dtypes);
}

function cell(v: unknown): string {
  if (v === null || v === undefined) return String(v);
  if (typeof v === 'number')
    return Number.isInteger(v) ? String(v) : v.toPrecision(6).replace(/\.?0+$/, '');
  return String(v);
}

/** Row numbers to show, with `null` marking the elided middle. */
function pickRows(n: number, edge: number): (number | null)[] {
  if (n <= 2 * edge) return [...Array(n).keys()];
  return [...Array(edge).keys(), null, ...Array.from({ length: edge }, (_, i) => n - edge + i)];
}

/** Builds the bundle for a danfo DataFrame or Series. */
export function frameBundle(frame: FrameLike, options: TableOptions = {}): MimeBundle {
  const edge = options.edgeRows ?? 5;
  const maxCols = options.maxColumns ?? 20;
  const isSeries = frame.ndim === 1;
  const kind = isSeries ? 'Series' : 'DataFrame';
  const nRows = frame.shape[0] ?? 0;
  const columns = frame.columns.slice(0, maxCols);
  const hiddenCols = frame.columns.length - columns.length;
  const rowValues = (r: number): unknown[] =>
    isSeries ? [frame.values[r]] : ((frame.values[r] as unknown[]) ?? []).slice(0, maxCols);
  const rows = pickRows(nRows, edge);
  const shape = isSeries ? `${nRows}` : `${nRows} × ${frame.columns.length}`;
  const caption = `${kind} (${shape})${hiddenCols > 0 ? `, ${hiddenCols} more columns not shown` : ''}`;

  const th = (s: string) => `<th>${escapeHtml(s)}</th>`;
  const head = `<tr><th></th>${columns.map(th).join('')}</tr>`;
  const types = `<tr class="dtypes"><th></th>${frame.dtypes
    .slice(0, maxCols)
    .map((d) => `<td><i>${escapeHtml(d)}</i></td>`)
    .join('')}</tr>`;
  const body = rows
    .map((r) =>
      r === null
        ? `<tr><th>…</th>${columns.map(() => '<td>…</td>').join('')}</tr>`
        : `<tr>${th(cell(frame.index[r]))}${rowValues(r)
            .map((v) => `<td>${escapeHtml(cell(v))}</td>`)
            .join('')}</tr>`,
    )
    .join('');
  const html =
    `<div class="pitlab-frame"><table border="1" class="dataframe">` +
    `<caption style="caption-side:bottom;text-align:left">${escapeHtml(caption)}</caption>` +
    `<thead>${head}${types}</thead><tbody>${body}</tbody></table></div>`;

  return { 'text/html': html, 'text/plain': frameText(frame, rows, columns, rowValues, caption) };
}

function frameText(
  frame: FrameLike,
  rows: (number | null)[],
  columns: string[],
  rowValues: (r: number) => unknown[],
  caption: string,
): string {
  const grid: string[][] = [
    ['', ...columns],
    ['', ...frame.dtypes.slice(0, columns.length)],
  ];
  for (const r of rows) {
    grid.push(
      r === null
        ? ['…', ...columns.map(() => '…')]
        : [cell(frame.index[r]), ...rowValues(r).map(cell)],
    );
  }
  const widths = columns.map((_, c) => Math.max(...grid.map((row) => (row[c + 1] ?? '').length)));
  const indexWidth = Math.max(...grid.map((row) => (row[0] ?? '').length));
  const lines = grid.map((row) =>
    [
      (row[0] ?? '').padEnd(indexWidth),
      ...widths.map((w, c) => (row[c + 1] ?? '').padStart(w)),
    ].join('  '),
  );
  return [...lines, caption].join('\n');
}
