/** Plotly figure builders (plain {data, layout} objects) for preference data. */
import type { PreferenceDataset } from '../data/dataset';
import { wordCount } from '../data/describe';
import { judge } from '../data/synth/judge';

export interface Figure {
  data: Array<Record<string, unknown>>;
  layout: Record<string, unknown>;
}

/** Overlaid histograms of prompt, chosen and rejected lengths, in words or characters. */
export function lengthHistogram(
  data: PreferenceDataset,
  opts: { unit?: 'words' | 'chars' } = {},
): Figure {
  const unit = opts.unit ?? 'words';
  const len = (t: string) => (unit === 'words' ? wordCount(t) : t.length);
  const traces = (['prompt', 'chosen', 'rejected'] as const).map((field) => ({
    type: 'histogram',
    name: field,
    x: data.records.map((r) => len(r[field])),
    opacity: 0.6,
  }));
  return {
    data: traces,
    layout: {
      title: { text: `Length of prompt, chosen and rejected (${unit})` },
      barmode: 'overlay',
      xaxis: { title: { text: unit } },
      yaxis: { title: { text: 'pairs' } },
    },
  };
}

/** Judge scores of one response, from `meta` when the data carries them, else re-judged. */
function scores(data: PreferenceDataset, field: 'chosen' | 'rejected'): number[] {
  return data.records.map((r) => {
    const saved = r.meta?.[`${field}_score`];
    return typeof saved === 'number' ? saved : judge(r.prompt, r[field]).score;
  });
}

/** Synthetic task only: distributions of q(x, y_w) and q(x, y_l), the gap PIT learns to close. */
export function judgeScoreHistogram(data: PreferenceDataset): Figure {
  const bins = { start: -0.05, end: 1.05, size: 0.1 };
  return {
    data: [
      {
        type: 'histogram',
        name: 'chosen (y_w)',
        x: scores(data, 'chosen'),
        opacity: 0.6,
        xbins: bins,
      },
      {
        type: 'histogram',
        name: 'rejected (y_l)',
        x: scores(data, 'rejected'),
        opacity: 0.6,
        xbins: bins,
      },
    ],
    layout: {
      title: { text: 'Judge score of chosen vs rejected responses' },
      barmode: 'overlay',
      xaxis: { title: { text: 'q(x, y)' }, range: [-0.05, 1.05] },
      yaxis: { title: { text: 'pairs' } },
    },
  };
}
