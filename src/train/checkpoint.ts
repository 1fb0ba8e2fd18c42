/**
 * Stage checkpoints: the weights of every model a stage trains, optimizer moments, RNG states,
 * step counters and the config hash in one safetensors file, written atomically. The previous
 * file is kept as `<path>.prev`, so a crash mid-write or a bad checkpoint still leaves one good.
 *
 * Tensor names: `model/<model>/<param>`, `optim/<optimizer>/{m,v}/<index>`. Metadata holds
 * `format`, `stage`, `config_hash`, `counters`, `rngs`, `optim_steps` and `extra` (JSON strings).
 */
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { loadSafetensors, type StTensor, saveSafetensors } from '../models';
import type { Rng, RngState } from '../runtime';
import type { AdamW } from './optim';

const FORMAT = 'pitlab-stage/1';

/** The live objects a checkpoint covers; the same shape is used to save and to restore. */
export interface StageObjects {
  /** Trainable variables per model, by parameter name (e.g. `trunk.params` plus head weights). */
  models: Record<string, Map<string, tf.Variable>>;
  optimizers?: Record<string, AdamW>;
  rngs?: Record<string, Rng>;
}

/** Plain values saved with the tensors. */
export interface StageMeta {
  /** Stage name, e.g. 'sft', 'reward', 'ppo'; a checkpoint of another stage is refused. */
  stage: string;
  /** `configHash(config)`: resuming under a different config is refused. */
  configHash: string;
  /** Step counters (global step, epoch, tokens seen, ...). */
  counters: Record<string, number>;
  /** Anything else JSON-able the stage needs to continue (e.g. an adaptive KL coefficient). */
  extra?: Record<string, unknown>;
}

/** A checkpoint read from disk, not yet applied to live objects. */
export interface StageCheckpoint extends StageMeta {
  path: string;
  rngs: Record<string, RngState>;
  optimSteps: Record<string, number>;
  tensors: Map<string, StTensor>;
}

const host = (t: tf.Tensor): StTensor => ({
  dtype: 'F32',
  shape: t.shape,
  data: t.dataSync() as Float32Array,
});

/** Path of the kept previous checkpoint. */
export const previousPath = (path: string) => `${path}.prev`;

/** Writes a checkpoint atomically; the file it replaces becomes `<path>.prev`. */
export function saveStageCheckpoint(path: string, objects: StageObjects, meta: StageMeta): void {
  const tensors = new Map<string, StTensor>();
  for (const [model, params] of Object.entries(objects.models)) {
    for (const [name, v] of params) tensors.set(`model/${model}/${name}`, host(v));
  }
  const optimSteps: Record<string, number> = {};
  for (const [name, opt] of Object.entries(objects.optimizers ?? {})) {
    const s = opt.state();
    optimSteps[name] = s.step;
    for (const [i, t] of s.m.entries()) tensors.set(`optim/${name}/m/${i}`, host(t));
    for (const [i, t] of s.v.entries()) tensors.set(`optim/${name}/v/${i}`, host(t));
  }
  const rngs: Record<string, RngState> = {};
  for (const [name, rng] of Object.entries(objects.rngs ?? {})) rngs[name] = rng.getState();
  mkdirSync(dirname(path), { recursive: true });
  if (existsSync(path)) copyFileSync(path, previousPath(path));
  saveSafetensors(path, tensors, {
    format: FORMAT,
    stage: meta.stage,
    config_hash: meta.configHash,
    counters: JSON.stringify(meta.counters),
    rngs: JSON.stringify(rngs),
    optim_steps: JSON.stringify(optimSteps),
    extra: JSON.stringify(meta.extra ?? {}),
  });
}

/**
 * Reads a checkpoint. With `expect`, a different stage or config hash is an error that names
 * both values (resuming a run under a changed config would silently mix two trajectories).
 */
