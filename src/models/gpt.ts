/**
 * A decoder-only transformer in the style of nanoGPT (karpathy/nanoGPT model.py): token and
 * position embeddings, pre-LayerNorm blocks of causal multi-head attention and a GELU MLP, a final
 * LayerNorm and an unembedding tied to the token embedding.
 *
 * Reading order is bottom-up: parameters → layer norm → attention → MLP → block → model.
 * Shapes use B batch, T new tokens, S attended tokens (cache + new), C nEmbd, H heads, D = C/H.
 * Weights are stored [in, out] so a linear layer is one plain matMul (the fast path on wasm).
 */
import * as tf from '@tensorflow/tfjs';
import { type Rng, runtime } from '../runtime';
import * as ops from '../runtime/ops';
import { type GptConfig, resolveGptConfig } from './config';

/** Named trainable parameters; names follow GPT-2's checkpoint (h.0.attn.c_attn.weight, ...). */
export type ParamMap = Map<string, tf.Variable>;

/** Per-layer attention cache: keys and values, [B*H, rows, D]. */
export type LayerCache = {
  k: tf.Tensor3D;
  v: tf.Tensor3D;
};

/**
 * Keys and values of every token seen so far, updated by each `forward` that is given it. When
 * `inPlace`, every layer's tensors hold `capacity` rows allocated once, of which the first
 * `length` are filled, and one-token steps write into them (`ops.decodeAttention`); otherwise the
 * tensors hold exactly `length` rows and each step replaces them with longer copies.
 */
export interface KvCache {
  layers: LayerCache[];
  length: number;
  capacity: number;
  inPlace: boolean;
}

export interface ForwardOptions {
  /** Keys/values of earlier calls (sampling), extended in place; the new tokens come after them. */
  cache?: KvCache;
  /**
   * 1 for real tokens, 0 for padding, over cache + new tokens: [B, S]. Padded keys are never
   * attended to. Needed for left-padded prompts; omit when rows have no padding before content.
   */
  keyMask?: tf.Tensor2D;
  /** Position ids of the new tokens, [B, T] int32; default cache length + 0..T-1 for every row. */
  positions?: tf.Tensor2D;
}

export interface ForwardResult {
  /** Final hidden states after ln_f: [B, T, C]. Value and reward heads read these. */
  hidden: tf.Tensor3D;
}

const NEG_INF = -1e9; // large finite negative: softmax gives exactly 0 without NaN from inf-inf

/** Normal(0, std) values from pitlab's seeded stream, so init is identical on every backend. */
function normalInit(rng: Rng, shape: number[], std: number): tf.Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  const values = new Float32Array(size);
  for (let i = 0; i < size; i++) values[i] = rng.normal() * std;
  return tf.tensor(values, shape, 'float32');
}

/** Builds the parameters of a freshly initialised model (GPT-2 init: N(0, 0.02), scaled residuals). */
function initParams(config: GptConfig, rng: Rng): ParamMap {
  const { vocabSize, blockSize, nLayer, nEmbd: C, mlpRatio, initStd } = config;
  const residualStd = initStd / Math.sqrt(2 * nLayer);
  const params: ParamMap = new Map();
  const add = (name: string, init: tf.Tensor) => {
    params.set(name, tf.variable(init, true)); // unnamed: tfjs names must be unique per process
    init.dispose();
  };
  add('wte', normalInit(rng, [vocabSize, C], initStd));
  add('wpe', normalInit(rng, [blockSize, C], initStd));
  for (let i = 0; i < nLayer; i++) {
    const p = `h.${i}.`;
    add(`${p}ln_1.weight`, tf.ones([C]));
    add(`${p}ln_1.bias`, tf.zeros([C]));
    add(`${p}attn.c_attn.weight`, normalInit(rng, [C, 3 * C], initStd));
    add(`${p}attn.c_attn.bias`, tf.zeros([3 * C]));
    add(`${p}attn.c_proj.weight`, normalInit(rng, [C, C], residualStd));
    add(`${p}attn.c_proj.bias`, tf.zeros([C]));
    add(`${p}ln_2.weight`, tf.ones([C]));
    add(`${p}ln_2.bias`, tf.zeros([C]));
    add(`${p}mlp.c_fc.weight`, normalInit(rng, [C, mlpRatio * C], initStd));
    add(`${p}mlp.c_fc.bias`, tf.zeros([mlpRatio * C]));
    add(`${p}mlp.c_proj.weight`, normalInit(rng, [mlpRatio * C, C], residualStd));
    add(`${p}mlp.c_proj.bias`, tf.zeros([C]));
  }
  add('ln_f.weight', tf.ones([C]));
  add('ln_f.bias', tf.zeros([C]));
  return params;
}

