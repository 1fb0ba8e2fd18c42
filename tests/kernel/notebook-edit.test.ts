/**
 * Notebook 07 under a real client, as JupyterLab drives it: every code cell runs with its own
 * notebook cell id, then the `reward` section is edited. The cells the kernel marks stale (lazy)
 * and re-runs (auto) must be exactly those downstream of `reward`, and of the stage cells only
 * rm_rp and the stages after it in the pipeline's graph may recompute; the rest are cache hits.
 * Expectations come from the notebook's own sources and the stage registry, not from cell ids.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Message } from '../../kernel/protocol';
import { pipelineStages } from '../../src/pit/stages';
import { type Reply, TestKernel } from './client';

const NOTEBOOKS = path.resolve(__dirname, '..', '..', 'notebooks');
const NOTEBOOK = path.join(NOTEBOOKS, '07-pit-as-dataflow.ipynb');
// Generous: a cold stage on 2 cores shared with other work; the auto re-run chains five stages.
const CELL_MS = 300_000;

interface Cell {
  id: string;
  source: string;
}

const cells: Cell[] = (
  JSON.parse(readFileSync(NOTEBOOK, 'utf8')) as {
    cells: { cell_type: string; id: string; source: string | string[] }[];
  }
).cells
  .filter((c) => c.cell_type === 'code')
  .map((c) => ({ id: c.id, source: Array.isArray(c.source) ? c.source.join('') : c.source }));

// ---- what the notebook's sources say, read without the kernel's analyzer ---------------------

const code = (c: Cell) => c.source.replace(/\/\/.*$/gm, ''); // comments name things too
/** Top-level `const x =` and `const { a, b } =` of a cell. */
function defines(c: Cell): string[] {
  const src = code(c);
  const plain = [...src.matchAll(/^(?:const|let|var)\s+(\w+)/gm)].map((m) => m[1]!);
  const destructured = [...src.matchAll(/^(?:const|let|var)\s*\{([^}]*)\}/gm)].flatMap((m) =>
    m[1]!.split(',').map((s) => s.trim()),
  );
  return [...plain, ...destructured].filter(Boolean);
}
const mentions = (c: Cell, name: string) => new RegExp(`\\b${name}\\b`).test(code(c));

/** Stage cells: `const <handle> = await stage('<stage>', ...`, by stage name. */
const stageCells = new Map(
  cells.flatMap((c) => {
    const m = /^const (\w+) = await stage\(\s*'(\w+)'/m.exec(c.source);
    return m ? [[m[2]!, { cell: c.id, handle: m[1]! }] as const] : [];
  }),
);
const rewardCell = cells.find((c) => defines(c).includes('reward'));
const sectionsCell = cells.find((c) => defines(c).includes('sft'));

// ---- smaller sections: the config cells run with overrides, same ids, same names ------------

// Smoke sizes cut further so a cold run fits a loaded 2-core machine; keys, not sizes, matter here.
const SMALL = {
  data: { evalSize: 16 },
  sft: { maxSteps: 20 },
  sftImprover: { maxSteps: 20 },
  gapReward: { maxSteps: 10 },
  judge: { maxSteps: 10, sftSteps: 5 },
  rlhf: { totalUpdates: 1 },
  pitRl: { totalUpdates: 1 },
  improve: { samples: 1, bootstrap: 50 },
};
const REWARD_STEPS = 10;

/** The reward cell's source with R_P's steps set to `steps` (the notebook's own edit). */
function rewardSource(steps: number): string {
  const src = rewardCell!.source.replace(
    /pitConfig\(\)\.reward/,
    `pitConfig({ reward: { maxSteps: ${steps} } }).reward`,
  );
  assert.is.not(src, rewardCell!.source, 'the reward cell no longer reads pitConfig().reward');
  return src;
}

/** What runs for a cell: the config cells with smaller sections, every other cell as it is. */
function sourceOf(c: Cell): string {
  if (c === rewardCell) return rewardSource(REWARD_STEPS);
  if (c !== sectionsCell) return c.source;
  const src = c.source.replace(/pitConfig\(\)/, `pitConfig(${JSON.stringify(SMALL)})`);
  assert.is.not(src, c.source, 'the sections cell no longer calls pitConfig()');
  return src;
}

/** The cells that read, transitively, a name `root` defines (by word match over the sources). */
function downstreamCells(root: Cell): string[] {
  const changed = new Set(defines(root));
  const found = new Set<string>();
  for (let grew = true; grew; ) {
    grew = false;
    for (const c of cells) {
      if (c.id === root.id || found.has(c.id)) continue;
      if (![...changed].some((n) => mentions(c, n))) continue;
      found.add(c.id);
      for (const n of defines(c)) changed.add(n);
      grew = true;
    }
  }
  return [...found].sort();
}

/** `name` and every stage after it in the pipeline's own graph. */
function stageAndAfter(name: string): Set<string> {
  const stages = pipelineStages();
  const out = new Set([name]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const s of stages) {
      if (out.has(s.name) || !Object.values(s.deps).some((d) => out.has(d))) continue;
      out.add(s.name);
      grew = true;
    }
  }
  return out;
}

