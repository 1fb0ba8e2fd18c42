import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  encodeSegments,
  generateSynthetic,
  judge,
  judgeTask,
  loadRefineDemos,
  loadSynthetic,
  makeNearPair,
  perturb,
  renderPrompt,
  SPECIAL_IDS,
  SYNTH_DIR,
  sampleTask,
  solve,
  WordTokenizer,
  writeSynthetic,
} from '../../src/data';
import { Rng } from '../../src/runtime';
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

test('perturb breaks about k constraints of a correct answer', () => {
  const rng = new Rng(3);
  const failures = { 1: [] as number[], 2: [] as number[] };
  for (let i = 0; i < 300; i++) {
    const { task } = sampleTask(rng);
    const correct = solve(task, rng).join(' , ') + ' .';
    assert.is(judgeTask(task, correct).score, 1);
    for (const k of [1, 2] as const) {
      const broken = judgeTask(task, perturb(task, correct, rng, k));
      failures[k].push(broken.constraints.filter((c) => !c.ok).length);
    }
  }
  // Corruptions may interact (a duplicate can also break the count), so a corruption breaks
  // about one check, never none.
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  assert.ok(
    failures[1].every((n) => n >= 1),
    'k = 1 always breaks something',
  );
  // two swaps (first, then last) can undo each other on a three-item list: rare, and a tie
  const undone = failures[2].filter((n) => n === 0).length;
  assert.ok(undone <= 0.03 * failures[2].length, `${undone} of ${failures[2].length} undone`);
  assert.ok(
    mean(failures[2]) > mean(failures[1]) + 0.7,
    `${mean(failures[1])} ${mean(failures[2])}`,
  );
  assert.ok(mean(failures[1]) < 1.5, `one corruption breaks about one check: ${mean(failures[1])}`);
});

test('near pairs: labelled by the judge, smaller margins than independent pairs, default data unchanged', () => {
  const rng = new Rng(5);
  const { task } = sampleTask(rng);
  const pair = makeNearPair(renderPrompt(task), rng, { tau: 0 });
  if (pair)
    assert.ok(judge(pair.prompt, pair.chosen).score > judge(pair.prompt, pair.rejected).score);
  const plain = generateSynthetic({ seed: 9, size: 300, refineSize: 0 });
  const zero = generateSynthetic({ seed: 9, size: 300, refineSize: 0, nearShare: 0 });
  assert.equal(zero.pairs.toRecords(), plain.pairs.toRecords());
  const mixed = generateSynthetic({ seed: 9, size: 300, refineSize: 0, nearShare: 0.5 });
  const records = mixed.pairs.toRecords();
  const near = records.filter((r) => r.source === 'synthetic-near');
  assert.ok(near.length > 100 && near.length < 200, `${near.length} near pairs of 300`);
  const margin = (rs: typeof records) =>
    rs.reduce((s, r) => s + Number(r.meta!.chosen_score) - Number(r.meta!.rejected_score), 0) /
    rs.length;
  const independent = records.filter((r) => r.source !== 'synthetic-near');
  assert.ok(margin(near) < margin(independent), `${margin(near)} vs ${margin(independent)}`);
  assert.throws(
    () => generateSynthetic({ size: 10, nearShare: 1.5 }),
    /nearShare must be in \[0, 1\]/,
  );
});

test.run();
