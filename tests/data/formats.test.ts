import { writeFileSync } from 'node:fs';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadCsv, loadJsonl, loadParquet, loadPreferences, loadTldr } from '../../src/data';
import { parseRecord } from '../../src/data/csv';
import { CONVERSATIONAL, PAIRS_CSV, TLDR_COMPARISONS } from './fixtures';
import { jsonl, tmpFile, tmpPath } from './helpers';

test('TL;DR comparisons: TRL prompt template, choice picks the chosen summary', async () => {
  const file = tmpFile('tldr-comparisons.jsonl', TLDR_COMPARISONS);
  const { data, report } = await loadTldr(file, { onError: 'skip' });
  assert.equal([report.rowsRead, report.loaded, report.skipped], [5, 2, 3]);
  const [a, b] = data.records;
  assert.is(
    a!.prompt,
    "SUBREDDIT: r/relationships\n\nTITLE: Roommate eats my food, how do I bring it up?\n\nPOST: My roommate keeps eating my food even after we agreed on labels. I don't want to fight but I'm tired of buying groceries twice.\n\nTL;DR:",
  );
  assert.is(a!.chosen, ' Roommate eats my labelled food; how do I raise it without a fight?');
  assert.is(a!.rejected, ' roommate food bad');
  assert.equal(b!.meta, {
    split: 'valid1',
    chosen_policy: 'sup4_ppo_rm3_kl10',
    rejected_policy: 'sup2',
  });
  assert.is(b!.id, 't3_2efgh:2');
  assert.equal(
    report.errors.map((e) => [e.line, e.reason]),
    [
      [3, 'chosen and rejected are identical'],
      [4, "field 'summaries' must be an array of two summaries, got 1 items"],
      [5, "field 'choice' must be 0 or 1, got 2"],
    ],
  );
});

test('generic jsonl with a column mapping and an id column', async () => {
  const file = tmpFile(
    'm.jsonl',
    jsonl([{ key: 7, question: 'q?', good: 'a', bad: 'b', other: 1 }]),
  );
  const { data } = await loadJsonl(file, {
    mapping: { prompt: 'question', chosen: 'good', rejected: 'bad', id: 'key' },
  });
  assert.equal(data.toRecords(), [
    { id: '7', source: 'jsonl:' + file.split('/').pop(), prompt: 'q?', chosen: 'a', rejected: 'b' },
  ]);
});

test('TRL conversational form: explicit prompt, implicit prompt, and a bad role', async () => {
  const { data, report } = await loadJsonl(tmpFile('conversational.jsonl', CONVERSATIONAL), {
    onError: 'skip',
  });
  assert.equal([report.loaded, report.skipped], [2, 1]);
  const [a, b] = data.records;
  assert.equal(
    [a!.prompt, a!.chosen, a!.rejected],
    ['\n\nHuman: What color is the sky?\n\nAssistant:', ' It is blue.', ' It is green.'],
  );
  assert.equal(
    [b!.prompt, b!.chosen, b!.rejected],
    ['\n\nSystem: Be brief.\n\nHuman: Hi 👋\n\nAssistant:', ' Hello!', ' Go away.'],
  );
  assert.match(
    report.errors[0]!.reason,
    /rejected\[1\]\.role must be one of user, assistant, system/,
  );
});

test('csv: quoted fields with commas, quotes and newlines; errors point at the record start', async () => {
  const file = tmpFile('pairs.csv', PAIRS_CSV);
  const { data, report } = await loadCsv(file, {
    mapping: { prompt: 'question', chosen: 'good', rejected: 'bad', id: 'id' },
    onError: 'skip',
  });
  assert.equal(
    data.records.map((r) => [r.id, r.prompt, r.chosen, r.rejected]),
    [
      ['r1', 'What is 2+2?', '4', '5'],
      ['r2', 'Say "hi"\nin two lines', 'hi,\nthere', 'bye'],
    ],
  );
  assert.equal(
    report.errors.map((e) => [e.line, e.reason]),
    [
      [6, 'expected 4 fields (as in the header), got 3'],
      [7, "field 'good' is empty"],
    ],
  );
});

test('csv record parser edge cases', () => {
  assert.equal(parseRecord('a,,"b"'), ['a', '', 'b']);
  assert.is(parseRecord('"open'), 'open');
  assert.match(parseRecord('"a"x,b') as string, /after a closing quote/);
  assert.match(parseRecord('a"b,c') as string, /quote inside an unquoted field/);
});

test('csv: an unterminated quote is reported at EOF', async () => {
  const file = tmpFile('open.csv', 'prompt,chosen,rejected\nq,"yes,no\n');
  const { report } = await loadCsv(file, { onError: 'skip' });
  assert.equal(
    report.errors.map((e) => [e.line, e.reason]),
    [[2, 'unterminated quoted field at end of file']],
  );
});

test('parquet: mapped columns, per-row errors with row numbers, limit', async () => {
  const file = tmpPath('pairs.parquet');
  const buf = parquetWriteBuffer({
    columnData: [
      { name: 'question', data: ['q1', 'q2', 'q3', 'q4'] },
      { name: 'good', data: ['a', 'same', '', 'd'] },
      { name: 'bad', data: ['b', 'same', 'c', 'e'] },
    ],
  });
  writeFileSync(file, Buffer.from(buf));
  const mapping = { prompt: 'question', chosen: 'good', rejected: 'bad' };
  const { data, report } = await loadParquet(file, { mapping, onError: 'skip' });
  assert.equal(
    data.records.map((r) => r.prompt),
    ['q1', 'q4'],
  );
  assert.equal(
    report.errors.map((e) => [e.line, e.reason]),
    [
      [2, 'chosen and rejected are identical'],
      [3, "field 'good' is empty"],
    ],
  );
  const limited = await loadPreferences(file, { mapping, onError: 'skip', limit: 1 });
  assert.is(limited.data.size, 1);
  try {
    await loadParquet(file, { mapping: { ...mapping, chosen: 'best' } });
    assert.unreachable();
  } catch (err) {
    assert.match(
      (err as Error).message,
      /:1: column 'best' \(mapped to chosen\) not found; columns are: question, good, bad/,
    );
  }
  const notParquet = tmpFile('x.parquet', 'hello');
  try {
    await loadParquet(notParquet);
    assert.unreachable();
  } catch (err) {
    assert.match((err as Error).message, /not a readable parquet file/);
  }
});

test.run();
