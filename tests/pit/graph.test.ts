/** The stage graph: keys change exactly when inputs change; failures leave no artifact. */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ArtifactStore, canonicalJson, stageKey } from '../../src/pit/cache';
import {
  planGraph,
  runGraph,
  type StageDef,
  type StageExecutor,
  topoOrder,
} from '../../src/pit/graph';
import { readLentCores, workerExecutor, writeLentCores } from '../../src/pit/workers';

/** A stage whose key covers its own entry of a config keyed by stage name, writing no artifact. */
type Config = Record<string, unknown>;
const stage = (def: Omit<StageDef<Config>, 'config' | 'artifacts'>): StageDef<Config> => ({
  config: (c) => c[def.name] ?? null,
  artifacts: [],
  ...def,
});

let root = '';
test.before(() => {
  root = mkdtempSync(path.join(tmpdir(), 'pitlab-graph-'));
});
test.after(() => rmSync(root, { recursive: true, force: true }));

//   data ──▶ sft ──▶ rm
//     └────────────▶ rm
function stages(log: string[]): StageDef<Config>[] {
  const mk = (name: string, deps: Record<string, string>) =>
    stage({
      name,
      deps,
      async run(ctx) {
        log.push(name);
        writeFileSync(
          path.join(ctx.outDir, 'out.json'),
          JSON.stringify({ name, config: ctx.config[name] }),
        );
      },
    });
  return [mk('rm', { policy: 'sft', data: 'data' }), mk('data', {}), mk('sft', { data: 'data' })];
}

const base = {
  seed: 1,
  version: '0.1.0',
  config: { data: { n: 10 }, sft: { lr: 1e-3 }, rm: { lr: 1e-4 } } as Config,
};

test('canonical JSON ignores key order; keys depend on every part', () => {
  assert.is(
    canonicalJson({ b: 1, a: [2, { d: 3, c: 4 }] }),
    canonicalJson({ a: [2, { c: 4, d: 3 }], b: 1 }),
  );
  const parts = { stage: 's', config: { x: 1 }, seed: 0, version: '1', inputs: { a: 'k1' } };
  const k = stageKey(parts);
  assert.is(stageKey({ ...parts, config: { x: 1 } }), k);
  for (const changed of [
    { ...parts, config: { x: 2 } },
    { ...parts, seed: 1 },
    { ...parts, version: '2' },
    { ...parts, inputs: { a: 'k2' } },
    { ...parts, stage: 't' },
  ]) {
    assert.is.not(stageKey(changed), k);
  }
});

test('topological order, unknown deps and cycles', () => {
  assert.equal(topoOrder(stages([])), ['data', 'sft', 'rm']);
  const bad = [stage({ name: 'a', deps: { x: 'b' }, run: async () => {} })];
  assert.throws(() => topoOrder(bad), /depends on unknown stage 'b'/);
  const cyc = [
    stage({ name: 'a', deps: { x: 'b' }, run: async () => {} }),
    stage({ name: 'b', deps: { x: 'a' }, run: async () => {} }),
  ];
  assert.throws(() => topoOrder(cyc), /cycle through: a, b/);
});

test('rerun is all cache hits; changing one config recomputes it and its descendants only', async () => {
  const store = new ArtifactStore(path.join(root, 'a'));
  const log: string[] = [];
  await runGraph(stages(log), { ...base, store });
  assert.equal(log, ['data', 'sft', 'rm']);
  const again = await runGraph(stages(log), { ...base, store });
  assert.equal(log.length, 3, 'second run computed nothing');
  assert.ok(again.every((n) => n.status === 'cached'));
  const config = { ...base.config, sft: { lr: 2e-3 } };
  const plan = planGraph(stages([]), { ...base, config, store });
  assert.equal(
    plan.map((n) => [n.name, n.status]),
    [
      ['data', 'cached'],
      ['sft', 'stale'],
      ['rm', 'stale'],
    ],
  );
  await runGraph(stages(log), { ...base, config, store });
  assert.equal(log.slice(3), ['sft', 'rm']);
});

test('a failing stage publishes nothing and is reported failed', async () => {
  const store = new ArtifactStore(path.join(root, 'b'));
  const failing = [
    stage({
      name: 'boom',
      deps: {},
      async run(ctx) {
        writeFileSync(path.join(ctx.outDir, 'half.bin'), 'partial');
        throw new Error('out of memory');
      },
    }),
  ];
  const statuses: string[] = [];
  try {
    await runGraph(failing, { ...base, store, onStatus: (n) => statuses.push(n.status) });
    assert.unreachable();
  } catch (err) {
    assert.match((err as Error).message, /out of memory/);
  }
  assert.equal(statuses, ['running', 'failed']);
  // Only the stage's work dir (trainer checkpoints, kept so a rerun resumes) remains.
  const left = readdirSync(path.join(root, 'b', 'boom'));
  assert.equal(left.length, 1);
  assert.match(left[0]!, /\.work$/);
});

