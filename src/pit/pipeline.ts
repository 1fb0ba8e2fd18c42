/**
 * `runPipeline`: the whole PIT reproduction as one call — what `pitlab run` and the notebooks use.
 *
 * Responsibilities: resolve the config (failing before any work), build the stage graph, run it
 * against the artifact cache, run the evaluation stage, and write `results.json` (every number
 * with config, seed, versions, backend, judge and n) and the offline `report.html`.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { fractionCi95 } from '../eval/proportion';
import { runtime } from '../runtime';
import { ArtifactStore } from './cache';
import { type PipelineConfig, type Profile, resolvePipelineConfig } from './config';
import {
  EXPERIMENTS,
  type ExperimentName,
  experimentStages,
  type RlhfRow,
} from './experiment_stages';
import type { EvalResults } from './experiments';
import { type GraphNode, inProcess, planGraph, runGraph, type StageDef } from './graph';
import { buildReport } from './report_content';
import { type PitRlSummary, pitStages, readSplits } from './stages';
import { workerExecutor } from './workers';

export const ROOT = path.resolve(__dirname, '..', '..');
/**
 * The "project version" in every cache key: the package version plus a hash of the sources under
 * src/, so changing code (not only config) recomputes what it could have changed. Computed on
 * first use (it reads every source file), then remembered.
 */
export function projectVersion(): string {
  cachedVersion ??= `${JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version}+${sourceHash(path.join(ROOT, 'src'))}`;
  return cachedVersion;
}
let cachedVersion: string | undefined;

