import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { dataCommand, parseMapping } from '../../src/cli/data';
import { HH_SAMPLE } from '../../src/data';
import { jsonl, tmpFile, tmpPath } from './helpers';

/** Runs the command with console.log/error captured. */
async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const [log, error] = [console.log, console.error];
  let out = '';
  let err = '';
  console.log = (...a: unknown[]) => {
    out += `${a.join(' ')}\n`;
  };
  console.error = (...a: unknown[]) => {
    err += `${a.join(' ')}\n`;
  };
  try {
    return { code: await dataCommand(args), out, err };
  } finally {
    console.log = log;
    console.error = error;
  }
}

const good = { prompt: 'q', chosen: 'a', rejected: 'b' };
const badFile = tmpFile(
  'bad.jsonl',
  `${jsonl([good])}not json\n${jsonl([{ ...good, chosen: 'b' }])}`,
);

test('inspect --json on the bundled HH sample', async () => {
  const r = await run(['inspect', HH_SAMPLE, '--format', 'hh', '--json']);
  assert.is(r.code, 0);
  const j = JSON.parse(r.out);
  assert.equal([j.loaded, j.skipped, j.errors], [1800, 0, []]);
  assert.is(j.summary[0].field, 'prompt');
});

test('inspect exits 1 on bad input, names file and line; --skip-bad lists every bad row', async () => {
  const r = await run(['inspect', badFile]);
  assert.is(r.code, 1);
  assert.match(r.err, `${badFile}:2: malformed JSON`);
  const j = JSON.parse((await run(['inspect', badFile, '--json'])).out);
  assert.equal([j.ok, j.errors[0].line], [false, 2]);
  const s = await run(['inspect', badFile, '--skip-bad', '--json']);
  assert.is(s.code, 0);
  const k = JSON.parse(s.out);
  assert.equal([k.loaded, k.skipped], [1, 2]);
  assert.equal(
    k.errors.map((e: { line: number; reason: string }) => [e.line, e.reason.split(':')[0]]),
    [
      [2, 'malformed JSON'],
      [3, 'chosen and rejected are identical'],
    ],
  );
  const text = await run(['inspect', badFile, '--skip-bad']);
  assert.match(text.out, '1 loaded, 2 skipped of 3 rows read');
});

test('--map and usage errors', async () => {
  assert.equal(parseMapping('prompt=q,chosen=good,rejected=bad'), {
    prompt: 'q',
    chosen: 'good',
    rejected: 'bad',
  });
  assert.throws(() => parseMapping('answer=x'), /expected prompt=COL/);
  const file = tmpFile('m.jsonl', jsonl([{ q: 'x', good: 'a', bad: 'b' }]));
  assert.is((await run(['inspect', file, '--map', 'prompt=q,chosen=good,rejected=bad'])).code, 0);
  assert.is((await run(['inspect', file, '--format', 'xml'])).code, 2);
  assert.is((await run(['nope'])).code, 2);
});

test('synth writes the files', async () => {
  const out = tmpPath('synth');
  const r = await run(['synth', '--seed', '3', '--size', '50', '--out', out]);
  assert.is(r.code, 0);
  assert.match(r.out, 'train.jsonl');
  assert.is((await run(['synth', '--size', 'many'])).code, 2);
});

test.run();