/** Expected shape of every parameter, for checkpoint validation. */
export function paramShapes(config: GptConfig): Map<string, number[]> {
  const { vocabSize, blockSize, nLayer, nEmbd: C, mlpRatio } = config;
  const shapes = new Map<string, number[]>([
    ['wte', [vocabSize, C]],
    ['wpe', [blockSize, C]],
  ]);
  for (let i = 0; i < nLayer; i++) {
    const p = `h.${i}.`;
    for (const ln of ['ln_1', 'ln_2']) {
      shapes.set(`${p}${ln}.weight`, [C]);
      shapes.set(`${p}${ln}.bias`, [C]);
    }
    shapes.set(`${p}attn.c_attn.weight`, [C, 3 * C]);
    shapes.set(`${p}attn.c_attn.bias`, [3 * C]);
    shapes.set(`${p}attn.c_proj.weight`, [C, C]);
    shapes.set(`${p}attn.c_proj.bias`, [C]);
    shapes.set(`${p}mlp.c_fc.weight`, [C, mlpRatio * C]);
    shapes.set(`${p}mlp.c_fc.bias`, [mlpRatio * C]);
    shapes.set(`${p}mlp.c_proj.weight`, [mlpRatio * C, C]);
    shapes.set(`${p}mlp.c_proj.bias`, [C]);
  }
  shapes.set('ln_f.weight', [C]);
  shapes.set('ln_f.bias', [C]);
  return shapes;
}

/**
 * LayerNorm over the last axis (eps 1e-5 as in PyTorch). x: [N, C]. One fused kernel forward and
 * one backward on wasm and cpu (see runtime/ops), the composite tfjs ops elsewhere.
 */
function layerNorm(x: tf.Tensor2D, weight: tf.Tensor, bias: tf.Tensor): tf.Tensor2D {
  return ops.layerNorm(x, weight, bias, 1e-5) as tf.Tensor2D;
}

/**
 * GELU, tanh approximation (GPT-2's choice). One fused kernel forward and one backward on cpu
 * and for small tensors on wasm (see runtime/ops); elsewhere, including this model's [B*T, 4C]
 * activations on wasm, the composite x·σ(2z), since ½(1 + tanh z) = σ(2z) and SIMD sigmoid is
 * fast on wasm where tanh and pow are not.
 */
function gelu(x: tf.Tensor): tf.Tensor {
  return ops.gelu(x);
}

function linear(x: tf.Tensor2D, weight: tf.Tensor, bias: tf.Tensor): tf.Tensor2D {
  return tf.matMul(x, weight as tf.Tensor2D).add(bias);
}

/**
 * Additive attention bias [B|1, 1, T, S]: causal (new token i sits at position S-T+i and may see
 * keys j ≤ S-T+i) plus padding (keys with keyMask 0 are hidden).
 */
function attentionBias(T: number, S: number, keyMask?: tf.Tensor2D): tf.Tensor {
  const causal = new Float32Array(T * S);
  for (let i = 0; i < T; i++) {
    for (let j = S - T + i + 1; j < S; j++) causal[i * S + j] = NEG_INF;
  }
  const bias = tf.tensor4d(causal, [1, 1, T, S]);
  if (!keyMask) return bias;
  const B = keyMask.shape[0];
  const pad = tf.sub(1, keyMask).mul(NEG_INF).reshape([B, 1, 1, S]);
  return bias.add(pad);
}

/**
 * Causal self-attention for one block. x: [B*T, C] → [B*T, C]. With a cache, returns the layer's
 * replacement keys/values (`kv`) unless the step ran in place.
 */
