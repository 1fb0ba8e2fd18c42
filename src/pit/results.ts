/**
 * `results.json`: the results type and its assembly from the stages' artifacts. Every number
 * carries the config, seed, versions, backend, judges and n it was measured with.
 */
import * as tf from '@tensorflow/tfjs';
import { fractionCi95 } from '../eval/proportion';
import type { PipelineConfig, Profile } from './config';
import type { EvalResults } from './experiments';
import type { GraphNode } from './graph';
import {
  FILES,
  type PitRlSummary,
  type RlhfRow,
  readJson,
  readSplits,
  readSummary,
} from './stages';

/** One held-out metric of a reward model on each split. */
export interface HeldOutSplits {
  valid: number;
  test: number;
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

/** The reward models' held-out metrics, from their stages' summaries. */
function rewardModelResults(dirOf: (stage: string) => string): Results['rewardModels'] {
  const splits = readSplits(dirOf('tokenizer'));
  type RewardSummary = { lastEval: EvalStats; testEval: EvalStats };
  const pooled = (stage: string) =>
    heldOut(readSummary<RewardSummary>(dirOf(stage)), splits.valid.length, splits.test.length);
  const rp = pooled('rm_rp');
  const rpit = pooled('rm_rpit');
  const judge = readSummary<{ lastEval?: EvalStats }>(dirOf('judge_rm')).lastEval ?? {};
  return {
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
      heldoutAccuracy: judge.eval_accuracy!,
      heldoutAccuracyCi95: accuracyCi(judge.eval_accuracy, splits.test.length),
      heldoutPairs: splits.test.length,
    },
  };
}

/** What a run is, beside what its stages computed. */
export interface RunFacts {
  config: PipelineConfig;
  profile: Profile;
  seed: number;
  version: string;
  backend: string;
  jobs: number;
  nodes: readonly GraphNode[];
}

/** `results.json` of a finished run, from its stages' artifacts. */
export function assembleResults(run: RunFacts, dirOf: (stage: string) => string): Results {
  const { config, profile, seed, version, backend, jobs, nodes } = run;
  return {
    config,
    profile,
    seed,
    versions: { pitlab: version, tfjs: tf.version.tfjs, node: process.version },
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
    rewardModels: rewardModelResults(dirOf),
    pitRl: readSummary<PitRlSummary>(dirOf('pit_rl')),
    ...readJson<EvalResults & { rlhf: RlhfRow[]; judges: string[] }>(
      dirOf('evaluate'),
      FILES.evaluation,
    ),
  };
}
