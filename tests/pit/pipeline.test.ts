/**
 * The pipeline end to end: the smoke profile's results.json passes a schema check, a rerun is all
 * cache hits, the same seed gives identical metrics, and bad configs fail before any work.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ArtifactStore } from '../../src/pit/cache';
import { resolvePipelineConfig } from '../../src/pit/config';
import type { LossAblation } from '../../src/pit/loss_ablation';
import { pipelineGraph, runExperiment, runPipeline } from '../../src/pit/pipeline';
import type { Results } from '../../src/pit/results';
import { metricsFiles } from '../../src/pit/stages';

let root = '';
test.before(() => {
  root = mkdtempSync(path.join(tmpdir(), 'pitlab-pipeline-'));
});
test.after(() => rmSync(root, { recursive: true, force: true }));

const SYSTEMS = ['pit', 'original', 'resample', 'best_of_n', 'sft_improver', 'self_refine'];

/** Shapes and ranges every results.json must have (the list of required fields). */
function checkSchema(r: Results): void {
  for (const key of [
    'config',
    'seed',
    'versions',
    'backend',
    'stages',
    'comparisons',
    'meanScores',
    'temperatureSweep',
    'curriculumAblation',
    'iterations',
  ]) {
    assert.ok(key in r, `results.${key} missing`);
  }
  assert.type(r.rewardModels.rp.heldoutAccuracy, 'number');
  assert.type(r.rewardModels.rpit.swapAccuracy, 'number');
  assert.type(r.rewardModels.rpit.selfGapAbsMean, 'number');
  // accuracies carry a Wilson interval over the held-out pairs that contains them
  const rp = r.rewardModels.rp;
  assert.ok(rp.heldoutPairs > 0, 'held-out pair count');
  const [lo, hi] = rp.heldoutAccuracyCi95!;
  assert.ok(
    lo <= rp.heldoutAccuracy && rp.heldoutAccuracy <= hi,
    `${lo} ≤ ${rp.heldoutAccuracy} ≤ ${hi}`,
  );
  assert.ok(r.rewardModels.rpit.swapAccuracyCi95!.length === 2);
  // R_P and R_PIT pool the valid and test pairs: the pooled accuracy lies between the two splits'
  // and counts whole pairs
  for (const [acc, pairs, split] of [
    [rp.heldoutAccuracy, rp.heldoutPairs, rp.bySplit],
    [
      r.rewardModels.rpit.swapAccuracy,
      r.rewardModels.rpit.heldoutPairs,
      r.rewardModels.rpit.bySplit,
    ],
  ] as const) {
    assert.type(split.test, 'number', 'test split scored');
    const [a, b] = [Math.min(split.valid, split.test!), Math.max(split.valid, split.test!)];
    assert.ok(a - 1e-9 <= acc && acc <= b + 1e-9, `${a} ≤ ${acc} ≤ ${b}`);
    assert.ok(Math.abs(acc * pairs - Math.round(acc * pairs)) < 1e-6, `${acc} × ${pairs} pairs`);
  }
  for (const s of Object.values(r.stages)) {
    assert.type(s.seconds, 'number');
    assert.type(s.cached, 'boolean');
  }
  // RLHF is compared at y_0's temperature and at PPO's rollout temperature, per judge
  const rlhfAt = (t: number) =>
    r.rlhf.filter((row) => row.temperature === t).map((row) => row.judge);
  assert.equal(rlhfAt(r.config.improve.responseTemperature), r.judges);
  assert.equal(rlhfAt(r.config.rlhf.temperature), r.judges);
  assert.ok(r.config.improve.responseTemperature !== r.config.rlhf.temperature, 'smoke: both');
  // every test prompt is judged with `samples` draws of y_0, and every comparison sees them all
  assert.is(r.prompts, r.config.data.evalSize);
  assert.ok(r.samples > 1, 'smoke draws y_0 more than once per prompt');
  assert.is(r.n, r.prompts * r.samples);
  for (const c of [...r.comparisons, ...r.rlhf.map((row) => row.rlVsSft)]) assert.is(c.n, r.n);
  for (const row of r.rlhf) {
    assert.ok(Math.abs(row.rlVsSft.delta - (row.rlVsSft.win - row.rlVsSft.lose)) < 1e-9);
  }
  assert.ok(r.comparisons.length >= 6);
  for (const c of r.comparisons) {
    assert.ok(SYSTEMS.includes(c.a) && SYSTEMS.includes(c.b), `${c.a} vs ${c.b}`);
    assert.ok(['oracle', 'judge_rm'].includes(c.judge));
    assert.ok(c.n > 0);
    for (const f of [c.win, c.tie, c.lose]) assert.ok(f >= 0 && f <= 1);
    assert.ok(Math.abs(c.win + c.tie + c.lose - 1) < 1e-9);
    assert.ok(Math.abs(c.delta - (c.win - c.lose)) < 1e-9);
    assert.ok(
      c.ci95[0] <= c.delta + 1e-9 &&
        c.delta <= c.ci95[1] + 1e-9 &&
        c.ci95[0] >= -1 &&
        c.ci95[1] <= 1,
    );
  }
  assert.ok(r.comparisons.some((c) => c.a === 'pit' && c.b === 'original' && c.judge === 'oracle'));
  assert.ok(r.comparisons.some((c) => c.a === 'pit' && c.b === 'self_refine'));
  assert.equal(
    [...new Set(r.temperatureSweep.map((t) => t.temperature))],
    r.config.improve.temperatures,
  );
  assert.equal([...new Set(r.curriculumAblation.map((a) => a.curriculum))].sort(), [
    'round 0 only',
    'round 1 only',
    'rounds 0+1',
  ]);
  const its = r.iterations.filter(
    (i) => i.system === 'pit' && i.rule === 'fixed' && i.judge === 'oracle',
  );
  assert.equal(
    its.map((i) => i.iteration),
    [...Array(r.config.improve.iterations + 1).keys()],
  );
  assert.ok(r.iterations.some((i) => i.rule === 'gap'));
  // the reward models on PIT's own edits: every test row the lead judge scored differently
  const { original, pit } = r.distributions;
  const edits = original!.filter((v, i) => Math.abs(v - pit![i]!) > 1e-6).length;
  assert.is(r.rewardAgreement.judge, r.judges[0]);
  for (const a of [r.rewardAgreement.rpit, r.rewardAgreement.rp]) {
    assert.is(a.edits, edits);
    if (edits > 0) assert.ok(a.ci95![0] <= a.accuracy && a.accuracy <= a.ci95![1]);
  }
  // PIT RL records which update each curriculum round kept
  assert.equal(
    r.pitRl.rounds.map((x) => x.round),
    r.config.pitRl.rounds,
  );
  for (const x of r.pitRl.rounds) assert.ok(x.keptUpdate! >= 0 && x.keptUpdate! <= x.updates);
  // its held-out check improves each distinct validation prompt `validationDraws` times, and
  // the agreement's interval resamples those prompts
  const v = r.pitRl.validationAgreement!;
  assert.is(v.draws, r.config.pitRl.validationDraws);
  assert.ok(v.prompts > 0 && v.prompts <= r.config.pitRl.validationSize, `${v.prompts} prompts`);
  for (const a of [v.rpit, v.rp]) {
    assert.ok(a.edits <= v.prompts * v.draws);
    if (a.edits > 0) assert.ok(a.ci95![0] <= a.accuracy && a.accuracy <= a.ci95![1]);
  }
}