function attention(
  params: ParamMap,
  layer: number,
  config: GptConfig,
  x: tf.Tensor2D,
  B: number,
  T: number,
  bias: tf.Tensor | undefined,
  keyMask: tf.Tensor2D | undefined,
  cache?: KvCache,
): { out: tf.Tensor2D; kv?: LayerCache } {
  const p = (name: string) => params.get(`h.${layer}.attn.${name}`)!;
  const H = config.nHead;
  const C = config.nEmbd;
  const D = C / H;
  const qkv = linear(x, p('c_attn.weight'), p('c_attn.bias')); // [B*T, 3C]
  const past = cache?.length ?? 0;
  const old = cache?.layers[layer];
  if (!bias) {
    // One new token per row, cache in place: one kernel writes its k, v and attends.
    const mask = keyMask ?? tf.ones([B, past + 1]);
    const y = ops.decodeAttention(qkv, old!.k, old!.v, mask as tf.Tensor2D, H, past);
    return { out: linear(y, p('c_proj.weight'), p('c_proj.bias')) };
  }
  if (!cache && ops.fusedAttentionAvailable()) {
    // Whole sequences, no cache (training, scoring): one kernel each way.
    const y = ops.fusedAttention(qkv, bias, H);
    return { out: linear(y, p('c_proj.weight'), p('c_proj.bias')) };
  }
  const heads = qkv.reshape([B, T, 3, H, D]).transpose([2, 0, 3, 1, 4]); // [3, B, H, T, D]
  // Three contiguous row slices: measured 0.2 ms, against 31 ms for tf.split's SplitV on wasm.
  const flat = heads.reshape([3, B * H * T * D]);
  const [q, kNew, vNew] = [0, 1, 2].map(
    (i) => flat.slice([i, 0], [1, B * H * T * D]).reshape([B * H, T, D]) as tf.Tensor3D,
  );
  const filled = (t: tf.Tensor3D) => t.slice([0, 0, 0], [B * H, past, D]);
  const k = old && past > 0 ? tf.concat([filled(old.k), kNew!], 1) : kNew!; // [B*H, S, D]
  const v = old && past > 0 ? tf.concat([filled(old.v), vNew!], 1) : vNew!;
  const S = k.shape[1];
  const scores = tf.matMul(q!, k, false, true).mul(1 / Math.sqrt(D)); // [B*H, T, S]
  const masked = scores.reshape([B, H, T, S]).add(bias);
  const att = tf.softmax(masked).reshape([B * H, T, S]);
  const y = tf.matMul(att as tf.Tensor3D, v); // [B*H, T, D]
  const merged = y
    .reshape([B, H, T, D])
    .transpose([0, 2, 1, 3])
    .reshape([B * T, C]);
  const out = linear(merged as tf.Tensor2D, p('c_proj.weight'), p('c_proj.bias'));
  if (!cache) return { out };
  if (!cache.inPlace) return { out, kv: { k, v } };
  // Rows past S stay zero until in-place steps fill them.
  const grow = (t: tf.Tensor3D) =>
    t.pad([
      [0, 0],
      [0, cache.capacity - S],
      [0, 0],
    ]) as tf.Tensor3D;
  return { out, kv: { k: grow(k), v: grow(v) } };
}

function mlp(params: ParamMap, layer: number, x: tf.Tensor2D): tf.Tensor2D {
  const p = (name: string) => params.get(`h.${layer}.mlp.${name}`)!;
  const hidden = gelu(linear(x, p('c_fc.weight'), p('c_fc.bias'))) as tf.Tensor2D;
  return linear(hidden, p('c_proj.weight'), p('c_proj.bias'));
}

/** The language model: parameters plus pure forward functions over them. */
export class Gpt {
  readonly config: GptConfig;
  readonly params: ParamMap;

  /**
   * A new model. Weights come from `runtime.rng(seedLabel)`, so the same root seed and label give
   * bit-identical initial weights on every backend.
   */
  constructor(config: Partial<GptConfig> = {}, params?: ParamMap, seedLabel = 'gpt.init') {
    this.config = resolveGptConfig(config);
    this.params = params ?? initParams(this.config, runtime.rng(seedLabel));
  }

  /** Trainable variables in a stable order. */
  variables(): tf.Variable[] {
    return [...this.params.values()];
  }

  /** The variables with their parameter names, in `variables()`'s order. */
  namedVariables(): Array<[string, tf.Variable]> {
    return [...this.params.entries()];
  }

  numParams(): number {
    return this.variables().reduce((n, v) => n + v.size, 0);
  }

