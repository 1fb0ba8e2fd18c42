/**
 * The short notes the runner shows under a cell (stale dependents, re-runs, a failed re-run, a
 * name defined twice, deleted cells) and the error of a refused cycle. Each note is text/plain
 * plus text/html; cells are named by id and first line, since frontends do not show ids.
 */
import { escapeHtml } from '../display/dataframe';
import type { CellOutcome } from '../executor';
import type { MimeBundle } from '../protocol';
import type { CellAnalysis } from './analyze';
import type { DataflowGraph, Redefinition } from './graph';

/** The first non-blank line of `code`, cut to `max` characters. */
export function firstLine(code: string, max = 60): string {
  const line = code.split('\n').find((l) => l.trim() !== '') ?? '';
  const t = line.trim();
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
}

/** `[7]` for an execution without a cell id (`run-7`), else the id. */
export function cellName(id: string): string {
  const run = /^run-(\d+)$/.exec(id);
  return run ? `[${run[1]}]` : id;
}

/** The id and first line of each cell, for plain text. */
function plainCells(graph: DataflowGraph, ids: string[]): string {
  return ids.map((id) => `  ${cellName(id)}  ${firstLine(graph.get(id)?.code ?? '')}`).join('\n');
}

/** The same as an HTML list; a long id is shortened, in full on hover. */
function htmlCells(graph: DataflowGraph, ids: string[]): string {
  const items = ids.map((id) => {
    const name = cellName(id);
    const short = name.length > 12 ? `${name.slice(0, 8)}…` : name;
    const line = escapeHtml(firstLine(graph.get(id)?.code ?? ''));
    return `<li><span title="${escapeHtml(name)}">${escapeHtml(short)}</span> <code>${line}</code></li>`;
  });
  return `<ul style="margin:2px 0 2px 1.2em;padding:0">${items.join('')}</ul>`;
}

const COLORS = { note: '#8a6d3b', warn: '#a94400', error: '#b00020', ok: '#2e6b30' };

function note(kind: keyof typeof COLORS, head: string, body: string, html: string): MimeBundle {
  const style = `color:${COLORS[kind]};font-size:smaller`;
  return {
    'text/plain': body ? `${head}\n${body}` : head,
    'text/html': `<div style="${style}">${escapeHtml(head)}${html}</div>`,
  };
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

export function staleNote(graph: DataflowGraph, ids: string[], mode: string): MimeBundle {
  const one = ids.length === 1;
  const why = mode === 'auto' ? 'not re-run' : `run ${one ? 'it' : 'them'} to update`;
  const head = `dataflow: ${plural(ids.length, 'cell')} ${one ? 'reads' : 'read'} what this cell changed and ${one ? 'is' : 'are'} now stale (${why}):`;
  return note('note', head, plainCells(graph, ids), htmlCells(graph, ids));
}

export function rerunNote(graph: DataflowGraph, ids: string[]): MimeBundle {
  const head = `dataflow: re-ran ${plural(ids.length, 'dependent cell')} in place:`;
  return note('ok', head, plainCells(graph, ids), htmlCells(graph, ids));
}

export function failedNote(
  graph: DataflowGraph,
  failed: { cell: string; ename: string; evalue: string },
): MimeBundle {
  const head = `dataflow: re-running stopped: cell ${cellName(failed.cell)} failed with ${failed.ename}: ${failed.evalue}`;
  return note('error', head, plainCells(graph, [failed.cell]), htmlCells(graph, [failed.cell]));
}

export function redefinedNote(
  graph: DataflowGraph,
  cell: string,
  dups: Redefinition[],
): MimeBundle {
  const lines = dups.map((d) => {
    const others = d.cells.filter((c) => c !== cell);
    return `${d.name} is also defined by cell ${others.map(cellName).join(', ')}`;
  });
  const head = `dataflow warning: ${plural(dups.length, 'name')} defined by more than one cell (this cell is ${cellName(cell)}); the cell run last wins:`;
  const others = [...new Set(dups.flatMap((d) => d.cells.filter((c) => c !== cell)))];
  const body = `${lines.map((l) => `  ${l}`).join('\n')}\n${plainCells(graph, others)}`;
  const html = `<ul style="margin:2px 0 2px 1.2em;padding:0">${lines.map((l) => `<li>${escapeHtml(l)}</li>`).join('')}</ul>${htmlCells(graph, others)}`;
  return note('warn', head, body, html);
}

export function deletedNote(
  graph: DataflowGraph,
  deleted: string[],
  orphans: string[],
): MimeBundle {
  const head = `dataflow: deleted ${plural(deleted.length, 'cell')} (${deleted.map(cellName).join(', ')}) left the graph${orphans.length > 0 ? '; these cells read what they defined:' : ''}`;
  return note(
    'note',
    head,
    plainCells(graph, orphans),
    orphans.length ? htmlCells(graph, orphans) : '',
  );
}

/** The error of a cell refused because it would close a cycle. */
export function cycleError(
  graph: DataflowGraph,
  ex: { cell: string; analysis?: CellAnalysis; code: string },
  cycle: string[],
): { ename: string; evalue: string; traceback: string[] } {
  const reads = (id: string, from: string) => {
    const analysis = id === ex.cell ? ex.analysis : graph.get(id)?.analysis;
    const defs =
      from === ex.cell ? (ex.analysis?.defines ?? []) : graph.get(from)?.analysis.defines;
    return (analysis?.refs ?? []).filter((n) => defs?.includes(n));
  };
  const steps = cycle.slice(0, -1).map((id, i) => {
    const next = cycle[i + 1]!;
    // cycle lists readers after definers: `next` reads from `id`
    return `cell ${cellName(next)} reads ${reads(next, id).join(', ')} from cell ${cellName(id)}`;
  });
  const names = cycle.map(cellName).join(' → ');
  return {
    ename: 'DataflowCycleError',
    evalue: `this cell would close a dependency cycle: ${names}`,
    traceback: [
      `DataflowCycleError: the cell was not run; cells ${names} would depend on each other`,
      ...steps.map((s) => `  ${s}`),
      ...cycle
        .slice(1, -1)
        .map((id) => `  cell ${cellName(id)}: ${firstLine(graph.get(id)?.code ?? '')}`),
    ],
  };
}

/** A failed re-run shown in the cell's own output slot. */
export function errorBundle(outcome: Extract<CellOutcome, { status: 'error' }>): MimeBundle {
  const text = outcome.traceback.join('\n');
  return {
    'text/plain': text,
    'text/html': `<pre style="color:${COLORS.error}">${escapeHtml(text)}</pre>`,
  };
}
