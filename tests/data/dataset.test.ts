import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  describe,
  generateSynthetic,
  PreferenceDataset,
  type PreferenceRecord,
} from '../../src/data';

const rec = (i: number, prompt: string): PreferenceRecord => ({
  id: `r${i}`,
  source: 'test',
  prompt,
  chosen: `good ${i}`,
  rejected: `bad ${i}`,
  ...(i % 2 === 0 ? { meta: { n: i } } : {}),
});
// 30 prompts, some repeated up to 4 times
const rows = Array.from({ length: 60 }, (_, i) => rec(i, `prompt ${Math.floor((i * 7) % 30)}`));
const ds = PreferenceDataset.fromRecords(rows);

test('split: deterministic by seed, disjoint by prompt, covers every row, sizes near fractions', () => {
  const fractions = { train: 0.8, valid: 0.1, test: 0.1 };
  const a = ds.split({ seed: 5, fractions });
  const b = ds.split({ seed: 5, fractions });
  const c = ds.split({ seed: 6, fractions });
  assert.equal(a.train.toRecords(), b.train.toRecords());
  assert.not.equal(a.test.toRecords(), c.test.toRecords());
  const prompts = Object.values(a).map((d) => new Set(d.records.map((r) => r.prompt)));
  for (let i = 0; i < prompts.length; i++) {
    for (let j = i + 1; j < prompts.length; j++) {
      assert.is([...prompts[i]!].filter((p) => prompts[j]!.has(p)).length, 0);
    }
  }
  const ids = Object.values(a).flatMap((d) => d.records.map((r) => r.id));
  assert.is(new Set(ids).size, 60);
  assert.ok(
    Math.abs(a.train.size - 48) <= 2 && a.valid.size >= 4 && a.test.size >= 4,
    `${a.train.size}`,
  );
  assert.throws(() => ds.split({ fractions: { train: 0.5, test: 0.4 } }), /sum to 1/);
});

test('split keeps the synthetic data disjoint by prompt too', () => {
  const { pairs } = generateSynthetic({ seed: 2, size: 300 });
  const parts = pairs.split({ seed: 2, fractions: { train: 0.8, test: 0.2 } });
  const train = new Set(parts.train.records.map((r) => r.prompt));
  assert.ok(parts.test.records.every((r) => !train.has(r.prompt)));
});

test('filter, head, sample and concat', () => {
  assert.equal(
    ds.filter((r) => r.prompt === 'prompt 0').records.map((r) => r.id),
    ['r0', 'r30'],
  );
  assert.equal(
    ds.head(2).records.map((r) => r.id),
    ['r0', 'r1'],
  );
  const s1 = ds.sample(10, { seed: 1 });
  assert.is(new Set(s1.records.map((r) => r.id)).size, 10);
  assert.equal(s1.toRecords(), ds.sample(10, { seed: 1 }).toRecords());
  assert.is(ds.sample(100, { seed: 1 }).size, 60);
  assert.is(ds.head(3).concat(ds.head(2)).size, 5);
  assert.throws(() => ds.sample(-1), /non-negative integer/);
});

test('records round-trip through plain records and through the danfo frame', () => {
  assert.equal(PreferenceDataset.fromRecords(ds.toRecords()).toRecords(), rows);
  const df = ds.frame;
  assert.equal(df.shape, [60, 6]);
  assert.equal(df.columns, ['id', 'source', 'prompt', 'chosen', 'rejected', 'meta']);
  assert.equal(PreferenceDataset.fromFrame(df).toRecords(), rows);
  assert.is(new PreferenceDataset([]).frame.shape[0], 0);
  const bad = [{ ...rows[0]!, chosen: 3 }] as unknown as PreferenceRecord[];
  assert.throws(
    () => PreferenceDataset.fromRecords(bad),
    /record 0 field 'chosen' must be a string/,
  );
});

test('describe: counts, length statistics and duplicate prompts', async () => {
  const { toJSON } = await import('danfojs-node');
  const stats = toJSON(describe(ds)) as Array<Record<string, number | string>>;
  assert.equal(
    stats.map((s) => [s.field, s.count, s.unique, s.duplicates]),
    [
      ['prompt', 60, 30, 30],
      ['chosen', 60, 60, 0],
      ['rejected', 60, 60, 0],
    ],
  );
  assert.is(stats[1]!.min_chars, 'good 0'.length);
  assert.is(stats[1]!.max_chars, 'good 59'.length);
});

test.run();
