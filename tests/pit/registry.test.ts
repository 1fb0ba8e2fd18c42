/**
 * The stage registry: every registered stage declares its config slice and its artifact files,
 * and a change to one config section re-keys exactly the stages that read it and their
 * descendants (so no config change can reuse a stale artifact, and no unrelated one recomputes).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ArtifactStore } from '../../src/pit/cache';
import { type PipelineConfig, PROFILES, resolvePipelineConfig } from '../../src/pit/config';
import { planGraph, type StageDef } from '../../src/pit/graph';
import { FILES, pipelineStages } from '../../src/pit/stages';

let root = '';
test.before(() => {
  root = mkdtempSync(path.join(tmpdir(), 'pitlab-registry-'));
});
test.after(() => rmSync(root, { recursive: true, force: true }));

const keysFor = (config: PipelineConfig, stages = pipelineStages()) =>
  new Map(
    planGraph(stages, {
      store: new ArtifactStore(root),
      seed: 0,
      version: 'test',
      config,
    }).map((n) => [n.name, n.key]),
  );

/** Every stage below `names` in the graph, `names` included. */
function descendants(stages: readonly StageDef<PipelineConfig>[], names: string[]): Set<string> {
  const out = new Set(names);
  let grew = true;
  while (grew) {
    grew = false;
    for (const s of stages) {
      if (!out.has(s.name) && Object.values(s.deps).some((d) => out.has(d))) {
        out.add(s.name);
        grew = true;
      }
    }
  }
  return out;
}

test('every registered stage has a config slice and declared artifact files', () => {
  const known = new Set<string>(Object.values(FILES));
  const stages = pipelineStages();
  assert.is(new Set(stages.map((s) => s.name)).size, stages.length, 'stage names are unique');
  for (const profile of PROFILES) {
    const config = resolvePipelineConfig(profile);
    for (const s of stages) {
      assert.type(s.config, 'function', `${s.name}: config slice`);
      assert.ok(s.config(config) !== undefined, `${s.name}: config slice is defined`);
      assert.ok(s.artifacts.length > 0, `${s.name}: declares its artifact files`);
      for (const f of s.artifacts) assert.ok(known.has(f), `${s.name}: ${f} is a named artifact`);
    }
  }
});

test('a stage without a config slice is refused before anything runs', () => {
  const [first] = pipelineStages();
  const broken = { ...first!, config: () => undefined };
  assert.throws(
    () => keysFor(resolvePipelineConfig('smoke'), [broken]),
    /Stage 'data' declares no config slice/,
  );
});

test('changing one section re-keys exactly its readers and their descendants', () => {
  const stages = pipelineStages();
  const base = resolvePipelineConfig('smoke');
  const before = keysFor(base);
  const cases: Array<{ patch: (c: PipelineConfig) => void; readers: string[] }> = [
    {
      patch: (c) => {
        c.gapReward.lr = 5e-4;
      },
      readers: ['rm_rpit', 'rm_rpit_swap', 'rm_rpit_diff'],
    },
    {
      // The loss ablations fix their own loss, so only the configured R_PIT follows this one.
      patch: (c) => {
        c.gapReward.loss = 'swap-only';
      },
      readers: ['rm_rpit'],
    },
    {
      patch: (c) => {
        c.judge.sftSteps = 21;
      },
      readers: ['judge_rm'],
    },
    {
      patch: (c) => {
        c.sftImprover.lr = 1e-3;
      },
      readers: ['sft_pit', 'sft_self_refine'],
    },
    {
      // threads compute the same gradients, so no artifact is recomputed for them
      patch: (c) => {
        c.sft.gradientThreads = 2;
        c.sftImprover.gradientThreads = 1;
      },
      readers: [],
    },
    {
      patch: (c) => {
        c.pitRl.rounds = [1];
      },
      readers: ['pit_rl'],
    },
    {
      patch: (c) => {
        c.pitRl.patience = 3;
      },
      readers: ['pit_rl', 'pit_rl_r0', 'pit_rl_r1'],
    },
    {
      patch: (c) => {
        c.rlhf.temperature = 0.9;
      },
      readers: ['rl_mp', 'evaluate'],
    },
  ];
  for (const { patch, readers } of cases) {
    const changed = structuredClone(base);
    patch(changed);
    const after = keysFor(changed);
    const expected = descendants(stages, readers);
    for (const s of stages) {
      const rekeyed = before.get(s.name) !== after.get(s.name);
      assert.is(rekeyed, expected.has(s.name), `${readers.join('+')} → ${s.name}`);
    }
  }
});

test.run();
