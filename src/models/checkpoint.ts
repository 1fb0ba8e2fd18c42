/** GPT checkpoints: one safetensors file holding the weights and, in its metadata, the config. */
import * as tf from '@tensorflow/tfjs';
import { type GptConfig, resolveGptConfig } from './config';
import { Gpt, type ParamMap, paramShapes } from './gpt';
import { loadSafetensors, type StTensor, saveSafetensors } from './safetensors';

const FORMAT = 'pitlab-gpt/1';

/** Reads every variable to host memory as safetensors entries (prefix names, e.g. for heads). */
export function paramsToTensors(params: ParamMap, prefix = ''): Map<string, StTensor> {
  const out = new Map<string, StTensor>();
  for (const [name, v] of params) {
    out.set(prefix + name, { dtype: 'F32', shape: v.shape, data: v.dataSync() as Float32Array });
  }
  return out;
}

/** Saves the model atomically (temp file + rename). Extra metadata is stored alongside. */
export function saveGpt(path: string, model: Gpt, metadata: Record<string, string> = {}): void {
  saveSafetensors(path, paramsToTensors(model.params), {
    ...metadata,
    format: FORMAT,
    config: JSON.stringify(model.config),
  });
}

/**
 * Loads a model saved by `saveGpt`. With `config`, the file must match it; any tensor whose shape
 * differs from the config's is reported by name with both shapes.
 */
export function loadGpt(path: string, config?: Partial<GptConfig>): Gpt {
  const file = loadSafetensors(path);
  if (file.metadata.format !== FORMAT) {
    throw new Error(`${path}: not a pitlab GPT checkpoint (format '${file.metadata.format}')`);
  }
  const resolved = resolveGptConfig(config ?? JSON.parse(file.metadata.config ?? '{}'));
  const expected = paramShapes(resolved);
  for (const [name, shape] of expected) {
    const t = file.tensors.get(name);
    if (!t) throw new Error(`${path}: missing tensor '${name}' (expected shape [${shape}])`);
    if (t.shape.join(',') !== shape.join(',')) {
      throw new Error(
        `${path}: tensor '${name}' has shape [${t.shape}] but the config expects [${shape}]`,
      );
    }
  }
  for (const name of file.tensors.keys()) {
    if (!expected.has(name))
      throw new Error(`${path}: unexpected tensor '${name}' for this config`);
  }
  const params: ParamMap = new Map();
  for (const name of expected.keys()) {
    const t = file.tensors.get(name)!;
    const value = tf.tensor(t.data, t.shape, 'float32');
    params.set(name, tf.variable(value, true));
    value.dispose();
  }
  return new Gpt(resolved, params);
}
