/** The data stage keeps every held-out prompt out of training, Self-Refine's demonstrations included. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ArtifactStore } from '../../src/pit/cache';
import { PROFILES, resolvePipelineConfig } from '../../src/pit/config';
import { runGraph } from '../../src/pit/graph';
import { pipelineStages, readSplits } from '../../src/pit/stages';

let root = '';
test.before(() => {
  root = mkdtempSync(path.join(tmpdir(), 'pitlab-data-stage-'));
});
test.after(() => rmSync(root, { recursive: true, force: true }));

for (const profile of PROFILES) {
  test(`${profile}: no valid or test prompt is trained on`, async () => {
    // The generator's sizes do not matter for the rule: keep the larger profiles quick.
    const config = resolvePipelineConfig(profile, { data: { synthSize: 0, judgeSize: 200 } });
    const store = new ArtifactStore(root);
    const [node] = await runGraph(pipelineStages(), { store, seed: 0, version: 'test', config }, [
      'data',
    ]);
    const splits = readSplits(store.dir('data', node!.key));
    const heldOut = new Set([...splits.valid, ...splits.test].map((p) => p.prompt));
    assert.ok(splits.refine.length > 0, 'Self-Refine has demonstrations');
    const prompts: Array<[string, string[]]> = [
      ['train', splits.train.map((r) => r.prompt)],
      ['refine', splits.refine.map((r) => r.prompt)],
      ['judge', (splits.judge ?? []).map((r) => r.prompt)],
    ];
    for (const [name, rows] of prompts) {
      const leaked = rows.filter((x) => heldOut.has(x)).length;
      assert.is(leaked, 0, `${name} rows with a held-out prompt`);
    }
  });
}

test.run();
