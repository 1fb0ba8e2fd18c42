/**
 * `gapReward.loss` picks R_PIT's loss from config: PIT's five constraints, swap-only, or the
 * R_P-difference ablation (an R_P-layout model), each trained and evaluated by the rm_rpit stage.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { PitLoss } from '../../src/models';
import { ArtifactStore } from '../../src/pit/cache';
import { resolvePipelineConfig } from '../../src/pit/config';
import { runGraph } from '../../src/pit/graph';
import { loadReward, pipelineStages, readSummary } from '../../src/pit/stages';
import { runtime } from '../../src/runtime';

let root = '';
test.before(async () => {
  await runtime.ready();
  root = mkdtempSync(path.join(tmpdir(), 'pitlab-gap-loss-'));
});
test.after(() => rmSync(root, { recursive: true, force: true }));

const TINY = {
  data: { maxTrain: 48 },
  sft: { maxSteps: 4 },
  reward: { maxSteps: 3 },
  gapReward: { maxSteps: 3 },
};

async function trainRpit(loss: PitLoss) {
  const config = resolvePipelineConfig('smoke', { ...TINY, gapReward: { maxSteps: 3, loss } });
  const store = new ArtifactStore(root);
  const nodes = await runGraph(pipelineStages(), { store, seed: 0, version: 'test', config }, [
    'rm_rpit',
  ]);
  const node = nodes.find((n) => n.name === 'rm_rpit')!;
  return { key: node.key, dir: store.dir('rm_rpit', node.key) };
}

test('each R_PIT loss trains its own model kind and reports swap accuracy', async () => {
  const keys = new Set<string>();
  for (const [loss, kind] of [
    ['five-constraints', 'rpit'],
    ['swap-only', 'rpit'],
    ['rp-difference', 'rpit-diff'],
  ] as const) {
    const { key, dir } = await trainRpit(loss);
    keys.add(key);
    const rm = loadReward(dir);
    assert.is(rm.kind, kind, `${loss}: model kind`);
    rm.dispose();
    const summary = readSummary<{ lastEval: Record<string, number> }>(dir);
    const swap = summary.lastEval['eval_pit/swap_accuracy'];
    assert.ok(swap !== undefined && swap >= 0 && swap <= 1, `${loss}: swap accuracy ${swap}`);
  }
  assert.is(keys.size, 3, 'the loss is part of the stage key');
});

test('an unknown loss fails before any work, naming the accepted values', () => {
  assert.throws(
    () => resolvePipelineConfig('smoke', { gapReward: { loss: 'hinge' } }),
    /config\.gapReward\.loss.*five-constraints/,
  );
});

test.run();
