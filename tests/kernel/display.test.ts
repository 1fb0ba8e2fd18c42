/** MIME-bundle conversions: danfo tables (escaped, limited), plotly bundles, the display hook. */
import * as dfd from 'danfojs-node';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DISPLAY_SYMBOL, html, md, toMimeBundle } from '../../kernel/display/bundle';
import { escapeHtml, frameBundle } from '../../kernel/display/dataframe';
import { isPlotlyFigure, type PlotlySession, plotlyBundle } from '../../kernel/display/plotly';

const session = (): PlotlySession => ({ libraryInlined: false });

test('DataFrame HTML escapes cells and column names, and shows shape and dtypes', () => {
  const df = new dfd.DataFrame({ '<col>': [1, 2], b: ['<script>alert(1)</script>', 'a & b'] });
  const bundle = toMimeBundle(df, session());
  const htmlText = String(bundle['text/html']);
  assert.not.ok(htmlText.includes('<script>'));
  assert.ok(htmlText.includes('&lt;script&gt;alert(1)&lt;/script&gt;'));
  assert.ok(htmlText.includes('<th>&lt;col&gt;</th>'));
  assert.ok(htmlText.includes('a &amp; b'));
  assert.ok(htmlText.includes('DataFrame (2 × 2)'));
  assert.ok(htmlText.includes('<i>int32</i>') && htmlText.includes('<i>string</i>'));
  assert.is(bundle['application/vnd.dataresource+json'], undefined);
  assert.equal(String(bundle['text/plain']).split('\n'), [
    '   <col>                          b',
    '   int32                     string',
    '0      1  <script>alert(1)</script>',
    '1      2                      a & b',
    'DataFrame (2 × 2)',
  ]);
});

test('long frames show head and tail rows around an ellipsis', () => {
  const df = new dfd.DataFrame({ x: [...Array(30).keys()] });
  const bundle = frameBundle(df as never, { edgeRows: 3 });
  const rows = String(bundle['text/html']).match(/<tr>/g) ?? [];
  assert.is(rows.length, 1 + 3 + 1 + 3); // header, head, ellipsis, tail
  const plain = String(bundle['text/plain']).split('\n');
  assert.equal(
    plain.slice(2, 9).map((l) => l.trim().replace(/\s+/g, ' ')),
    ['0 0', '1 1', '2 2', '… …', '27 27', '28 28', '29 29'],
  );
});

test('a Series renders as a one-column table', () => {
  const s = new dfd.Series([1.5, 2.25], { columns: ['loss'] });
  const bundle = toMimeBundle(s, session());
  assert.ok(String(bundle['text/html']).includes('Series (2)'));
  assert.ok(String(bundle['text/html']).includes('<td>2.25</td>'));
});

test('escapeHtml escapes the five special characters', () => {
  assert.is(
    escapeHtml(`<a href="x">'&'</a>`),
    '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;',
  );
});

test('plotly: one bundle with the plotly MIME, an HTML fallback and text/plain', () => {
  const fig = {
    data: [{ x: [1, 2], y: [3, 4], type: 'scatter' }],
    layout: { title: { text: 'loss</script>' } },
  };
  assert.ok(isPlotlyFigure(fig));
  const s = session();
  const first = plotlyBundle(fig, s);
  assert.equal(first['application/vnd.plotly.v1+json'], {
    data: fig.data,
    layout: fig.layout,
    config: {},
  });
  assert.is(first['text/plain'], 'Plotly figure "loss</script>": 1 trace(s) [scatter]');
  const page = String(first['text/html']);
  assert.ok(page.includes('window.Plotly.newPlot'));
  // The library is inlined once, with define/module/exports shadowed for require.js pages.
  assert.ok(page.includes('(function(define, module, exports){'));
  assert.ok(page.length > 1_000_000, 'plotly.js is inlined, not fetched from a CDN');
  assert.not.ok(/https?:\/\/cdn/.test(page.slice(0, 2000)));
  // The title's "</script>" must not close the drawing script early.
  assert.not.ok(page.slice(page.lastIndexOf('<div id=')).includes('loss</script>'));
  const second = String(plotlyBundle(fig, s)['text/html']);
  assert.ok(second.length < 5_000, 'later figures reuse the inlined library');
});

test('values that are not figures are not taken for plotly', () => {
  assert.not.ok(isPlotlyFigure({ data: [1, 2] }));
  assert.not.ok(isPlotlyFigure([]));
  assert.not.ok(isPlotlyFigure({ data: [], layout: 3 }));
});

test('the Jupyter.display symbol wins, and text/plain is always added', () => {
  const v = { [DISPLAY_SYMBOL]: () => ({ 'text/html': '<b>hi</b>' }) };
  assert.equal(toMimeBundle(v, session()), {
    'text/plain': '{ [Symbol(Jupyter.display)]: [Function: [Jupyter.display]] }',
    'text/html': '<b>hi</b>',
  });
  assert.equal(toMimeBundle(html`<i>${1 + 1}</i>`, session()), {
    'text/plain': '<i>2</i>',
    'text/html': '<i>2</i>',
  });
  assert.equal(toMimeBundle(md`# ${'t'}`, session())['text/markdown'], '# t');
});

test('plain values get util.inspect text', () => {
  assert.equal(toMimeBundle(42, session()), { 'text/plain': '42' });
  assert.equal(toMimeBundle('s', session()), { 'text/plain': "'s'" });
  assert.equal(toMimeBundle({ a: [1] }, session()), { 'text/plain': '{ a: [ 1 ] }' });
});

test.run();
