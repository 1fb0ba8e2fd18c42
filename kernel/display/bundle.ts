/**
 * Turns any value into a MIME bundle, in this order: a `[Symbol.for("Jupyter.display")]()`
 * method (the Deno kernel's protocol, so libraries that adopt it render unchanged), danfo
 * frames, plotly figures, then `text/plain` from `util.inspect`. Every bundle has `text/plain`.
 */
import { inspect } from 'node:util';
import type { MimeBundle } from '../protocol';
import { frameBundle, isFrameLike } from './dataframe';
import { isPlotlyFigure, type PlotlySession, plotlyBundle } from './plotly';

export const DISPLAY_SYMBOL = Symbol.for('Jupyter.display');

export function plainText(value: unknown): string {
  return typeof value === 'string'
    ? value
    : inspect(value, { depth: 4, maxArrayLength: 50, breakLength: 100 });
}

export function toMimeBundle(value: unknown, session: PlotlySession): MimeBundle {
  const hook = (value as { [DISPLAY_SYMBOL]?: unknown } | null | undefined)?.[DISPLAY_SYMBOL];
  if (typeof hook === 'function') {
    const bundle = hook.call(value) as MimeBundle;
    return { 'text/plain': bundle['text/plain'] ?? plainText(value), ...bundle };
  }
  if (isFrameLike(value)) return frameBundle(value);
  if (isPlotlyFigure(value)) return plotlyBundle(value, session);
  return { 'text/plain': typeof value === 'string' ? inspect(value) : plainText(value) };
}

/** A value that displays as `bundle`. */
export function displayable(bundle: MimeBundle): { [DISPLAY_SYMBOL]: () => MimeBundle } {
  return { [DISPLAY_SYMBOL]: () => bundle };
}

function interpolate(strings: TemplateStringsArray, values: unknown[]): string {
  return strings.reduce((out, s, i) => out + s + (i < values.length ? String(values[i]) : ''), '');
}

/** The `html` tagged template: `html\`<b>${x}</b>\`` renders as HTML. */
export function html(strings: TemplateStringsArray, ...values: unknown[]) {
  const text = interpolate(strings, values);
  return displayable({ 'text/html': text, 'text/plain': text });
}

/** The `md` tagged template: renders as Markdown. */
export function md(strings: TemplateStringsArray, ...values: unknown[]) {
  const text = interpolate(strings, values);
  return displayable({ 'text/markdown': text, 'text/plain': text });
}