test('bad configuration fails before any work, naming the key', () => {
  assert.throws(
    () => resolvePipelineConfig('smoke', { sft: { stepz: 3 } }),
    /Unknown config\.sft key 'stepz'/,
  );
  assert.throws(
    () => resolvePipelineConfig('smoke', { sft: { maxSteps: 'many' } }),
    /config\.sft\.maxSteps must be a number/,
  );
  assert.throws(
    () => resolvePipelineConfig('smoke', { sft: { maxSteps: 0 } }),
    /sft\.maxSteps must be a positive integer/,
  );
  assert.throws(() => resolvePipelineConfig('smoke', { pitRl: { rounds: [2] } }), /pitRl\.rounds/);
  assert.throws(
    () => resolvePipelineConfig('smoke', { pitRl: { selectionMargin: -1 } }),
    /pitRl\.selectionMargin must be a finite number ≥ 0, got -1/,
  );
  assert.throws(
    () => resolvePipelineConfig('smoke', { improve: { samples: 0 } }),
    /improve\.samples must be a positive integer, got 0/,
  );
  assert.throws(
    () => resolvePipelineConfig('smoke', { reward: { pooling: 'mean' } }),
    /reward\.pooling must be one of eos, tokens, eos\+loglik, got "mean"/,
  );
  assert.throws(() => resolvePipelineConfig('tiny' as never), /Unknown profile 'tiny'/);
});