  /**
   * Runs the trunk on new tokens `ids` [B, T] and returns the final hidden states. With a cache,
   * the tokens continue the cached sequences (incremental decoding). Caller owns the result.
   */
  forward(ids: tf.Tensor2D, options: ForwardOptions = {}): ForwardResult {
    const [B, T] = ids.shape;
    const { nLayer, nEmbd: C, blockSize } = this.config;
    const cache = options.cache;
    const past = cache?.length ?? 0;
    if (past + T > Math.min(blockSize, cache?.capacity ?? blockSize)) {
      throw new Error(
        `Sequence length ${past + T} exceeds ${cache ? `the cache's capacity ${cache.capacity} or ` : ''}blockSize ${blockSize}`,
      );
    }
    const inPlaceStep = cache?.inPlace === true && T === 1 && past > 0;
    const replaced: LayerCache[] = [];
    const hidden = tf.tidy(() => {
      const tok = tf.gather(this.params.get('wte')!, ids.reshape([B * T])); // [B*T, C]
      // Default positions broadcast [T, C] over the batch (not tf.tile: its gradient is one
      // strided slice per repetition, slow on wasm).
      const pos = options.positions
        ? tf.gather(this.params.get('wpe')!, options.positions.reshape([B * T])).reshape([B, T, C])
        : this.params.get('wpe')!.slice([past, 0], [T, C]);
      let x = tok
        .reshape([B, T, C])
        .add(pos)
        .reshape([B * T, C]) as tf.Tensor2D;
      const bias = inPlaceStep ? undefined : attentionBias(T, past + T, options.keyMask);
      for (let l = 0; l < nLayer; l++) {
        const p = (name: string) => this.params.get(`h.${l}.${name}`)!;
        const a = attention(
          this.params,
          l,
          this.config,
          layerNorm(x, p('ln_1.weight'), p('ln_1.bias')),
          B,
          T,
          bias,
          options.keyMask,
          cache,
        );
        if (a.kv) replaced.push({ k: tf.keep(a.kv.k), v: tf.keep(a.kv.v) });
        x = x.add(a.out);
        x = x.add(mlp(this.params, l, layerNorm(x, p('ln_2.weight'), p('ln_2.bias'))));
      }
      const h = layerNorm(x, this.params.get('ln_f.weight')!, this.params.get('ln_f.bias')!);
      return h.reshape([B, T, C]) as tf.Tensor3D;
    });
    if (cache) {
      if (replaced.length > 0) {
        disposeCache(cache);
        cache.layers = replaced;
      }
      cache.length = past + T;
    }
    return { hidden };
  }

  /** Next-token logits from hidden states, through the tied unembedding: [..., C] → [..., V]. */
  logits(hidden: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const C = this.config.nEmbd;
      const flat = hidden.reshape([-1, C]) as tf.Tensor2D;
      const out = tf.matMul(flat, this.params.get('wte')! as tf.Tensor2D, false, true);
      return out.reshape([...hidden.shape.slice(0, -1), this.config.vocabSize]);
    });
  }

  /**
   * An empty cache for `batch` sequences of up to `capacity` tokens (sampling starts from it). It
   * is updated in place where the backend has the decode kernel and fused ops are on.
   */
  emptyCache(batch: number, capacity = this.config.blockSize): KvCache {
    const D = this.config.nEmbd / this.config.nHead;
    const layers = Array.from({ length: this.config.nLayer }, () => ({
      k: tf.zeros([batch * this.config.nHead, 0, D]) as tf.Tensor3D,
      v: tf.zeros([batch * this.config.nHead, 0, D]) as tf.Tensor3D,
    }));
    return { layers, length: 0, capacity, inPlace: ops.decodeAttentionInPlace() };
  }

  dispose(): void {
    for (const v of this.params.values()) v.dispose();
  }
}

/**
 * Keeps only the batch rows `keep` (ascending indices into the current batch) of every layer's
 * keys and values, in place: the cache then serves a batch of `keep.length` sequences.
 */
export function compactCache(cache: KvCache, keep: number[], nHead: number): void {
  const layers = tf.tidy(() => {
    const index = tf.tensor1d(
      Int32Array.from(keep.flatMap((b) => Array.from({ length: nHead }, (_, h) => b * nHead + h))),
      'int32',
    );
    return cache.layers.map(({ k, v }) => ({
      k: tf.keep(tf.gather(k, index)),
      v: tf.keep(tf.gather(v, index)),
    }));
  });
  disposeCache(cache);
  cache.layers = layers;
}

/** Frees every tensor of a cache. */
export function disposeCache(cache: KvCache): void {
  for (const layer of cache.layers) {
    layer.k.dispose();
    layer.v.dispose();
  }
}
