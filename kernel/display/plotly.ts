/**
 * Plotly figures (`{data, layout}`) as one MIME bundle: `application/vnd.plotly.v1+json` for
 * frontends with a Plotly renderer (VS Code, JupyterLab with jupyterlab-plotly), a `text/html`
 * fallback that draws with plotly.js for everything else (nbconvert HTML, Lab without the
 * extension: plotly/plotly.py#3977, #5365, jupyter/nbconvert#2235), and `text/plain`.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { MimeBundle } from '../protocol';

export interface PlotlyFigure {
  data: Record<string, unknown>[];
  layout?: Record<string, unknown>;
  config?: Record<string, unknown>;
}

/** True for plain objects shaped like a plotly figure. */
export function isPlotlyFigure(v: unknown): v is PlotlyFigure {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const f = v as Partial<PlotlyFigure>;
  return (
    Array.isArray(f.data) &&
    f.data.every((t) => typeof t === 'object' && t !== null) &&
    (f.layout === undefined || (typeof f.layout === 'object' && f.layout !== null))
  );
}

/**
 * Whether plotly.js has been inlined into an output of this kernel session. The library is
 * sent once (offline: no CDN), in the first figure's HTML; later figures reuse `window.Plotly`.
 */
export interface PlotlySession {
  libraryInlined: boolean;
}

let librarySource: string | undefined;

/**
 * plotly.js wrapped so it always defines `window.Plotly`: with `define`, `module` and `exports`
 * shadowed, a require.js page (classic notebook, nbconvert) and a plain page behave the same.
 * `</script` is escaped so the source cannot end its own tag.
 */
export function plotlyLibraryScript(): string {
  librarySource ??= readFileSync(require.resolve('plotly.js-dist-min'), 'utf8').replace(
    /<\/script/gi,
    '<\\/script',
  );
  return `<script type="text/javascript">(function(define, module, exports){\n${librarySource}\n}).call(window);</script>`;
}

/** JSON that is safe inside a <script> element. */
function scriptJson(v: unknown): string {
  return JSON.stringify(v).replace(/</g, '\\u003c');
}

export function plotlyBundle(fig: PlotlyFigure, session: PlotlySession): MimeBundle {
  const id = `pitlab-plot-${randomUUID()}`;
  const figure = { data: fig.data, layout: fig.layout ?? {}, config: fig.config ?? {} };
  const lib = session.libraryInlined ? '' : plotlyLibraryScript();
  session.libraryInlined = true;
  // Waits for window.Plotly in case the output holding the library renders later.
  const draw =
    `<script type="text/javascript">(function(){var fig=${scriptJson(figure)};` +
    `function draw(){var el=document.getElementById(${scriptJson(id)});if(!el)return;` +
    `window.Plotly.newPlot(el,fig.data,fig.layout,Object.assign({responsive:true},fig.config));}` +
    `var tries=0;(function wait(){if(window.Plotly){draw();}else if(tries++<200){setTimeout(wait,50);}})();})();</script>`;
  const html = `${lib}<div id="${id}" class="pitlab-plotly" style="height:${heightOf(figure.layout)}px;width:100%"></div>${draw}`;
  return {
    'application/vnd.plotly.v1+json': figure,
    'text/html': html,
    'text/plain': describe(figure),
  };
}

function heightOf(layout: Record<string, unknown>): number {
  return typeof layout.height === 'number' ? layout.height : 420;
}

function describe(fig: {
  data: Record<string, unknown>[];
  layout: Record<string, unknown>;
}): string {
  const title = fig.layout.title;
  const titleText =
    typeof title === 'string'
      ? title
      : typeof title === 'object' && title
        ? (title as { text?: string }).text
        : undefined;
  const types = fig.data.map((t) => String(t.type ?? 'scatter'));
  return `Plotly figure${titleText ? ` "${titleText}"` : ''}: ${fig.data.length} trace(s) [${types.join(', ')}]`;
}