function sourceHash(dir: string): string {
  const hash = createHash('sha256');
  const walk = (d: string) => {
    const entries = readdirSync(d, { withFileTypes: true }).sort((a, b) =>
      a.name < b.name ? -1 : 1,
    );
    for (const entry of entries) {
      const full = path.join(d, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.ts')) hash.update(entry.name).update(readFileSync(full));
    }
  };
  walk(dir);
  return hash.digest('hex').slice(0, 10);
}
export const DEFAULT_CACHE = path.join(ROOT, '.cache', 'stages');

export interface RunOptions {
  profile?: Profile;
  seed?: number;
  /** Results directory; default `runs/<profile>-seed<seed>-<config key>`. */
  outDir?: string;
  /** A preference file to run on instead of the bundled synthetic task. */
  data?: { file: string; format?: string };
  /** Partial config merged over the profile (unknown keys are errors). */
  overrides?: unknown;
  cacheDir?: string;
  /**
   * Stages run at once. 1 (the default) runs each stage in this process; more runs each stage in
   * its own worker process, overlapping independent stages (one per core is the useful most).
   */
  jobs?: number;
  onStatus?: (node: GraphNode) => void;
  onProgress?: (stage: string, fraction: number, detail?: string) => void;
}

export interface PipelineRun {
  results: Results;
  outDir: string;
  nodes: GraphNode[];
}

export interface Results extends EvalResults {
  /** M_P^SFT vs M_P^RL per judge (the RLHF stage's effect). */
  rlhf: RlhfRow[];
  config: PipelineConfig;
  profile: Profile;
  seed: number;
  versions: { pitlab: string; tfjs: string; node: string };
  backend: string;
  judges: string[];
  /** Stages run at once (`RunOptions.jobs`). */
  jobs: number;
  /** Per stage: wall-clock, cache hit, and peak RSS of its worker process (jobs > 1 only). */
  stages: Record<string, { seconds: number; cached: boolean; peakRssMb?: number }>;
  /**
   * Held-out metrics with Wilson 95% intervals over `heldoutPairs`: R_P and R_PIT over the valid
   * and test pairs together (`bySplit` has each split's own value), the judge RM over test.
   */
  rewardModels: {
    rp: {
      heldoutAccuracy: number;
      heldoutAccuracyCi95?: [number, number];
      heldoutPairs: number;
      bySplit: HeldOutSplits;
    };
    rpit: {
      swapAccuracy: number;
      swapAccuracyCi95?: [number, number];
      selfGapAbsMean: number;
      heldoutAccuracy: number;
      heldoutPairs: number;
      bySplit: HeldOutSplits;
    };
    judge: {
      heldoutAccuracy: number;
      heldoutAccuracyCi95?: [number, number];
      heldoutPairs: number;
    };
  };
  /** PIT RL's held-out selection: which update each curriculum round kept. */
  pitRl: PitRlSummary;
}

/**
 * Every stage, each wrapped in a leak check: a stage must leave `tf.memory().numTensors` where it
 * found it, or the run fails naming the stage (notebooks run many stages in one kernel).
 */
export function pipelineStages(): StageDef<PipelineConfig>[] {
  return [...pitStages(), ...experimentStages()].map((stage) => ({
    ...stage,
    async run(ctx) {
      const before = tf.memory().numTensors;
      await stage.run(ctx);
      const leaked = tf.memory().numTensors - before;
      if (leaked !== 0) throw new Error(`stage '${stage.name}' left ${leaked} tensors alive`);
    },
  }));
}

function resolveRun(options: RunOptions): {
  config: PipelineConfig;
  profile: Profile;
  seed: number;
} {
  const profile = options.profile ?? 'default';
  const overrides = (options.overrides ?? {}) as Record<string, unknown>;
  const config = resolvePipelineConfig(profile, overrides);
  if (options.data) {
    config.data.source = path.resolve(options.data.file);
    if (options.data.format) config.data.format = options.data.format;
  }
  const seed = options.seed ?? 0;
  if (!Number.isInteger(seed) || seed < 0)
    throw new Error(`--seed must be a non-negative integer, got ${seed}`);
  return { config, profile, seed };
}

/** Every stage reads the whole config: each stage's key covers all sections it could use. */
function stageConfigs(config: PipelineConfig): Record<string, unknown> {
  const {
    data,
    model,
    judgeModel,
    sft,
    sftImprover,
    reward,
    gapReward,
    judge,
    rlhf,
    pitRl,
    improve,
  } = config;
  const c = (...parts: unknown[]) => parts;
  const { rounds: _rounds, ...ablation } = pitRl; // the ablations fix their own rounds
  const { temperature, responseTemperature, maxNewTokens } = improve;
  const checkSampling = [temperature, responseTemperature, maxNewTokens];
  return {
    data: c(data),
    tokenizer: c(model.vocabSize, model.blockSize),
    sft_mp: c(model, sft),
    sft_pit: c(model, sftImprover),
    sft_self_refine: c(model, sftImprover),
    rm_rp: c(reward),
    rm_rpit: c(gapReward),
    judge_rm: c(judgeModel, judge),
    rl_mp: c(rlhf),
    // The held-out check samples y_0 and the improver as the evaluation does.
    pit_rl: c(pitRl, checkSampling),
    pit_rl_r0: c(ablation, checkSampling),
    pit_rl_r1: c(ablation, checkSampling),
    exp_main: c(improve, data.evalSize),
    exp_temperature: c(improve, data.evalSize),
    exp_curriculum: c(improve, data.evalSize),
    exp_iterations: c(improve, data.evalSize),
    evaluate: c(improve, data.evalSize, rlhf.temperature),
  };
}

/** The graph with each stage's status, without running anything (`pitlab graph`). */
export function pipelineGraph(options: RunOptions = {}): GraphNode[] {
  const { config, seed } = resolveRun(options);
  return planGraph(pipelineStages(), {
    store: new ArtifactStore(options.cacheDir ?? DEFAULT_CACHE),
    seed,
    version: projectVersion(),
    configs: stageConfigs(config),
  });
}

/** Runs the stage graph (up to `targets`, default all) against the cache, as `options` say. */
async function runStages(options: RunOptions, targets?: string[]) {
  const { config, profile, seed } = resolveRun(options);
  const backend = await runtime.ready();
  const store = new ArtifactStore(options.cacheDir ?? DEFAULT_CACHE);
  store.sweep();
  const jobs = options.jobs ?? 1;
  if (!Number.isInteger(jobs) || jobs < 1)
    throw new Error(`--jobs must be a positive integer, got ${jobs}`);
  const nodes = await runGraph(
    pipelineStages(),
    {
      store,
      seed,
      version: projectVersion(),
      configs: stageConfigs(config),
      runConfig: config,
      jobs,
      execute: jobs > 1 ? workerExecutor(backend) : inProcess,
      onStatus: options.onStatus,
      onProgress: options.onProgress,
    },
    targets,
  );
  const dirOf = (name: string) => store.dir(name, nodes.find((n) => n.name === name)!.key);
  return { config, profile, seed, backend, jobs, nodes, dirOf };
}

const EXPERIMENT_FILES: Record<ExperimentName, string> = {
  main: 'main.json',
  temperature: 'temperature.json',
  curriculum: 'curriculum.json',
  iterations: 'iterations.json',
};

/**
 * One experiment (`pitlab experiment <name>`): runs the graph up to that experiment's stage, so
 * only what it needs is trained or read from the cache, and returns its part of the results.
 */
export async function runExperiment(
  name: ExperimentName,
  options: RunOptions = {},
): Promise<{ result: unknown; nodes: GraphNode[] }> {
  if (!(name in EXPERIMENTS)) {
    throw new Error(`Unknown experiment '${name}'. Known: ${Object.keys(EXPERIMENTS).join(', ')}`);
  }
  const stage = EXPERIMENTS[name];
  const { nodes, dirOf } = await runStages(options, [stage]);
  const file = path.join(dirOf(stage), EXPERIMENT_FILES[name]);
  return { result: JSON.parse(readFileSync(file, 'utf8')), nodes };
}

/** One held-out metric of a reward model on each split. */
export interface HeldOutSplits {
  valid: number;
  test: number;
}

type EvalStats = Record<string, number>;

/**
 * A reward stage's held-out metrics (its summary's `lastEval` on valid and `testEval` on test),
 * pooled over both splits with each split weighted by its pairs: every metric is a per-pair mean.
 */
function heldOut(
  summary: { lastEval: EvalStats; testEval: EvalStats },
  nValid: number,
  nTest: number,
) {
  const { lastEval: valid, testEval: test } = summary;
  const pairs = nValid + nTest;
  return {
    pairs,
    value: (key: string) => (valid[key]! * nValid + test[key]! * nTest) / pairs,
    bySplit: (key: string): HeldOutSplits => ({ valid: valid[key]!, test: test[key]! }),
  };
}

/** Wilson 95% interval of an accuracy over n pairs; undefined when nothing was evaluated. */
const accuracyCi = (p: number | undefined, n: number) =>
  p !== undefined && Number.isFinite(p) && n > 0 ? fractionCi95(p, n) : undefined;

export async function runPipeline(options: RunOptions = {}): Promise<PipelineRun> {
  const { config, profile, seed, backend, jobs, nodes, dirOf } = await runStages(options);
  const evalJson = JSON.parse(readFileSync(path.join(dirOf('evaluate'), 'eval.json'), 'utf8'));
  const summary = (name: string) =>
    JSON.parse(readFileSync(path.join(dirOf(name), 'summary.json'), 'utf8'));
  const splits = readSplits(dirOf('tokenizer'));
  const rp = heldOut(summary('rm_rp'), splits.valid.length, splits.test.length);
  const rpit = heldOut(summary('rm_rpit'), splits.valid.length, splits.test.length);
  const judge = summary('judge_rm').lastEval ?? {};
  const results: Results = {
    config,
    profile,
    seed,
    versions: { pitlab: projectVersion(), tfjs: tf.version.tfjs, node: process.version },
    backend,
    jobs,
    stages: Object.fromEntries(
      nodes.map((n) => [
        n.name,
        {
          seconds: n.seconds ?? 0,
          cached: n.status === 'cached',
          ...(n.peakRssMb === undefined ? {} : { peakRssMb: Math.round(n.peakRssMb) }),
        },
      ]),
    ),
    rewardModels: {
      rp: {
        heldoutAccuracy: rp.value('eval_accuracy'),
        heldoutAccuracyCi95: accuracyCi(rp.value('eval_accuracy'), rp.pairs),
        heldoutPairs: rp.pairs,
        bySplit: rp.bySplit('eval_accuracy'),
      },
      rpit: {
        swapAccuracy: rpit.value('eval_pit/swap_accuracy'),
        swapAccuracyCi95: accuracyCi(rpit.value('eval_pit/swap_accuracy'), rpit.pairs),
        selfGapAbsMean: rpit.value('eval_pit/self_gap_abs_mean'),
        heldoutAccuracy: rpit.value('eval_accuracy'),
        heldoutPairs: rpit.pairs,
        bySplit: rpit.bySplit('eval_pit/swap_accuracy'),
      },
      judge: {
        heldoutAccuracy: judge.eval_accuracy,
        heldoutAccuracyCi95: accuracyCi(judge.eval_accuracy, splits.test.length),
        heldoutPairs: splits.test.length,
      },
    },
    pitRl: summary('pit_rl') as PitRlSummary,
    ...evalJson,
  };
  const key = nodes.find((n) => n.name === 'evaluate')!.key.slice(0, 8);
  const outDir = options.outDir ?? path.join(ROOT, 'runs', `${profile}-seed${seed}-${key}`);
  mkdirSync(outDir, { recursive: true });
  writeFileSync(path.join(outDir, 'results.json'), `${JSON.stringify(results, null, 1)}\n`);
  writeFileSync(
    path.join(outDir, 'report.html'),
    buildReport(results, (name) => dirOf(name)),
  );
  return { results, outDir, nodes };
}
