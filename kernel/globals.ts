/**
 * The display API cells see as globals: `display(value, {id, update, raw})`, the `html` and
 * `md` tagged templates, and `progress(label, total)` for lines updated in place. tslab's own
 * `tslab.display.*` is routed to the same place for notebooks written for tslab.
 */
import { randomUUID } from 'node:crypto';
import { html, md, toMimeBundle } from './display/bundle';
import type { PlotlySession } from './display/plotly';
import { currentSink } from './output';
import type { MimeBundle } from './protocol';

export interface DisplayOptions {
  /** Display id; reusing it with `update: true` replaces the earlier output in place. */
  id?: string;
  update?: boolean;
  /** Treat `value` as a ready MIME bundle. */
  raw?: boolean;
}

export function createDisplay(session: PlotlySession) {
  return function display(value: unknown, options: DisplayOptions = {}): void {
    const sink = currentSink();
    if (!sink) throw new Error('display: no cell is running');
    const bundle = options.raw ? (value as MimeBundle) : toMimeBundle(value, session);
    sink.display(bundle, options.id, options.update ?? false);
  };
}

/** A text progress bar shown once and then updated in place with `update_display_data`. */
export function createProgress(display: ReturnType<typeof createDisplay>) {
  return function progress(label: string, total: number) {
    const id = `progress-${randomUUID()}`;
    const started = Date.now();
    const render = (done: number, note: string | undefined, update: boolean) => {
      const frac = total > 0 ? Math.min(1, done / total) : 1;
      const bar = '█'.repeat(Math.round(frac * 24)).padEnd(24, '·');
      const secs = ((Date.now() - started) / 1000).toFixed(1);
      const text = `${label} ${bar} ${done}/${total} ${secs}s${note ? `  ${note}` : ''}`;
      display({ 'text/plain': text }, { id, update, raw: true });
    };
    render(0, undefined, false);
    return {
      update: (done: number, note?: string) => render(done, note, true),
      done: (note?: string) => render(total, note ?? 'done', true),
    };
  };
}

/** Installs the globals on globalThis. */
export function installGlobals(session: PlotlySession): void {
  const display = createDisplay(session);
  Object.assign(globalThis, { display, html, md, progress: createProgress(display) });
  // tslab's public API writes through this process-wide hook (tslab/src/jupyter.ts).
  // `require`, not `import *`: the namespace object of an import is read-only.
  const tslabJupyter: { lastWriteDisplayData: unknown } = require('tslab/dist/jupyter');
  tslabJupyter.lastWriteDisplayData = (
    data: { data: MimeBundle; transient?: { display_id?: string } },
    update: boolean,
  ) => currentSink()?.display(data.data, data.transient?.display_id, update);
}