/** `pitlab experiment loss` on a warm smoke cache: its rows, their splits and their ranges. */
async function checkLossAblation(cacheDir: string): Promise<void> {
  const { result, nodes } = await runExperiment('loss', { profile: 'smoke', cacheDir });
  const done = nodes.filter((n) => n.status === 'done').map((n) => n.name);
  assert.equal(done.sort(), ['exp_loss', 'rm_rpit_diff', 'rm_rpit_swap']);
  const ablation = result as LossAblation;
  assert.is(ablation.judge, 'oracle');
  assert.equal(
    ablation.rows.map((r) => r.loss),
    ['five-constraints', 'swap-only', 'rp-difference', 'none'],
  );
  for (const row of ablation.rows) {
    for (const part of [row.pairs.valid, row.pairs.test, row.edits.valid, row.edits.test]) {
      if (part.n === 0) continue; // no edit changed the judge's score: nothing to rank
      assert.ok(part.mean >= 0 && part.mean <= 1, `${row.model}: ${part.mean}`);
      assert.ok(part.ci95[0] <= part.mean && part.mean <= part.ci95[1], `${row.model}: interval`);
    }
    assert.ok(row.pairs.valid.n > 0 && row.pairs.test.n > 0, `${row.model}: held-out pairs`);
  }
}

