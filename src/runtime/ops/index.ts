/**
 * Fused ops: LayerNorm and GELU as one kernel forward and one backward on the `wasm` and `cpu`
 * backends (the dispatch of many tiny kernels dominated after the matmuls), composite tfjs ops
 * elsewhere (and for GELU on wasm above `GELU_WASM_MAX_SIZE`, where SIMD kernels win). Gradients are registered with tfjs, so `tf.grad` and `tf.variableGrads` work.
 */

export {
  DECODE_ATTENTION,
  decodeAttention,
  decodeAttentionInPlace,
} from './decode_attention';
export { setFusedOpsEnabled } from './fused';
export { GELU, GELU_GRAD, GELU_WASM_MAX_SIZE, gelu, geluComposite } from './gelu';
export { LAYER_NORM, LAYER_NORM_GRAD, layerNorm, layerNormComposite } from './layer_norm';