test('jobs > 1 overlaps independent stages, longest chain first; a failure aborts siblings', async () => {
  //   a ─▶ b ─▶ c        (a heads the longest chain, so it starts before x and y)
  //        x ─┘          y independent
  const mk = (name: string, deps: Record<string, string>) =>
    stage({ name, deps, run: async () => {} });
  const defs = [
    mk('x', {}),
    mk('y', {}),
    mk('a', {}),
    mk('b', { a: 'a' }),
    mk('c', { b: 'b', x: 'x' }),
  ];
  const config: Config = Object.fromEntries(defs.map((d) => [d.name, {}]));
  let now = 0;
  let most = 0;
  const started: string[] = [];
  const execute: StageExecutor<Config> = async (def) => {
    started.push(def.name);
    most = Math.max(most, ++now);
    await new Promise((r) => setTimeout(r, 20));
    now--;
    return { peakRssMb: 7 };
  };
  const store = new ArtifactStore(path.join(root, 'jobs'));
  const nodes = await runGraph(defs, { ...base, config, store, execute, jobs: 2 });
  assert.is(most, 2, 'two stages ran at once');
  assert.equal(started.slice(0, 2), ['a', 'x']);
  assert.is(started.indexOf('c'), 4, 'c waits for b');
  assert.ok(nodes.every((n) => n.status === 'done' && n.peakRssMb === 7));

  // A failing stage aborts the one running beside it; neither publishes.
  const aborted: string[] = [];
  const failing: StageExecutor<Config> = (def, _ctx, signal) =>
    new Promise((_resolve, reject) => {
      if (def.name === 'x') setTimeout(() => reject(new Error('x broke')), 5);
      else
        signal.addEventListener('abort', () => {
          aborted.push(def.name);
          reject(new Error('aborted'));
        });
    });
  const store2 = new ArtifactStore(path.join(root, 'jobs2'));
  const failed = await runGraph([mk('x', {}), mk('y', {})], {
    ...base,
    config,
    store: store2,
    execute: failing,
    jobs: 2,
  }).catch((err: Error) => err);
  assert.instance(failed, Error);
  assert.match((failed as Error).message, /x broke/);
  assert.equal(aborted, ['y']);
  assert.not.ok(
    store2.has('x', planGraph([mk('x', {})], { ...base, config, store: store2 })[0]!.key),
  );
});

test('ready stages start by estimated seconds (longest chain where no swap helps), not by stage count', async () => {
  //   a ─▶ b ─▶ c   (1.5 s each)      x (10 s)      y (no estimate: 1 s)
  const mk = (name: string, deps: Record<string, string>, seconds?: number) =>
    stage({ name, deps, run: async () => {}, ...(seconds ? { cost: () => seconds } : {}) });
  const defs = [mk('y', {}), mk('a', {}, 1.5), mk('b', { a: 'a' }, 1.5), mk('c', { b: 'b' }, 1.5)];
  const config: Config = Object.fromEntries(['x', ...defs.map((d) => d.name)].map((n) => [n, {}]));
  const started: string[] = [];
  const execute: StageExecutor<Config> = async (def) => {
    started.push(def.name);
    return {};
  };
  const run = async (all: StageDef<Config>[], dir: string) => {
    started.length = 0;
    const store = new ArtifactStore(path.join(root, dir));
    await runGraph(all, { ...base, config, store, execute, jobs: 1 });
    return [...started];
  };
  // Without x, a's chain (4.5 s) outranks y (1 s); registry order would have started y first.
  assert.equal(await run(defs, 'cost1'), ['a', 'b', 'c', 'y']);
  // x's 10 s outrank a's three stages.
  assert.equal((await run([...defs, mk('x', {}, 10)], 'cost2'))[0], 'x');
  // A cached stage costs nothing: with x's artifact in place, a's chain leads again.
  assert.equal(await run([mk('x', {}, 10)], 'cost3'), ['x']);
  assert.equal(await run([...defs, mk('x', {}, 10)], 'cost3'), ['a', 'b', 'c', 'y']);
});

test('a stage that keeps two cores busy runs alone on two jobs', async () => {
  //   wide (2 cores, heads the longest chain) ─▶ after        a, b (1 core each)
  const mk = (name: string, deps: Record<string, string>, extra: Partial<StageDef<Config>> = {}) =>
    stage({ name, deps, run: async () => {}, ...extra });
  const defs = [
    mk('a', {}),
    mk('b', {}),
    mk('wide', {}, { cores: () => 2, cost: () => 5 }),
    mk('after', { wide: 'wide' }),
  ];
  const config: Config = Object.fromEntries(defs.map((d) => [d.name, {}]));
  const overlaps: string[][] = [];
  const running = new Set<string>();
  const execute: StageExecutor<Config> = async (def) => {
    running.add(def.name);
    overlaps.push([...running].sort());
    await new Promise((r) => setTimeout(r, 15));
    running.delete(def.name);
    return {};
  };
  const store = new ArtifactStore(path.join(root, 'cores'));
  await runGraph(defs, { ...base, config, store, execute, jobs: 2 });
  assert.equal(overlaps[0], ['wide'], 'the wide stage starts first, and alone');
  assert.ok(
    overlaps.every((names) => !names.includes('wide') || names.length === 1),
    `nothing ran beside it: ${JSON.stringify(overlaps)}`,
  );
  assert.ok(
    overlaps.some((names) => names.length === 2),
    'the one-core stages still overlap',
  );
});

