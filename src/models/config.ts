/** GPT configuration: sizes with documented defaults, validated with errors that name the field. */
import { check, checkPositiveInt, resolveConfig } from '../runtime/validate';

export interface GptConfig {
  /** Number of token ids, special tokens included. @defaultValue 256 */
  vocabSize: number;
  /** Longest sequence the model sees (positions 0..blockSize-1). @defaultValue 64 */
  blockSize: number;
  /** Transformer blocks. @defaultValue 4 */
  nLayer: number;
  /** Attention heads; must divide nEmbd. @defaultValue 4 */
  nHead: number;
  /** Width of the residual stream. @defaultValue 128 */
  nEmbd: number;
  /** MLP hidden width as a multiple of nEmbd (GPT-2 uses 4). @defaultValue 4 */
  mlpRatio: number;
  /** Std of the normal init; residual projections are scaled by 1/sqrt(2·nLayer) as in GPT-2. @defaultValue 0.02 */
  initStd: number;
}

/** The foundation issue's reference config: V=256, T=64, d_model=128, 4 layers, 4 heads. */
export const DEFAULT_GPT_CONFIG: Readonly<GptConfig> = Object.freeze({
  vocabSize: 256,
  blockSize: 64,
  nLayer: 4,
  nHead: 4,
  nEmbd: 128,
  mlpRatio: 4,
  initStd: 0.02,
});

const POSITIVE_INT_KEYS = [
  'vocabSize',
  'blockSize',
  'nLayer',
  'nHead',
  'nEmbd',
  'mlpRatio',
] as const;

/**
 * Fills defaults and rejects unknown keys, non-positive sizes and nEmbd % nHead ≠ 0; `path` names
 * the config in errors ('GptConfig', or 'config.model' for a pipeline section).
 */
export function resolveGptConfig(partial: Partial<GptConfig> = {}, path = 'GptConfig'): GptConfig {
  const config = resolveConfig(DEFAULT_GPT_CONFIG, partial, path);
  for (const key of POSITIVE_INT_KEYS) checkPositiveInt(`${path}.${key}`, config[key]);
  check(config.initStd > 0, `${path}.initStd`, '> 0', config.initStd);
  check(
    config.nEmbd % config.nHead === 0,
    `${path}.nEmbd`,
    `divisible by nHead (${config.nHead})`,
    config.nEmbd,
  );
  return config;
}
