/**
 * The `pitlab` command line as a user runs it (node bin/pitlab.js in a child process): every
 * command's --help, and usage errors that fail before any stage and name the accepted values.
 * Each spawn takes 3-5 s (tsx, tfjs and the pipeline modules start up), so each test spawns once.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { numberArg, oneOf, parseOptions, UsageError, usageText } from '../../src/cli/args';
import { FORMATS } from '../../src/data/load';
import { PROFILES } from '../../src/pit/config';
import { pipelineGraph } from '../../src/pit/pipeline';
import { KNOWN_BACKENDS } from '../../src/runtime/backends';

const ROOT = path.resolve(__dirname, '..', '..');
const TMP = mkdtempSync(path.join(tmpdir(), 'pitlab-cli-test-'));

/** Runs the CLI; PITLAB_CACHE/PITLAB_PROFILE unset so only the arguments decide. */
function pitlab(args: string[]): { status: number | null; out: string; err: string } {
  const env = { ...process.env };
  delete env.PITLAB_CACHE;
  delete env.PITLAB_PROFILE;
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'pitlab.js'), ...args], {
    cwd: ROOT,
    env,
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { status: r.status, out: r.stdout, err: r.stderr };
}

/** A stage cache path that does not exist yet: a stage that starts would create it. */
let caches = 0;
const freshCache = () => path.join(TMP, `cache-${++caches}`);

const COMMANDS = [
  'run',
  'graph',
  'experiment',
  'bench',
  'install',
  'notebook',
  'data',
  'data synth',
  'data inspect',
  'info',
];

for (const command of COMMANDS) {
  test(`${command} --help prints its usage and exits 0`, () => {
    const r = pitlab([...command.split(' '), '--help']);
    assert.is(r.status, 0, r.err);
    assert.match(r.out, new RegExp(`^usage: pitlab ${command}\\b`, 'm'));
    assert.match(r.out, /-h, --help/);
  });
}

test('-h works like --help', () => {
  const h = pitlab(['run', '-h']);
  assert.is(h.status, 0, h.err);
  assert.match(h.out, /^usage: pitlab run\b/m);
  assert.match(
    h.out,
    /--cache DIR\s+stage cache \(default: \$PITLAB_CACHE, else \.cache\/stages\)/,
  );
});

test('the overview lists every command', () => {
  const o = pitlab(['--help']);
  assert.is(o.status, 0, o.err);
  for (const command of new Set(COMMANDS.map((c) => c.split(' ')[0]))) {
    assert.match(o.out, new RegExp(`^  ${command} `, 'm'));
  }
});

test('run --profile nope: fails before any stage, naming the profiles', () => {
  const cache = freshCache();
  const r = pitlab(['run', '--profile', 'nope', '--cache', cache]);
  assert.is(r.status, 2);
  assert.match(r.err, `'nope'`);
  assert.match(r.err, PROFILES.join(', '));
  assert.not.ok(existsSync(cache), 'no stage ran');
});

test('run --format nope: fails before any stage, naming the formats', () => {
  const cache = freshCache();
  const r = pitlab(['run', '--format', 'nope', '--data', 'x.jsonl', '--cache', cache]);
  assert.is(r.status, 2);
  assert.match(r.err, FORMATS.join(', '));
  assert.not.ok(existsSync(cache), 'no stage ran');
});

test('bench --backend nope names the backends', () => {
  const r = pitlab(['bench', '--backend', 'nope']);
  assert.is(r.status, 2);
  assert.match(r.err, KNOWN_BACKENDS.join(', '));
});

test('run --bogus names the options run accepts', () => {
  const cache = freshCache();
  const r = pitlab(['run', '--bogus', '--cache', cache]);
  assert.is(r.status, 2);
  assert.match(r.err, `unknown option '--bogus'`);
  for (const option of ['--profile', '--seed', '--format', '--cache', '--jobs']) {
    assert.match(r.err, option);
  }
  assert.not.ok(existsSync(cache), 'no stage ran');
});

test('run --seed abc quotes what was typed', () => {
  const cache = freshCache();
  const r = pitlab(['run', '--seed', 'abc', '--cache', cache]);
  assert.is(r.status, 2);
  assert.match(r.err, `--seed must be a number, got 'abc'`);
  assert.not.ok(existsSync(cache), 'no stage ran');
});

test('graph --cache DIR plans against DIR and runs nothing', () => {
  // One finished artifact in DIR (the store's DONE marker under the key the library plans) must
  // show as cached and everything else as stale: DIR is the cache graph reads.
  const cache = freshCache();
  const data = pipelineGraph({ profile: 'smoke', cacheDir: cache }).find((n) => n.name === 'data')!;
  mkdirSync(path.join(cache, 'data', data.key), { recursive: true });
  writeFileSync(path.join(cache, 'data', data.key, 'DONE'), '');
  const r = pitlab(['graph', '--profile', 'smoke', '--cache', cache, '--json']);
  assert.is(r.status, 0, r.err);
  const nodes = JSON.parse(r.out) as { name: string; status: string }[];
  assert.ok(nodes.length > 1);
  assert.equal(
    nodes.filter((n) => n.status !== 'stale').map((n) => [n.name, n.status]),
    [['data', 'cached']],
  );
  assert.equal(readdirSync(cache), ['data'], 'graph wrote nothing');
});

test('the shared helpers: usage from the option table, errors naming what is accepted', () => {
  const options = {
    size: { type: 'string', arg: 'N', help: 'how many' },
    fast: { type: 'boolean', help: 'hurry' },
  } as const;
  const text = usageText({ name: 'demo', synopsis: '[options]', summary: 'a demo', options });
  assert.match(text, /^usage: pitlab demo \[options\]$/m);
  assert.match(text, /^ {2}--size N\s+how many$/m);
  assert.match(text, /^ {2}--fast\s+hurry$/m);
  assert.equal({ ...parseOptions(['--size', '3'], options).values }, { size: '3' });
  assert.throws(
    () => parseOptions(['--slow'], options),
    (e: Error) => e instanceof UsageError && /--size, --fast, --help/.test(e.message),
  );
  assert.is(oneOf('--profile', 'smoke', PROFILES), 'smoke');
  assert.throws(() => oneOf('--profile', 'x', PROFILES), /unknown --profile 'x'\. Accepted: /);
  assert.is(numberArg('--seed', '-1'), -1, 'the range is the library check');
  assert.is(numberArg('--seed', undefined), undefined);
  assert.throws(() => numberArg('--seed', ' '), /got ' '/);
});

test.run();
