/**
 * Reward models from other models and from files: a trunk copied from an SFT model, R_PIT started
 * as a copy of R_P, and the safetensors file a stage writes (weights, kind, offset, pooling, λ and
 * trunk config in one file).
 */
import * as tf from '@tensorflow/tfjs';
import { resolveGptConfig } from './config';
import { Gpt, type ParamMap } from './gpt';
import { ScalarHead } from './heads';
import { type RewardKind, RewardModel, type RewardPooling } from './reward';
import { loadSafetensors, type StTensor, saveSafetensors } from './safetensors';

const FORMAT = 'pitlab-reward/1';

/** A trunk with copies of `model`'s weights (e.g. to start a reward model from M_P^SFT). */
export function copyTrunk(model: Gpt): Gpt {
  const params: ParamMap = new Map(
    [...model.params].map(([name, v]) => {
      const copy = v.clone();
      const variable = tf.variable(copy, true); // shares the data; the clone handle must go
      copy.dispose();
      return [name, variable];
    }),
  );
  return new Gpt(model.config, params);
}

/**
 * A reward model of `kind` that starts as a copy of `from`: trunk, head, pooling and λ (R_PIT starts
 * from R_P). The offset is not copied: training sets the new model's own.
 */
export function rewardModelFrom(from: RewardModel, kind: RewardKind): RewardModel {
  const { nEmbd } = from.trunk.config;
  return new RewardModel(kind, copyTrunk(from.trunk), {
    head: new ScalarHead(nEmbd, { weight: from.head.weight, bias: from.head.bias }),
    pooling: from.pooling,
    loglikWeight: from.loglikWeight,
  });
}

/** Saves weights, kind, offset and trunk config in one safetensors file (atomic). */
export function saveRewardModel(path: string, rm: RewardModel): void {
  const tensors = new Map<string, StTensor>();
  for (const [name, v] of rm.params()) {
    tensors.set(name, { dtype: 'F32', shape: v.shape, data: v.dataSync() as Float32Array });
  }
  saveSafetensors(path, tensors, {
    format: FORMAT,
    kind: rm.kind,
    offset: String(rm.offset),
    pooling: rm.pooling,
    loglikWeight: String(rm.loglikWeight),
    config: JSON.stringify(rm.trunk.config),
  });
}

export function loadRewardModel(path: string): RewardModel {
  const file = loadSafetensors(path);
  if (file.metadata.format !== FORMAT) {
    throw new Error(`${path}: not a pitlab reward model (format '${file.metadata.format}')`);
  }
  const config = resolveGptConfig(JSON.parse(file.metadata.config ?? '{}'));
  const take = (name: string) => {
    const t = file.tensors.get(name);
    if (!t) throw new Error(`${path}: missing tensor '${name}'`);
    return tf.tensor(t.data, t.shape, 'float32');
  };
  const params: ParamMap = new Map();
  for (const name of file.tensors.keys()) {
    if (name.startsWith('score.')) continue;
    const t = take(name);
    params.set(name, tf.variable(t, true));
    t.dispose();
  }
  const [w, b] = [take('score.weight'), take('score.bias')];
  const head = new ScalarHead(config.nEmbd, { weight: w, bias: b });
  tf.dispose([w, b]);
  // files written before pooling existed read at EOS
  const pooling = (file.metadata.pooling ?? 'eos') as RewardPooling;
  const rm = new RewardModel(file.metadata.kind as RewardKind, new Gpt(config, params), {
    head,
    pooling,
    loglikWeight: Number(file.metadata.loglikWeight ?? 2),
  });
  rm.offset = Number(file.metadata.offset ?? 0);
  return rm;
}
