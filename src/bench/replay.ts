/**
 * The stage rows' PyTorch baselines replay the very batches pitlab's trainers ran: the stage bench
 * records each step's micro-batches (`TrainerHooks.onMicroBatch`) and writes them here with what
 * the loss reads (readout and log-likelihood weights for the reward models), and
 * `bench/torch_reference.py --stage-replay FILE` runs the same steps on the same model in PyTorch.
 * So a row's ratio compares the same padded tokens, layouts and losses, not an LM step of another
 * shape.
 */
import { writeFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { type GptConfig, loglikLayout, type RewardModel, readoutWeights } from '../models';
import type { MicroBatch, TrainerHooks } from '../train/loop';

/** One micro-batch as the PyTorch replay reads it. */
interface ReplayPart {
  B: number;
  T: number;
  ids: number[];
  /** Real (unpadded) tokens: the rows' throughput unit. */
  tokens: number;
  /** SFT: target positions that count [B·(T−1)] and the batch's target count. */
  lossMask?: number[];
  normaliser?: number;
  /** Reward models: head readout weights [B·T], log-likelihood weights [B·(T−1)], pairs. */
  readout?: number[];
  loglik?: number[];
  /** R_PIT: [B, B], row b's y_ref term is row j's y term. */
  fromRow?: number[];
  pairs?: number;
}

export interface ReplayWorkload {
  /** The stage row's workload name; the PyTorch row takes the same one. */
  workload: string;
  kind: 'sft' | 'rp' | 'rpit';
  lr: number;
  /** The weights the trainer started from, by pitlab's names ([in, out] matrices). */
  initial: Record<string, number[]>;
  /** The trainer's loss at step 1: the replay computes its own from `initial` to check itself. */
  firstLoss: number;
  /** 'eos+loglik' reward models: λ of the log-likelihood term. */
  loglikWeight?: number;
  /** Each optimizer step's micro-batches. */
  steps: ReplayPart[][];
}

/**
 * Hooks that collect a trainer's micro-batches, one list per optimizer step, and its step-1 loss
 * (the trainer must log every step), from the weights it starts with.
 */
export class StepRecorder {
  readonly steps: MicroBatch[][] = [[]];
  readonly initial: Record<string, number[]>;
  firstLoss = Number.NaN;

  constructor(params: Map<string, tf.Variable>) {
    this.initial = Object.fromEntries(
      [...params].map(([name, v]) => [name, Array.from(v.dataSync())]),
    );
  }

  get hooks(): TrainerHooks {
    return {
      onMicroBatch: (b) => this.steps[this.steps.length - 1]!.push(b),
      onProgress: () => {
        this.steps.push([]);
      },
      onLog: (row) => {
        if (row.step === 1 && row.loss !== undefined) this.firstLoss = Number(row.loss);
      },
    };
  }

  /** The recorded steps (each non-empty) with the replay's starting point. */
  done(): { steps: MicroBatch[][]; initial: Record<string, number[]>; firstLoss: number } {
    if (!Number.isFinite(this.firstLoss)) {
      throw new Error('StepRecorder: no step-1 loss was logged (logEvery must be 1)');
    }
    const steps = this.steps.filter((s) => s.length > 0);
    return { steps, initial: this.initial, firstLoss: this.firstLoss };
  }
}

function realTokens(b: MicroBatch): number {
  return b.mask.reduce((a, v) => a + v, 0);
}

/** An SFT trainer's recorded steps as a replay workload. */
export function sftReplay(workload: string, lr: number, recorded: StepRecorder): ReplayWorkload {
  const { steps, initial, firstLoss } = recorded.done();
  const part = (b: MicroBatch): ReplayPart => {
    if (!b.lossMask || b.normaliser === undefined) {
      throw new Error(`sftReplay: micro-batch without lossMask/normaliser in '${workload}'`);
    }
    return {
      B: b.B,
      T: b.T,
      ids: Array.from(b.ids),
      tokens: realTokens(b),
      lossMask: Array.from(b.lossMask),
      normaliser: b.normaliser,
    };
  };
  return { workload, kind: 'sft', lr, initial, firstLoss, steps: steps.map((s) => s.map(part)) };
}

/**
 * A reward trainer's recorded steps as a replay workload, with the readout and log-likelihood
 * weights `rm.rawScores` computes from the same rows.
 */
export function rewardReplay(
  workload: string,
  lr: number,
  rm: RewardModel,
  recorded: StepRecorder,
): ReplayWorkload {
  if (rm.pooling !== 'eos+loglik' || rm.kind === 'rpit-diff') {
    throw new Error(
      `rewardReplay: replays 'eos+loglik' R_P and R_PIT, not ${rm.kind}/${rm.pooling}`,
    );
  }
  const gap = rm.kind === 'rpit';
  const part = (b: MicroBatch): ReplayPart => {
    const ids = tf.tensor2d(b.ids, [b.B, b.T], 'int32');
    try {
      const layout = loglikLayout(ids, b.lastIndex, gap);
      if (layout.ref?.extra) {
        throw new Error(`rewardReplay: '${workload}' has y_refs that are no row's y`);
      }
      return {
        B: b.B,
        T: b.T,
        ids: Array.from(b.ids),
        tokens: realTokens(b),
        readout: Array.from(readoutWeights(ids, b.lastIndex, gap, 'eos')),
        loglik: Array.from(layout.weights),
        ...(layout.ref ? { fromRow: Array.from(layout.ref.fromRow) } : {}),
        pairs: b.pairs,
      };
    } finally {
      ids.dispose();
    }
  };
  const { steps, initial, firstLoss } = recorded.done();
  return {
    workload,
    kind: rm.kind,
    lr,
    loglikWeight: rm.loglikWeight,
    initial,
    firstLoss,
    steps: steps.map((s) => s.map(part)),
  };
}

/** Writes the replay file `torch_reference.py --stage-replay` reads. */
export function writeReplay(file: string, model: GptConfig, workloads: ReplayWorkload[]): void {
  const shape = {
    vocab: model.vocabSize,
    block: model.blockSize,
    layers: model.nLayer,
    heads: model.nHead,
    embd: model.nEmbd,
  };
  writeFileSync(file, JSON.stringify({ model: shape, workloads }));
}