export function loadStageCheckpoint(
  path: string,
  expect: { stage?: string; configHash?: string } = {},
): StageCheckpoint {
  const file = loadSafetensors(path);
  const m = file.metadata;
  if (m.format !== FORMAT) {
    throw new Error(`${path}: not a pitlab stage checkpoint (format '${m.format}')`);
  }
  if (expect.stage !== undefined && m.stage !== expect.stage) {
    throw new Error(`${path}: checkpoint of stage '${m.stage}', expected '${expect.stage}'`);
  }
  if (expect.configHash !== undefined && m.config_hash !== expect.configHash) {
    throw new Error(
      `${path}: saved with config hash ${m.config_hash}, current config hashes to ${expect.configHash}; ` +
        'resume with the same config or start a fresh run in another directory',
    );
  }
  return {
    path,
    stage: m.stage ?? '',
    configHash: m.config_hash ?? '',
    counters: JSON.parse(m.counters ?? '{}'),
    rngs: JSON.parse(m.rngs ?? '{}'),
    optimSteps: JSON.parse(m.optim_steps ?? '{}'),
    extra: JSON.parse(m.extra ?? '{}'),
    tensors: file.tensors,
  };
}

/** The newest loadable checkpoint at `path` or its `.prev`, or undefined when neither loads. */
export function latestStageCheckpoint(
  path: string,
  expect: { stage?: string; configHash?: string } = {},
): StageCheckpoint | undefined {
  for (const p of [path, previousPath(path)]) {
    if (!existsSync(p)) continue;
    try {
      return loadStageCheckpoint(p, expect);
    } catch (err) {
      // a config mismatch is the caller's mistake, not a torn file: report it
      if ((err as Error).message.includes('config hash')) throw err;
    }
  }
  return undefined;
}

function tensorFor(ckpt: StageCheckpoint, name: string, like: tf.Tensor): tf.Tensor {
  const t = ckpt.tensors.get(name);
  if (!t) throw new Error(`${ckpt.path}: missing tensor '${name}' (shape [${like.shape}])`);
  if (t.shape.join(',') !== like.shape.join(',')) {
    throw new Error(
      `${ckpt.path}: tensor '${name}' has shape [${t.shape}], expected [${like.shape}]`,
    );
  }
  return tf.tensor(t.data, t.shape, 'float32');
}

/** Copies a checkpoint into live objects: weights, optimizer moments and steps, RNG states. */
export function restoreStageCheckpoint(ckpt: StageCheckpoint, objects: StageObjects): void {
  for (const [model, params] of Object.entries(objects.models)) {
    for (const [name, v] of params) {
      const t = tensorFor(ckpt, `model/${model}/${name}`, v);
      v.assign(t);
      t.dispose();
    }
  }
  for (const [name, opt] of Object.entries(objects.optimizers ?? {})) {
    const s = opt.state();
    const m = s.m.map((x, i) => tensorFor(ckpt, `optim/${name}/m/${i}`, x));
    const v = s.v.map((x, i) => tensorFor(ckpt, `optim/${name}/v/${i}`, x));
    opt.setState(ckpt.optimSteps[name] ?? 0, m, v);
    tf.dispose([...m, ...v]);
  }
  for (const [name, rng] of Object.entries(objects.rngs ?? {})) {
    const state = ckpt.rngs[name];
    if (!state) throw new Error(`${ckpt.path}: missing RNG state '${name}'`);
    rng.setState(state);
  }
}

/** Raised when a loss or gradient is NaN/Inf; names the stage and step. */
export class NonFiniteError extends Error {
  constructor(
    readonly stage: string,
    readonly step: number,
    readonly what: string,
    readonly value: number,
  ) {
    super(
      `${stage}: non-finite ${what} (${value}) at step ${step}; stopped without applying it. ` +
        'The last checkpoint written before this step is intact and loadable.',
    );
    this.name = 'NonFiniteError';
  }
}

/** Throws `NonFiniteError` unless `value` is finite. */
export function assertFinite(value: number, stage: string, step: number, what = 'loss'): void {
  if (!Number.isFinite(value)) throw new NonFiniteError(stage, step, what, value);
}
