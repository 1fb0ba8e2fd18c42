/**
 * PIT stages as notebook cells: `stage()` keys each stage exactly as the pipeline's graph does
 * (one cache for notebooks and `pitlab run`), a second call is a cache hit, an edited section
 * re-keys exactly its stage and what follows, and a wrong input or an unpassed section fails
 * clearly before any work. Only the early stages, with few steps, on the smoke profile.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { pitConfig, type StageHandle, stage } from '../../src/pit/cells';
import type { NotebookSettings } from '../../src/pit/notebook';
import { pipelineGraph } from '../../src/pit/pipeline';

let root = '';
let settings: NotebookSettings;
test.before(() => {
  root = mkdtempSync(path.join(tmpdir(), 'pitlab-cells-'));
  settings = { profile: 'smoke', seed: 0, cacheDir: root };
});
test.after(() => rmSync(root, { recursive: true, force: true }));

const FAST = { sft: { maxSteps: 6 }, reward: { maxSteps: 4 } };

/** data → tokenizer → sft_mp → rm_rp, one `stage()` call each, as four notebook cells would. */
async function cells(overrides: object): Promise<StageHandle[]> {
  const { data, model, sft, reward } = pitConfig(overrides, settings);
  const opts = { settings };
  const splits = await stage('data', {}, { data }, opts);
  const tok = await stage('tokenizer', { splits }, { model }, opts);
  const sftMp = await stage('sft_mp', { tok }, { model, sft }, opts);
  const rmRp = await stage('rm_rp', { tok, sftMp }, { reward }, opts);
  return [splits, tok, sftMp, rmRp];
}

const graphKeys = (overrides: object) =>
  new Map(pipelineGraph({ ...settings, overrides }).map((n) => [n.name, n.key]));

let first: StageHandle[] = [];

test('cell by cell, each stage gets the key pipelineGraph computes, and runs', async () => {
  first = await cells(FAST);
  const planned = graphKeys(FAST);
  for (const h of first) {
    assert.is(h.key, planned.get(h.name), `${h.name}: same key as the graph`);
    assert.is(h.status, 'done', `${h.name}: computed`);
    assert.ok(h.dir.startsWith(root), `${h.name}: in the given cache`);
  }
  const nodes = pipelineGraph({ ...settings, overrides: FAST });
  for (const h of first) {
    assert.is(nodes.find((n) => n.name === h.name)!.status, 'cached', `${h.name}: graph sees it`);
  }
  assert.ok(first[2]!.metrics().sft, 'sft_mp kept its metrics');
  assert.type(first[3]!.summary(), 'object');
});

test('a second call is a cache hit with the same keys', async () => {
  const again = await cells(FAST);
  assert.equal(
    again.map((h) => [h.name, h.key, h.status, h.seconds]),
    first.map((h) => [h.name, h.key, 'cached', 0]),
  );
});

test('editing reward.maxSteps re-keys exactly rm_rp and its descendants', async () => {
  const edited = { ...FAST, reward: { maxSteps: 3 } };
  const after = await cells(edited);
  assert.equal(
    after.map((h) => [h.name, h.status]),
    [
      ['data', 'cached'],
      ['tokenizer', 'cached'],
      ['sft_mp', 'cached'],
      ['rm_rp', 'done'],
    ],
  );
  const [before, planned] = [graphKeys(FAST), graphKeys(edited)];
  assert.is(after[3]!.key, planned.get('rm_rp'));
  // everything outside rm_rp's subtree keeps its key
  const unchanged = [...planned].filter(([name, key]) => before.get(name) === key).map(([n]) => n);
  assert.equal(unchanged.sort(), [
    'data',
    'judge_rm',
    'sft_mp',
    'sft_pit',
    'sft_self_refine',
    'tokenizer',
  ]);
});

test('a wrong or missing input names the stage and its declared deps', async () => {
  const [splits, tok, sftMp] = first;
  const { reward } = pitConfig(FAST, settings);
  const call = (inputs: Record<string, StageHandle>) =>
    stage('rm_rp', inputs, { reward }, { settings });
  await rejects(
    call({ tok: tok! }),
    /stage 'rm_rp' takes .*\(tokenizer, sft_mp\); missing: sft_mp/,
  );
  await rejects(
    call({ tok: tok!, sftMp: sftMp!, splits: splits! }),
    /not its deps: splits \(data\)/,
  );
  await rejects(
    call({ tok: tok!, sftMp: { key: 'x' } as unknown as StageHandle }),
    /missing: sft_mp; not stage handles: sftMp/,
  );
  await rejects(stage('nope', {}, {}, { settings }), /Unknown stage 'nope'\. Stages: data, /);
});

test('a section the stage reads but the call does not pass is an error before any work', async () => {
  const [, tok, sftMp] = first;
  const { model, sft } = pitConfig(FAST, settings);
  await rejects(
    stage('rm_rp', { tok: tok!, sftMp: sftMp! }, { model }, { settings }),
    /stage 'rm_rp' reads config\.reward, not passed: call stage\('rm_rp', inputs, \{ model, reward \}\)/,
  );
  await rejects(
    stage('sft_mp', { tok: tok! }, { sft }, { settings }),
    /reads config\.model, not passed/,
  );
});

async function rejects(p: Promise<unknown>, pattern: RegExp): Promise<void> {
  try {
    await p;
  } catch (err) {
    assert.match((err as Error).message, pattern);
    return;
  }
  assert.unreachable(`expected an error matching ${pattern}`);
}

test.run();
