import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  encodeSegments,
  generateSynthetic,
  judge,
  loadRefineDemos,
  loadSynthetic,
  SPECIAL_IDS,
  SYNTH_DIR,
  WordTokenizer,
  writeSynthetic,
} from '../../src/data';
import { judgeScoreHistogram, lengthHistogram } from '../../src/viz/data';
import { tmpPath } from './helpers';

const FILES = ['train.jsonl', 'valid.jsonl', 'test.jsonl', 'refine.jsonl', 'meta.json'];
const read = (dir: string) => FILES.map((f) => readFileSync(join(dir, f), 'utf8'));

test('the same seed writes identical files; another seed does not', async () => {
  const [a, b, c] = [tmpPath('a'), tmpPath('b'), tmpPath('c')];
  await writeSynthetic(a, { seed: 4, size: 200 });
  await writeSynthetic(b, { seed: 4, size: 200 });
  await writeSynthetic(c, { seed: 5, size: 200 });
  assert.equal(read(a), read(b));
  assert.not.equal(read(a)[0], read(c)[0]);
});

test('the committed default files regenerate exactly from seed 0, size 2000', async () => {
  const dir = tmpPath('default');
  await writeSynthetic(dir, { seed: 0, size: 2000 });
  assert.equal(read(dir), read(SYNTH_DIR));
});

test('pairs: judge scores in meta are true, labels follow the judge up to BT noise, no ties', () => {
  const { pairs, stats } = generateSynthetic({ seed: 9, size: 500 });
  assert.is(pairs.size, 500);
  let flipped = 0;
  for (const r of pairs.records) {
    const qc = judge(r.prompt, r.chosen).score;
    const qr = judge(r.prompt, r.rejected).score;
    assert.equal([qc, qr], [r.meta!.chosen_score, r.meta!.rejected_score]);
    assert.is.not(qc, qr);
    if (qc < qr) flipped += 1;
  }
  assert.is(flipped, stats.flipped);
  assert.ok(flipped > 0 && flipped < 50, `label noise at tau=0.05: ${flipped}/500`);
  const exact = generateSynthetic({ seed: 9, size: 500, tau: 0 });
  assert.is(exact.stats.flipped, 0);
});

test('refine demos: the critique matches the judge and the refined response is correct', async () => {
  const demos = await loadRefineDemos();
  assert.is(demos.length, 1000);
  for (const d of demos) {
    assert.is(judge(d.prompt, d.response).score, d.score);
    assert.is(judge(d.prompt, d.refined).score, 1);
    assert.is(d.critique === 'all constraints are met .', d.score === 1);
  }
});

test('closed vocabulary: every text tokenizes without UNK, fits a small model', async () => {
  const tok = WordTokenizer.synthetic();
  assert.ok(tok.vocabSize < 300, `vocab ${tok.vocabSize}`);
  const train = await loadSynthetic('train');
  const demos = await loadRefineDemos();
  let longest = 0;
  for (const r of train.records) {
    for (const t of [r.prompt, r.chosen, r.rejected])
      assert.not.ok(tok.encode(t).includes(SPECIAL_IDS.unk), t);
    // the PIT gap reward model's input: x <sep_ref> y_ref <sep> y, with BOS/EOS
    const ids = encodeSegments(
      tok,
      [r.prompt, { special: 'sepRef' }, r.rejected, { special: 'sep' }, r.chosen],
      {
        bos: true,
        eos: true,
      },
    );
    longest = Math.max(longest, ids.length);
  }
  for (const d of demos)
    assert.not.ok(tok.encode(d.critique).includes(SPECIAL_IDS.unk), d.critique);
  assert.ok(longest <= 64, `longest gap-RM input ${longest} tokens`);
});

test('figures: length histograms and judge-score distributions are plain plotly objects', async () => {
  const data = await loadSynthetic('valid');
  const lens = lengthHistogram(data);
  assert.equal(
    lens.data.map((t) => t.name),
    ['prompt', 'chosen', 'rejected'],
  );
  assert.is((lens.data[0]!.x as number[]).length, data.size);
  const fig = judgeScoreHistogram(data);
  const [w, l] = fig.data.map((t) => t.x as number[]);
  const mean = (a: number[]) => a.reduce((s, x) => s + x, 0) / a.length;
  assert.ok(mean(w!) > mean(l!) + 0.2, `${mean(w!)} vs ${mean(l!)}`);
  assert.equal(JSON.parse(JSON.stringify(fig)), fig);
});

test.run();
