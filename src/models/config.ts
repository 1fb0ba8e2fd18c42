/** GPT configuration: sizes with documented defaults, validated with errors that name the field. */

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

/** Fills defaults and rejects unknown keys, non-positive sizes and nEmbd % nHead ≠ 0. */
export function resolveGptConfig(partial: Partial<GptConfig> = {}): GptConfig {
  for (const key of Object.keys(partial)) {
    if (!(key in DEFAULT_GPT_CONFIG)) {
      throw new Error(
        `Unknown GptConfig key '${key}'. Known: ${Object.keys(DEFAULT_GPT_CONFIG).join(', ')}`,
      );
    }
  }
  const config: GptConfig = { ...DEFAULT_GPT_CONFIG, ...partial };
  for (const key of POSITIVE_INT_KEYS) {
    const value = config[key];
    if (!Number.isInteger(value) || value < 1) {
      throw new Error(`GptConfig.${key} must be a positive integer, got ${value}`);
    }
  }
  if (!(config.initStd > 0)) {
    throw new Error(`GptConfig.initStd must be > 0, got ${config.initStd}`);
  }
  if (config.nEmbd % config.nHead !== 0) {
    throw new Error(
      `GptConfig.nEmbd (${config.nEmbd}) must be divisible by nHead (${config.nHead})`,
    );
  }
  return config;
}
