import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ASSISTANT_TAG, HH_SAMPLE, loadHh, splitHhPair } from '../../src/data';
import { jsonl, tmpFile } from './helpers';

const raw = gunzipSync(readFileSync(HH_SAMPLE)).toString('utf8').trim().split('\n');

test('the HH sample ships inside the repository, with its licence and README', () => {
  const repo = resolve(__dirname, '..', '..');
  assert.is(HH_SAMPLE, join(repo, 'data', 'hh-rlhf', 'harmless-base-test.part1.jsonl.gz'));
  assert.match(readFileSync(resolve(dirname(HH_SAMPLE), 'LICENSE'), 'utf8'), /^MIT License/);
  assert.match(readFileSync(resolve(dirname(HH_SAMPLE), 'README.md'), 'utf8'), /1,800/);
  assert.is(raw.length, 1800);
});

test('every row of the bundled HH sample loads, prompts end with the Assistant tag', async () => {
  const { data, report } = await loadHh(HH_SAMPLE);
  assert.is(report.rowsRead, 1800);
  assert.is(report.loaded, 1800);
  assert.is(report.skipped, 0);
  for (const r of data.records) {
    assert.ok(r.prompt.endsWith(ASSISTANT_TAG), r.id);
    assert.ok(r.chosen.length > 0 && r.rejected.length > 0, r.id);
    assert.is.not(r.chosen, r.rejected);
  }
  // the split is lossless: prompt + response is the original dialogue
  data.records.forEach((r, i) => {
    const o = JSON.parse(raw[i]!);
    assert.is(r.prompt + r.chosen, o.chosen);
    assert.is(r.prompt + r.rejected, o.rejected);
  });
});

test('responses are never empty; the four real "silent" chosen turns are kept and flagged', async () => {
  const { data } = await loadHh(HH_SAMPLE);
  const blank = data.records.filter((r) => r.chosen.trim() === '' || r.rejected.trim() === '');
  assert.equal(
    blank.map((r) => r.id.split(':')[1]),
    ['87', '517', '926', '1104'],
  );
  for (const r of blank) {
    assert.is(r.chosen, ' ');
    assert.equal(r.meta, { blank_response: ['chosen'] });
  }
});

test('rows whose dialogues differ in their number of turns load (row 1255)', async () => {
  const { data } = await loadHh(HH_SAMPLE);
  const r = data.records[1254]!;
  const o = JSON.parse(raw[1254]!);
  assert.is.not(o.chosen.split(ASSISTANT_TAG).length, o.rejected.split(ASSISTANT_TAG).length);
  assert.ok(r.chosen.includes(ASSISTANT_TAG), 'the longer remainder keeps its extra turn');
  assert.not.ok(r.rejected.includes(ASSISTANT_TAG));
  assert.ok(r.prompt.endsWith("Isn't that drag kings?\n\nAssistant:"));
});

test('splitHhPair: common prefix cut back to the last shared Assistant turn', () => {
  const p = '\n\nHuman: hi\n\nAssistant: hello\n\nHuman: how are you?\n\nAssistant:';
  assert.equal(splitHhPair(`${p} fine`, `${p} fine thanks`), {
    prompt: p,
    chosen: ' fine',
    rejected: ' fine thanks',
  });
  // the common prefix runs into the response ("A"), the cut still lands on the tag
  assert.is(splitHhPair(`${p} Alright`, `${p} Awful`).prompt, p);
  // extra turns on one side only
  const t = splitHhPair(`${p} ok\n\nHuman: sure?\n\nAssistant: yes`, `${p} no`);
  assert.equal([t.chosen, t.rejected], [' ok\n\nHuman: sure?\n\nAssistant: yes', ' no']);
  assert.throws(() => splitHhPair('\n\nHuman: a', '\n\nHuman: b'), /no "\\n\\nAssistant:" turn/);
  assert.throws(() => splitHhPair(`${p} x`, `${p} x`), /identical/);
  assert.throws(() => splitHhPair(p, `${p} x`), /chosen response is empty/);
});

test('gzip is detected by magic bytes, not by the file name', async () => {
  const row = {
    chosen: '\n\nHuman: q\n\nAssistant: good',
    rejected: '\n\nHuman: q\n\nAssistant: bad',
  };
  const gz = tmpFile('looks-plain.jsonl', jsonl([row, row]), true);
  const plain = tmpFile('looks-gz.jsonl.gz', jsonl([row]));
  assert.is((await loadHh(gz)).report.loaded, 2);
  assert.is((await loadHh(plain)).report.loaded, 1);
});

test.run();
