import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DataError, type LoadResult, loadCsv, loadHh, loadJsonl } from '../../src/data';
import { jsonl, tmpFile } from './helpers';

const good = { prompt: 'q', chosen: 'yes', rejected: 'no' };

/** Expects `load` to throw a DataError "file:line: reason" matching `reason`. */
async function throwsAt(
  load: () => Promise<LoadResult>,
  file: string,
  line: number,
  reason: RegExp,
) {
  try {
    await load();
    assert.unreachable('should have thrown');
  } catch (err) {
    assert.instance(err, DataError);
    const e = err as DataError;
    assert.is(e.line, line);
    assert.is(e.file, file);
    assert.match(e.reason, reason);
    assert.ok(e.message.startsWith(`${file}:${line}: `), e.message);
  }
}

const cases: Array<[string, string, RegExp]> = [
  ['malformed JSON', '{"prompt": "q", "chosen": ', /malformed JSON/],
  [
    'missing field',
    JSON.stringify({ prompt: 'q', chosen: 'yes' }),
    /missing field 'rejected'; row has prompt, chosen/,
  ],
  ['empty field', JSON.stringify({ ...good, chosen: '   ' }), /field 'chosen' is empty/],
  [
    'identical responses',
    JSON.stringify({ ...good, rejected: 'yes' }),
    /chosen and rejected are identical/,
  ],
  [
    'non-string value',
    JSON.stringify({ ...good, rejected: 42 }),
    /field 'rejected' must be a string, got number/,
  ],
  ['not an object', '[1, 2]', /expected a JSON object, got array/],
];

for (const [kind, line, reason] of cases) {
  test(`bad row (${kind}): throw names file and line; skip reports it and keeps the rest`, async () => {
    const text = `${JSON.stringify(good)}\n${line}\n${JSON.stringify(good)}\n`;
    const file = tmpFile('bad.jsonl', text);
    await throwsAt(() => loadJsonl(file), file, 2, reason);
    const { data, report } = await loadJsonl(file, { onError: 'skip' });
    assert.equal([report.rowsRead, report.loaded, report.skipped, data.size], [3, 2, 1, 2]);
    assert.is(report.errors[0]!.line, 2);
    assert.match(report.errors[0]!.reason, reason);
  });
}

test('invalid UTF-8 is reported on its own line and does not corrupt neighbours', async () => {
  const bad = Buffer.concat([
    Buffer.from(`${JSON.stringify(good)}\n{"prompt": "caf`),
    Buffer.from([0xc3, 0x28]), // 0xc3 must be followed by a continuation byte
    Buffer.from(
      `", "chosen": "a", "rejected": "b"}\n${JSON.stringify({ ...good, prompt: 'café ☕' })}\n`,
    ),
  ]);
  const file = tmpFile('utf8.jsonl', bad);
  await throwsAt(() => loadJsonl(file), file, 2, /invalid UTF-8 at byte 15/);
  const { data, report } = await loadJsonl(file, { onError: 'skip' });
  assert.equal([report.loaded, report.skipped], [2, 1]);
  assert.is(data.records[1]!.prompt, 'café ☕');
});

test('a line over 10 MB is rejected without being kept; the next line still loads', async () => {
  const huge = JSON.stringify({ ...good, prompt: 'x'.repeat(10.5 * 1024 * 1024) });
  const file = tmpFile('huge.jsonl', `${JSON.stringify(good)}\n${huge}\n${JSON.stringify(good)}\n`);
  await throwsAt(() => loadJsonl(file), file, 2, /line is \d+ bytes, over the 10485760-byte limit/);
  const { report } = await loadJsonl(file, { onError: 'skip' });
  assert.equal([report.rowsRead, report.loaded, report.skipped], [3, 2, 1]);
});

test('the line cap also holds for a long last line without a newline, in gzip', async () => {
  const file = tmpFile('tail.jsonl.gz', `${JSON.stringify(good)}\n${'y'.repeat(5000)}`, true);
  const { report } = await loadJsonl(file, { onError: 'skip', maxLineBytes: 1000 });
  assert.equal(report.errors, [
    { file, line: 2, reason: 'line is 5000 bytes, over the 1000-byte limit' },
  ]);
});

test('an empty file is an error in both modes', async () => {
  const file = tmpFile('empty.jsonl', '');
  await throwsAt(() => loadJsonl(file), file, 1, /empty file/);
  await throwsAt(() => loadJsonl(file, { onError: 'skip' }), file, 1, /empty file/);
  const blank = tmpFile('blank.jsonl.gz', '\n\n  \n', true);
  await throwsAt(() => loadHh(blank, { onError: 'skip' }), blank, 1, /empty file/);
  const csv = tmpFile('empty.csv', '');
  await throwsAt(() => loadCsv(csv), csv, 1, /no header/);
});

test('a wrong column mapping is named with the columns that exist', async () => {
  const csv = tmpFile('pairs.csv', 'question,good,bad\nq,yes,no\n');
  await throwsAt(
    () =>
      loadCsv(csv, {
        mapping: { prompt: 'query', chosen: 'good', rejected: 'bad' },
        onError: 'skip',
      }),
    csv,
    1,
    /column 'query' \(mapped to prompt\) not found; columns are: question, good, bad/,
  );
  const file = tmpFile('pairs.jsonl', jsonl([{ question: 'q', good: 'yes', bad: 'no' }]));
  await throwsAt(
    () => loadJsonl(file, { mapping: { prompt: 'question', chosen: 'good', rejected: 'worse' } }),
    file,
    1,
    /missing field 'worse' \(mapped to rejected\); row has question, good, bad/,
  );
});

test('skip mode accounts for every row: loaded + skipped = rows read', async () => {
  const lines = [good, { ...good, chosen: '' }, 'oops', good, { ...good, chosen: 1 }, good];
  const file = tmpFile(
    'mixed.jsonl',
    lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n'),
  );
  const { report } = await loadJsonl(file, { onError: 'skip' });
  assert.equal([report.rowsRead, report.loaded, report.skipped], [6, 3, 3]);
  assert.equal(
    report.errors.map((e) => e.line),
    [2, 3, 5],
  );
});

test.run();
