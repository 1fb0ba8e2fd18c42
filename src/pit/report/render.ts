/**
 * `report.html`: one self-contained, offline page (plotly.js inlined) with the run's tables and
 * figures. Everything it shows comes from results.json and the stages' metrics; it computes
 * nothing of its own.
 */
import { readFileSync } from 'node:fs';
import type { Figure } from '../../viz/data';
import { escapeHtml } from '../../viz/html';

export interface ReportTable {
  title: string;
  columns: string[];
  rows: Array<Array<string | number>>;
  note?: string;
}

export interface ReportSection {
  title: string;
  text?: string;
  tables?: ReportTable[];
  figures?: Array<{ title: string; figure: Figure }>;
}

function cell(v: string | number): string {
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : v.toFixed(3);
  return escapeHtml(v);
}

function tableHtml(t: ReportTable): string {
  const head = t.columns.map((c) => `<th>${escapeHtml(c)}</th>`).join('');
  const body = t.rows
    .map((r) => `<tr>${r.map((v) => `<td>${cell(v)}</td>`).join('')}</tr>`)
    .join('\n');
  const note = t.note ? `<p class="note">${escapeHtml(t.note)}</p>` : '';
  return `<h3>${escapeHtml(t.title)}</h3><table><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>${note}`;
}

/** plotly.js from the installed package, read once; the page never fetches anything. */
function plotlySource(): string {
  const file = require.resolve('plotly.js-dist-min/plotly.min.js');
  return readFileSync(file, 'utf8').replace(/<\/script/gi, '<\\/script');
}

export function renderReport(title: string, subtitle: string, sections: ReportSection[]): string {
  let figureId = 0;
  const scripts: string[] = [];
  const body = sections
    .map((s) => {
      const parts = [`<h2>${escapeHtml(s.title)}</h2>`];
      if (s.text) parts.push(`<p>${escapeHtml(s.text)}</p>`);
      for (const t of s.tables ?? []) parts.push(tableHtml(t));
      for (const f of s.figures ?? []) {
        const id = `fig${figureId++}`;
        parts.push(`<h3>${escapeHtml(f.title)}</h3><div id="${id}" class="fig"></div>`);
        const json = JSON.stringify(f.figure).replace(/</g, '\\u003c');
        scripts.push(
          `Plotly.newPlot(${JSON.stringify(id)}, ${json}.data, ${json}.layout, {responsive: true});`,
        );
      }
      return `<section>${parts.join('\n')}</section>`;
    })
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>
body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1em}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:right}
th{background:#f4f4f4}td:first-child,th:first-child{text-align:left}.fig{height:380px}.note{color:#555;font-size:.9em}
</style>
<script>${plotlySource()}</script></head>
<body><h1>${escapeHtml(title)}</h1><p class="note">${escapeHtml(subtitle)}</p>
${body}
<script>${scripts.join('\n')}</script>
</body></html>
`;
}