// ---- the kernel ---------------------------------------------------------------------------

const cache = mkdtempSync(path.join(os.tmpdir(), 'pitlab-nb-edit-'));
let kernel: TestKernel;
const started = Date.now();

test.before(async () => {
  kernel = await TestKernel.start(NOTEBOOKS, { PITLAB_PROFILE: 'smoke', PITLAB_CACHE: cache });
});
test.after(async () => {
  await kernel?.close();
  rmSync(cache, { recursive: true, force: true });
  console.log(`notebook-edit: ${((Date.now() - started) / 1000).toFixed(0)} s`);
});

interface Flow {
  stale: string[];
  rerun: string[];
  failed?: { cell: string; ename: string; evalue: string };
}
const flow = (r: Reply) => r.reply.metadata.dataflow as Flow;
const ok = (r: Reply, what: string) =>
  assert.is(r.reply.content.status, 'ok', `${what}: ${JSON.stringify(r.reply.content)}`);
const plainTexts = (msgs: Message[]) =>
  msgs
    .filter((m) => m.header.msg_type === 'display_data' || m.header.msg_type === 'execute_result')
    .map((m) => String((m.content.data as Record<string, unknown>)['text/plain']));
/** The status a stage cell's handle shows (`rm_rp: cached (0.0 s), key …`). */
function shownStatus(r: Reply, stage: string): string | undefined {
  const line = plainTexts(r.outputs).find((t) => t.startsWith(`${stage}: `));
  return line?.match(/^\w+: (cached|done) /)?.[1];
}

/** Runs every code cell in order with its own id; returns each stage's shown status. */
async function runAll(): Promise<Record<string, string | undefined>> {
  const statuses: Record<string, string | undefined> = {};
  for (const c of cells) {
    const r = await kernel.executeCell(c.id, sourceOf(c), { timeoutMs: CELL_MS });
    ok(r, `cell ${c.id}`);
    const stage = [...stageCells].find(([, s]) => s.cell === c.id)?.[0];
    if (stage) statuses[stage] = shownStatus(r, stage);
  }
  return statuses;
}

/** Of the stage cells, `cellIds` holds rm_rp's and those after it in the pipeline, no other. */
function onlyStagesFromRmRp(cellIds: string[], what: string): void {
  const touched = stageAndAfter('rm_rp');
  for (const [stage, { cell }] of stageCells) {
    assert.is(cellIds.includes(cell), touched.has(stage), `${what}: stage cell ${stage} (${cell})`);
  }
}

const every = (status: string) =>
  Object.fromEntries([...stageCells.keys()].map((stage) => [stage, status]));

test('the notebook names its reward cell and the stage cells the edit is about', () => {
  assert.ok(rewardCell, 'no cell defines `reward`');
  assert.ok(sectionsCell, 'no cell defines `sft`');
  for (const stage of ['data', 'tokenizer', 'sft_mp', 'rm_rp', 'rm_rpit', 'rl_mp', 'exp_main']) {
    assert.ok(stageCells.has(stage), `no stage cell for ${stage}`);
  }
});

test('run all on a fresh cache: every reply ok, every stage computed', async () => {
  assert.equal(await runAll(), every('done'));
});

test('run all again: the same keys, every stage a cache hit', async () => {
  assert.equal(await runAll(), every('cached'));
});

test('lazy: re-running reward marks exactly its downstream cells stale', async () => {
  const r = await kernel.executeCell(rewardCell!.id, rewardSource(REWARD_STEPS));
  ok(r, 'reward');
  const expected = downstreamCells(rewardCell!);
  assert.equal([...flow(r).stale].sort(), expected);
  assert.equal(flow(r).rerun, []);
  onlyStagesFromRmRp(flow(r).stale, 'stale');
});

test('auto: editing reward re-runs exactly its downstream cells; only rm_rp onward recompute', async () => {
  ok(await kernel.executeCell('edit-mode', "dataflow.mode('auto')"), 'mode');
  const edited = rewardSource(REWARD_STEPS + 1);
  const r = await kernel.executeCell(rewardCell!.id, edited, { timeoutMs: CELL_MS * 3 });
  ok(r, 'edited reward');
  assert.is(flow(r).failed, undefined, JSON.stringify(flow(r).failed));
  assert.equal([...flow(r).rerun].sort(), downstreamCells(rewardCell!));
  onlyStagesFromRmRp(flow(r).rerun, 'rerun');
  assert.equal(flow(r).stale, []);

  const handles = [...stageCells.values()].map((s) => s.handle).join(', ');
  const probe = await kernel.executeCell(
    'edit-statuses',
    `console.log(JSON.stringify([${handles}].map((h) => ({ name: h.name, status: h.status }))));`,
  );
  ok(probe, 'statuses');
  const json = plainTexts(probe.outputs).find((t) => t.trim().startsWith('['));
  const shown = JSON.parse(json ?? '[]') as { name: string; status: string }[];
  const touched = stageAndAfter('rm_rp');
  const expected = [...stageCells.keys()].map((name) => ({
    name,
    status: touched.has(name) ? 'done' : 'cached',
  }));
  assert.equal(shown, expected);
});

test.run();