test('a free core goes to a running stage with spare cores only when every stage left waits for it', async () => {
  //   long (spare 2) ─▶ after        x ─▶ y        z
  // On 3 jobs: z ends first, but y (waiting for x, not for long) is still to start: no loan.
  // Once y has started, every stage left waits for long, which gets the free core, and the
  // core y frees when it ends.
  const mk = (name: string, deps: Record<string, string>, extra: Partial<StageDef<Config>> = {}) =>
    stage({ name, deps, run: async () => {}, ...extra });
  const ms: Record<string, number> = { long: 150, x: 40, y: 40, z: 10, after: 5 };
  const defs = [
    mk('long', {}, { cost: () => 10, spareCores: () => 2 }),
    mk('after', { long: 'long' }),
    mk('x', {}, { cost: () => 2 }),
    mk('y', { x: 'x' }, { cost: () => 2 }),
    mk('z', {}),
  ];
  const config: Config = Object.fromEntries(defs.map((d) => [d.name, {}]));
  const t0 = performance.now();
  const ended: Record<string, number> = {};
  const loans: Array<{ at: number; lent: number }> = [];
  let held = 0;
  let most = 0;
  const execute: StageExecutor<Config> = async (def, ctx) => {
    held++;
    const until = performance.now() + ms[def.name]!;
    while (performance.now() < until) {
      const lent = ctx.lentCores?.() ?? 0;
      if (def.name === 'long' && lent !== loans.at(-1)?.lent) {
        loans.push({ at: performance.now() - t0, lent });
      }
      most = Math.max(most, held + (def.name === 'long' ? lent : 0));
      await new Promise((r) => setTimeout(r, 2));
    }
    held--;
    ended[def.name] = performance.now() - t0;
    return {};
  };
  const store = new ArtifactStore(path.join(root, 'loans'));
  await runGraph(defs, { ...base, config, store, execute, jobs: 3 });
  const first = loans.find((l) => l.lent > 0);
  assert.ok(first, `long was lent cores: ${JSON.stringify(loans)}`);
  assert.ok(first.at >= ended.x!, `not before y started (${first.at} ms, x ended ${ended.x} ms)`);
  const both = loans.find((l) => l.lent === 2);
  assert.ok(both && both.at >= ended.y!, `the second once y ended: ${JSON.stringify(loans)}`);
  assert.ok(most <= 3, `never more than 3 cores held, loans included (${most})`);
});

test('a worker process reports a stage error back with its message', async () => {
  const execute = workerExecutor('cpu');
  const ctx = { config: {}, seed: 0, inputs: {}, outDir: root, workDir: root, progress() {} };
  const def = stage({ name: 'no_such_stage', deps: {}, run: async () => {} });
  const err = await execute(def, ctx, new AbortController().signal).catch((e: Error) => e);
  assert.instance(err, Error);
  assert.match((err as Error).message, /unknown stage 'no_such_stage'/);
});

test('lent cores reach a worker through a file: 0 before any loan, then the latest count', () => {
  const file = path.join(root, 'lent');
  assert.is(readLentCores(file), 0);
  writeLentCores(file, 1);
  assert.is(readLentCores(file), 1);
  writeLentCores(file, 2);
  assert.is(readLentCores(file), 2);
  assert.not.ok(existsSync(`${file}.tmp`), 'written whole, then renamed');
  writeFileSync(file, 'garbage');
  assert.is(readLentCores(file), 0);
});

test('a stage killed by SIGKILL mid-write leaves no visible artifact', () => {
  const dir = path.join(root, 'c');
  const script = `
    require('tsx/cjs');
    const { ArtifactStore } = require(${JSON.stringify(path.resolve(__dirname, '../../src/pit/cache.ts'))});
    const fs = require('node:fs');
    const store = new ArtifactStore(${JSON.stringify(dir)});
    store.publish('slow', 'k', async (out) => {
      fs.writeFileSync(out + '/part.bin', 'x');
      process.kill(process.pid, 'SIGKILL');
    });`;
  const res = spawnSync(process.execPath, ['-e', script], {
    cwd: path.resolve(__dirname, '../..'),
  });
  assert.is(res.signal, 'SIGKILL');
  const store = new ArtifactStore(dir);
  assert.not.ok(store.has('slow', 'k'));
  assert.not.ok(existsSync(path.join(dir, 'slow', 'k')));
  assert.is(store.sweep(), 1, 'the orphaned temp dir (its writer is dead) is swept');
});

test.run();
