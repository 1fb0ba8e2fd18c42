/**
 * Fused ops on the `wasm` and `cpu` backends, where the dispatch of many tiny kernels dominated
 * after the matmuls: LayerNorm and GELU as one kernel forward and one backward, the AdamW update
 * as one kernel per parameter tensor, causal attention over whole sequences as one kernel each
 * way, a decode step's attention as one kernel per layer, the language-model loss's token
 * log-probabilities as one kernel each way.
 * Elsewhere they run as composite tfjs ops. Gradients are registered with tfjs, so `tf.grad` and `tf.variableGrads` work.
 */

export {
  ADAMW_UPDATE,
  type AdamWUpdateAttrs,
  type AdamWUpdated,
  adamWUpdate,
  adamWUpdateComposite,
} from './adamw';
export { ATTENTION, ATTENTION_GRAD, fusedAttention, fusedAttentionAvailable } from './attention';
export {
  DECODE_ATTENTION,
  decodeAttention,
  decodeAttentionInPlace,
} from './decode_attention';
export { setFusedOpsEnabled } from './fused';
export { GELU, GELU_GRAD, gelu, geluComposite } from './gelu';
export { LAYER_NORM, LAYER_NORM_GRAD, layerNorm, layerNormComposite } from './layer_norm';
export {
  fusedTokenLogProbs,
  fusedTokenLogProbsAvailable,
  fusedTokenStats,
  TOKEN_LOG_PROBS,
  TOKEN_LOG_PROBS_GRAD,
} from './token_log_probs';
