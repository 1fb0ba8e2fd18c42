/**
 * PPO stage checkpoints: policy, critic, optimizer moments, RNG streams, KL coefficient and step
 * counters in one safetensors file written atomically, so a killed run resumes the exact stream
 * (TRL's PPO cannot resume, huggingface/trl#2657). The reference model is frozen and not saved.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { Gpt } from '../../models';
import { loadSafetensors, paramsToTensors, type StTensor, saveSafetensors } from '../../models';
import type { Rng, RngState } from '../../runtime';
import type { AdamW } from '../optim';
import type { ValueModel } from './value';

const FORMAT = 'pitlab-ppo/1';
const FILE = 'ppo.safetensors';

/** Counters that travel with a checkpoint. */
export interface PpoState {
  /** Updates completed. */
  update: number;
  /** Episodes (responses) trained on. */
  episode: number;
  /** Current KL coefficient β (changes under the adaptive controller). */
  klCoef: number;
  rngs: Record<string, RngState>;
}

function host(t: tf.Tensor): StTensor {
  return { dtype: 'F32', shape: t.shape, data: t.dataSync() as Float32Array };
}

/** Writes `dir/ppo.safetensors` atomically (temp file + rename). */
export function savePpoState(
  dir: string,
  state: PpoState,
  models: { policy: Gpt; critic: ValueModel },
  optimizer: AdamW,
  rngs: Record<string, Rng>,
): void {
  mkdirSync(dir, { recursive: true });
  const tensors = new Map<string, StTensor>([
    ...paramsToTensors(models.policy.params, 'policy.'),
    ...paramsToTensors(models.critic.trunk.params, 'critic.'),
    ['critic_head.weight', host(models.critic.headWeight)],
    ['critic_head.bias', host(models.critic.headBias)],
  ]);
  const opt = optimizer.state();
  for (const [i, m] of opt.m.entries()) tensors.set(`opt.m.${i}`, host(m));
  for (const [i, v] of opt.v.entries()) tensors.set(`opt.v.${i}`, host(v));
  const rngStates = Object.fromEntries(Object.entries(rngs).map(([k, r]) => [k, r.getState()]));
  saveSafetensors(join(dir, FILE), tensors, {
    format: FORMAT,
    state: JSON.stringify({ ...state, rngs: rngStates, optStep: opt.step }),
  });
}

/**
 * Restores models, optimizer and RNG streams from `dir` in place; `undefined` when `dir` holds no
 * checkpoint yet (a fresh run).
 */
export function loadPpoState(
  dir: string,
  models: { policy: Gpt; critic: ValueModel },
  optimizer: AdamW,
  rngs: Record<string, Rng>,
): PpoState | undefined {
  const path = join(dir, FILE);
  if (!existsSync(path)) return undefined;
  const file = loadSafetensors(path);
  if (file.metadata.format !== FORMAT) {
    throw new Error(`${path}: not a PPO checkpoint (format '${file.metadata.format}')`);
  }
  const get = (name: string): tf.Tensor => {
    const t = file.tensors.get(name);
    if (!t) throw new Error(`${path}: missing tensor '${name}'`);
    return tf.tensor(t.data, t.shape, 'float32');
  };
  const assign = (v: tf.Variable, name: string) => {
    const t = get(name);
    v.assign(t);
    t.dispose();
  };
  for (const [name, v] of models.policy.params) assign(v, `policy.${name}`);
  for (const [name, v] of models.critic.trunk.params) assign(v, `critic.${name}`);
  assign(models.critic.headWeight, 'critic_head.weight');
  assign(models.critic.headBias, 'critic_head.bias');
  const saved = JSON.parse(file.metadata.state ?? '{}') as PpoState & { optStep: number };
  const m = optimizer.vars.map((_, i) => get(`opt.m.${i}`));
  const v = optimizer.vars.map((_, i) => get(`opt.v.${i}`));
  optimizer.setState(saved.optStep, m, v);
  tf.dispose([...m, ...v]);
  for (const [k, r] of Object.entries(rngs)) {
    const s = saved.rngs[k];
    if (s) r.setState(s);
  }
  return { update: saved.update, episode: saved.episode, klCoef: saved.klCoef, rngs: saved.rngs };
}
