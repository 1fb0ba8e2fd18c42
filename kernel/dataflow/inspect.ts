/**
 * `dataflow.graph()` and `dataflow.vars()` as MIME bundles: the graph as an SVG (cells in columns
 * by depth, an arrow from each definer to each reader, stale cells shaded) over a table, and a
 * variable inspector (name, type, defining cells, stale or not). Plain SVG and HTML: they render
 * in every frontend and in untrusted notebooks.
 */
import { escapeHtml } from '../display/dataframe';
import type { MimeBundle } from '../protocol';
import type { CellNode, DataflowGraph } from './graph';
import { cellName, firstLine } from './view';

const NODE_W = 210;
const NODE_H = 40;
const GAP_X = 70;
const GAP_Y = 18;
/** Room above the first row for edges that arc over a column. */
const TOP = 80;

/** Depth of each cell: 0 for cells that read no other cell, else 1 + the deepest parent. */
function depths(graph: DataflowGraph, cells: CellNode[]): Map<string, number> {
  const depth = new Map<string, number>();
  for (const id of graph.order(cells.map((c) => c.id))) {
    const parents = graph.parents(id).map((p) => depth.get(p) ?? 0);
    depth.set(id, parents.length > 0 ? Math.max(...parents) + 1 : 0);
  }
  return depth;
}

function shorten(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}

/** A curve from a definer's right side to a reader's left; one that skips columns arcs above them. */
function edgePath(a: { x: number; y: number }, b: { x: number; y: number }): string {
  const [x1, y1, x2, y2] = [a.x + NODE_W, a.y + NODE_H / 2, b.x, b.y + NODE_H / 2];
  const span = Math.round((b.x - a.x) / (NODE_W + GAP_X)); // columns apart
  const lift = span > 1 && Math.abs(y2 - y1) < NODE_H ? (NODE_H + 8) * Math.min(span - 1, 2) : 0;
  const dx = GAP_X / 2;
  return `M${x1},${y1} C${x1 + dx},${y1 - lift} ${x2 - dx},${y2 - lift} ${x2},${y2}`;
}

export function graphSvg(graph: DataflowGraph): string {
  const cells = graph.cells();
  const depth = depths(graph, cells);
  const rows = new Map<number, number>();
  const pos = new Map<string, { x: number; y: number }>();
  for (const c of cells) {
    const d = depth.get(c.id) ?? 0;
    const r = rows.get(d) ?? 0;
    rows.set(d, r + 1);
    pos.set(c.id, { x: 10 + d * (NODE_W + GAP_X), y: TOP + r * (NODE_H + GAP_Y) });
  }
  const width = 20 + Math.max(1, ...[...rows.keys()].map((d) => d + 1)) * (NODE_W + GAP_X);
  const height = TOP + 10 + Math.max(1, ...rows.values()) * (NODE_H + GAP_Y);
  const edges = cells.flatMap((c) =>
    graph.parents(c.id).map((p) => {
      const a = pos.get(p)!;
      const b = pos.get(c.id)!;
      const names = graph.readsOf(c.id).filter((n) => graph.get(p)?.analysis.defines.includes(n));
      return `<path d="${edgePath(a, b)}" fill="none" stroke="#777" marker-end="url(#arrow)"><title>${escapeHtml(names.join(', '))}</title></path>`;
    }),
  );
  const nodes = cells.map((c) => {
    const { x, y } = pos.get(c.id)!;
    const fill = c.stale ? '#fde7c8' : '#e3eefc';
    const id = shorten(cellName(c.id), 14);
    const line = shorten(firstLine(c.code), 30);
    return `<g><title>${escapeHtml(`${c.id}\n${firstLine(c.code, 200)}`)}</title><rect x="${x}" y="${y}" width="${NODE_W}" height="${NODE_H}" rx="5" fill="${fill}" stroke="#4a6fa5"/><text x="${x + 6}" y="${y + 15}" font-size="11" font-family="sans-serif" font-weight="bold">${escapeHtml(id)}${c.stale ? ' (stale)' : ''}</text><text x="${x + 6}" y="${y + 31}" font-size="11" font-family="monospace">${escapeHtml(line)}</text></g>`;
  });
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`,
    '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#777"/></marker></defs>',
    ...edges,
    ...nodes,
    '</svg>',
  ].join('');
}

function table(header: string[], rows: string[][]): { html: string; text: string } {
  const th = header.map((h) => `<th style="text-align:left">${escapeHtml(h)}</th>`).join('');
  const trs = rows.map(
    (r) => `<tr>${r.map((v) => `<td style="text-align:left">${escapeHtml(v)}</td>`).join('')}</tr>`,
  );
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((v, i) => v.padEnd(widths[i]!)).join('  ');
  return {
    html: `<table><thead><tr>${th}</tr></thead><tbody>${trs.join('')}</tbody></table>`,
    text: [line(header), ...rows.map(line)].join('\n'),
  };
}

export function graphBundle(graph: DataflowGraph, mode: string): MimeBundle {
  const cells = graph.cells();
  const rows = cells.map((c) => [
    cellName(c.id),
    firstLine(c.code, 40),
    c.analysis.defines.join(', '),
    graph
      .parents(c.id)
      .map(
        (p) =>
          `${cellName(p)}: ${graph
            .readsOf(c.id)
            .filter((n) => graph.get(p)?.analysis.defines.includes(n))
            .join(', ')}`,
      )
      .join('; '),
    c.stale ? 'stale' : '',
  ]);
  const t = table(['cell', 'first line', 'defines', 'reads (from cell: names)', 'stale'], rows);
  const head = `dataflow graph (${mode} mode): ${cells.length} cells`;
  if (cells.length === 0) return { 'text/plain': `${head}; run a cell first` };
  return {
    'text/plain': `${head}\n${t.text}`,
    'text/html': `<div><b>${escapeHtml(head)}</b><br>${graphSvg(graph)}${t.html}</div>`,
  };
}

/** A short description of a runtime value: `number`, `Tensor float32 [4,4]`, `DataFrame [3,2]`. */
export function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return `Array(${v.length})`;
  if (typeof v !== 'object') return typeof v;
  const o = v as { shape?: unknown; dtype?: unknown; columns?: unknown };
  const ctor = (v as object).constructor?.name ?? 'Object';
  if (Array.isArray(o.shape) && typeof o.dtype === 'string')
    return `${ctor} ${o.dtype} [${o.shape.join(',')}]`;
  if (Array.isArray(o.shape) && Array.isArray(o.columns)) return `${ctor} [${o.shape.join(',')}]`;
  return ctor;
}

/**
 * The variable inspector. `values` holds the kernel's cell variables (tslab's shared exports);
 * a name without a value there is a type (interface, type alias) or was never assigned.
 */
export function varsBundle(graph: DataflowGraph, values: Record<string, unknown>): MimeBundle {
  const names = [...new Set(graph.cells().flatMap((c) => c.analysis.defines))].sort();
  const rows = names.map((name) => {
    const cells = graph.definers(name);
    const type = name in values ? describeValue(values[name]) : '(type or unset)';
    const stale = cells.some((c) => graph.get(c)?.stale);
    return [name, type, cells.map(cellName).join(', '), stale ? 'stale' : ''];
  });
  const t = table(['name', 'type', 'defined by', 'stale'], rows);
  const head = `dataflow variables: ${names.length}`;
  return {
    'text/plain': `${head}\n${t.text}`,
    'text/html': `<div><b>${escapeHtml(head)}</b>${t.html}</div>`,
  };
}