test('smoke pipeline: schema, report, a warm rerun is all cache hits', async () => {
  const cacheDir = path.join(root, 'cache');
  const outDir = path.join(root, 'out');
  const first = await runPipeline({ profile: 'smoke', seed: 0, cacheDir, outDir });
  const r = JSON.parse(readFileSync(path.join(outDir, 'results.json'), 'utf8')) as Results;
  checkSchema(r);
  assert.equal(r.judges, ['oracle', 'judge_rm']);
  const html = readFileSync(path.join(outDir, 'report.html'), 'utf8');
  assert.match(html, /Plotly\.newPlot/);
  assert.not.match(html, /<script src=/, 'report is self-contained');
  assert.ok(first.nodes.every((n) => n.status === 'done'));
  // Every PIT RL check logs the exact judge's mean on the validation edits beside its R_P gain.
  const pitRl = first.nodes.find((n) => n.name === 'pit_rl')!;
  const logs = metricsFiles(new ArtifactStore(cacheDir).dir('pit_rl', pitRl.key));
  const checks = logs
    .flatMap(({ file }) => readFileSync(file, 'utf8').trim().split('\n'))
    .map((line) => JSON.parse(line) as Record<string, number>)
    .filter((row) => 'heldout/score' in row);
  assert.ok(checks.length > 0, 'PIT RL logged held-out checks');
  for (const row of checks) {
    const judged = row['heldout/judge']!;
    assert.ok(judged >= 0 && judged <= 1, `heldout/judge ${judged} at step ${row.step}`);
  }
  // A run stops at `evaluate`: the loss ablation's stages are left for `pitlab experiment loss`.
  const lossOnly = ['rm_rpit_swap', 'rm_rpit_diff', 'exp_loss'];
  const graph = pipelineGraph({ profile: 'smoke', cacheDir });
  assert.equal(
    graph
      .filter((n) => n.status !== 'cached')
      .map((n) => n.name)
      .sort(),
    lossOnly.sort(),
  );
  const second = await runPipeline({
    profile: 'smoke',
    seed: 0,
    cacheDir,
    outDir: path.join(root, 'out2'),
  });
  assert.ok(second.nodes.every((n) => n.status === 'cached'));
  assert.equal(second.results.comparisons, first.results.comparisons);
  await checkLossAblation(cacheDir);
  assert.ok(pipelineGraph({ profile: 'smoke', cacheDir }).every((n) => n.status === 'cached'));
  // Changing one stage's config makes it and its descendants stale, nothing else.
  const changed = pipelineGraph({
    profile: 'smoke',
    cacheDir,
    overrides: { judge: { maxSteps: 41 } },
  });
  const stale = changed.filter((n) => n.status === 'stale').map((n) => n.name);
  assert.equal(stale, [
    'judge_rm',
    'exp_main',
    'exp_temperature',
    'exp_curriculum',
    'exp_iterations',
    'exp_loss',
    'evaluate',
  ]);
  // One experiment on its own: only its stage and what it needs, here all cache hits.
  const one = await runExperiment('temperature', { profile: 'smoke', cacheDir });
  assert.equal(one.result, first.results.temperatureSweep);
  assert.ok(one.nodes.every((n) => n.status === 'cached' || n.name === 'evaluate'));
  assert.not.ok(
    one.nodes.some(
      (n) => ['exp_curriculum', 'exp_iterations'].includes(n.name) && n.seconds !== undefined,
    ),
    'stages the experiment does not need are not touched',
  );
});

test('the same seed in two fresh caches gives identical metrics, in-process or in workers', async () => {
  const tiny = {
    data: { maxTrain: 64, evalSize: 16, judgeSize: 40 },
    sft: { maxSteps: 8 },
    sftImprover: { maxSteps: 8 },
    reward: { maxSteps: 6 },
    gapReward: { maxSteps: 6 },
    judge: { maxSteps: 6, sftSteps: 4 },
    rlhf: { totalUpdates: 1, batchSize: 8 },
    pitRl: { totalUpdates: 1, batchSize: 8 },
    improve: { iterations: 1, temperatures: [0.4], bootstrap: 50 },
  };
  const run = (name: string, jobs: number) =>
    runPipeline({
      profile: 'smoke',
      seed: 3,
      overrides: tiny,
      jobs,
      cacheDir: path.join(root, name),
      outDir: path.join(root, `${name}-out`),
    });
  // b runs each stage in a worker process, two at a time: the numbers must not change.
  const [a, b] = [await run('a', 1), await run('b', 2)];
  const strip = (r: Results) => ({ ...r, stages: undefined, jobs: undefined });
  assert.equal(strip(a.results), strip(b.results));
  assert.equal([a.results.jobs, b.results.jobs], [1, 2]);
  for (const [name, s] of Object.entries(b.results.stages)) {
    assert.ok((s.peakRssMb ?? 0) > 0, `${name}: worker reported its peak RSS`);
  }
  assert.ok(existsSync(path.join(root, 'a-out', 'report.html')));
  // The judge's own pairs share no prompt with training or evaluation.
  const dataKey = a.nodes.find((n) => n.name === 'data')!.key;
  const splits = JSON.parse(
    readFileSync(path.join(root, 'a', 'data', dataKey, 'splits.json'), 'utf8'),
  ) as Record<string, Array<{ prompt: string }>>;
  assert.ok(splits.judge!.length > 30);
  const used = new Set([...splits.train!, ...splits.valid!, ...splits.test!].map((p) => p.prompt));
  assert.not.ok(splits.judge!.some((p) => used.has(p.prompt)));
});

test.run();
