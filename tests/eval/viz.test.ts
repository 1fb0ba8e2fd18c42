/** Evaluation figure builders: plain Plotly objects with the numbers in the right places. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { compare, eloFromScores } from '../../src/eval';
import {
  eloFigure,
  eloSeries,
  rewardHistogram,
  temperatureFigure,
  winTieLoseFigure,
} from '../../src/viz/eval';

test('win / tie / lose bars stack to 100% and Δ error bars reach the CI ends', () => {
  const c = { ...compare([1, 0.5, 0.2, 0.9], [0.5, 0.5, 0.8, 0.1]), a: 'pit', b: 'original' };
  const fig = winTieLoseFigure([
    { ...c, judge: 'oracle' },
    { ...c, label: 'custom' },
  ]);
  const [win, tie, lose, delta] = fig.data as Array<Record<string, number[] | string[]>>;
  assert.equal(win!.y, ['pit vs original (oracle)', 'custom']);
  assert.is((win!.x![0]! as number) + (tie!.x![0] as number) + (lose!.x![0] as number), 100);
  assert.equal(delta!.x, [25, 25]);
  const err = delta!.error_x as unknown as { array: number[]; arrayminus: number[] };
  assert.ok(Math.abs(25 + err.array[0]! - c.ci95[1] * 100) < 1e-9);
  assert.ok(Math.abs(25 - err.arrayminus[0]! - c.ci95[0] * 100) < 1e-9);
  assert.is(fig.layout.barmode, 'stack');
  JSON.stringify(fig); // serialisable as-is for report.html
});

test('temperature figure: one band and one line per system, sorted by temperature', () => {
  const fig = temperatureFigure([
    {
      name: 'pit',
      points: [
        { temperature: 0.6, mean: 0.8, ci95: [0.75, 0.85] },
        { temperature: 0.2, mean: 0.7, ci95: [0.6, 0.8] },
      ],
    },
    { name: 'self_refine', points: [{ temperature: 0.2, mean: 0.5, ci95: [0.4, 0.6] }] },
  ]);
  assert.is(fig.data.length, 4);
  const [band, line] = fig.data as Array<Record<string, unknown>>;
  assert.equal(line!.x, [0.2, 0.6]);
  assert.equal(line!.y, [0.7, 0.8]);
  assert.equal(band!.x, [0.2, 0.6, 0.6, 0.2]);
  assert.equal(band!.y, [0.8, 0.85, 0.75, 0.6]);
  assert.is(band!.fill, 'toself');
});

test('ELO figure: series read from player names, error bars from the CIs', () => {
  const res = eloFromScores(
    {
      pit_1: [0.9, 0.8, 1, 0.7],
      pit_0: [0.5, 0.4, 0.6, 0.5],
      self_refine_0: [0.5, 0.4, 0.6, 0.5],
      'self_refine t=1': [0.6, 0.5, 0.7, 0.4],
      other: [0, 0, 0, 0],
    },
    { resamples: 50 },
  );
  const series = eloSeries(res, ['pit', 'self_refine']);
  assert.equal(series[0]!.iterations, [0, 1]);
  assert.equal(series[0]!.rating, [res.rating[1]!, res.rating[0]!]);
  assert.equal(series[1]!.iterations, [0, 1]);
  const fig = eloFigure(series);
  assert.is(fig.data.length, 2);
  const err = fig.data[1]!.error_y as { array: number[]; arrayminus: number[] };
  const s = series[1]!;
  assert.ok(Math.abs(s.rating[1]! + err.array[1]! - s.ci95[1]![1]) < 1e-9);
  assert.ok(Math.abs(s.rating[1]! - err.arrayminus[1]! - s.ci95[1]![0]) < 1e-9);
});

test('reward histograms overlay normalised densities, one per series', () => {
  const fig = rewardHistogram(
    [
      { name: 'y_w', values: Float32Array.from([1, 2, 3]) },
      { name: 'pit', values: [2, 3] },
    ],
    { bins: { start: 0, end: 4, size: 0.5 } },
  );
  assert.equal(
    fig.data.map((d) => [d.name, d.histnorm, d.x]),
    [
      ['y_w (n = 3)', 'probability density', [1, 2, 3]],
      ['pit (n = 2)', 'probability density', [2, 3]],
    ],
  );
  assert.is(fig.layout.barmode, 'overlay');
});

test.run();
