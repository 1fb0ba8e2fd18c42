/**
 * The stage registry: every stage of the PIT pipeline, in one list. The graph, the CLI, the
 * worker processes and the notebooks read stages only from here.
 *
 *   data ─▶ tokenizer ─┬▶ sft_mp ─┬▶ rm_rp ─┬▶ rl_mp ───────────┐
 *                      │          │         ├▶ rm_rpit ─┐        │   (R_P: pit_rl's held-out check)
 *                      │          ├▶ sft_pit ───────────┴▶ pit_rl (+ r0, r1) ─┐
 *                      │          └▶ sft_self_refine ─────────────────────────┼▶ experiments
 *                      └▶ judge_rm ───────────────────────────────────────────┘
 *
 *   experiments:  exp_temperature ───┐
 *                 exp_main ─┬▶ exp_curriculum ──┼▶ evaluate (+ M_P^SFT vs M_P^RL)
 *                           ├▶ exp_iterations ──┘
 *                           └▶ exp_loss ◀─ rm_rpit, rm_rpit_swap, rm_rpit_diff (on request only)
 *
 * Adding a stage: one `PipelineStage` in the module of its family, listed here, plus its test
 * (see src/pit/README.md).
 */
import * as tf from '@tensorflow/tfjs';
import type { PipelineStage } from './common';
import { dataStages } from './data';
import { experimentStages } from './experiments';
import { rewardStages } from './reward';
import { rlStages } from './rl';
import { sftStages } from './sft';

/**
 * Every stage, each wrapped in a leak check: a stage must leave `tf.memory().numTensors` where it
 * found it, or the run fails naming the stage (notebooks run many stages in one kernel).
 */
export function pipelineStages(): PipelineStage[] {
  return [...dataStages, ...sftStages, ...rewardStages, ...rlStages, ...experimentStages()].map(
    (stage) => ({
      ...stage,
      async run(ctx) {
        const before = tf.memory().numTensors;
        await stage.run(ctx);
        const leaked = tf.memory().numTensors - before;
        if (leaked !== 0) throw new Error(`stage '${stage.name}' left ${leaked} tensors alive`);
      },
    }),
  );
}

export * from './artifacts';
export type { PipelineStage } from './common';
export { EXPERIMENTS, type ExperimentName, type RlhfRow } from './experiments';
export type { PitRlSummary } from './rl';
