/**
 * The frozen T5 weights as tfjs tensors, built from a name → HostTensor map with Hugging Face checkpoint names.
 * Every expected tensor is checked for presence and shape; the message names the file, the tensor and the shape
 * that `config.json` implies. Aliases (`encoder.embed_tokens.weight`, `decoder.embed_tokens.weight`) are ignored.
 */
import { DeptError, Rng } from '@dept/core';
import { tf, allFinite, type HostTensor, type LinearWeight, linearWeight, disposeLinearWeight } from '@dept/tensor';
import type { T5Config } from './config.ts';

export interface AttentionWeights {
  q: LinearWeight;
  k: LinearWeight;
  v: LinearWeight;
  o: LinearWeight;
  /** `[num_buckets, num_heads]`, block 0 of each stack only. */
  relativeAttentionBias?: tf.Tensor2D;
}

export interface FeedForwardWeights {
  /** v1.0: `wi` `[d_ff, d_model]`. */
  wi?: LinearWeight;
  /** v1.1 / flan (gated): `wi_0`, `wi_1` `[d_ff, d_model]`. */
  wi0?: LinearWeight;
  wi1?: LinearWeight;
  /** `[d_model, d_ff]`. */
  wo: LinearWeight;
}

export interface EncoderBlockWeights {
  selfAttention: AttentionWeights;
  selfAttentionNorm: tf.Tensor1D;
  feedForward: FeedForwardWeights;
  feedForwardNorm: tf.Tensor1D;
}

export interface DecoderBlockWeights extends EncoderBlockWeights {
  crossAttention: AttentionWeights;
  crossAttentionNorm: tf.Tensor1D;
}

export interface T5Weights {
  /** `[vocab_size, d_model]`, the shared input embedding. */
  shared: tf.Tensor2D;
  encoder: { blocks: EncoderBlockWeights[]; finalNorm: tf.Tensor1D };
  decoder: { blocks: DecoderBlockWeights[]; finalNorm: tf.Tensor1D };
  /** The output projection: `shared` when tied, else `lm_head.weight` `[vocab_size, d_model]`. */
  lmHead: LinearWeight;
}

/** Every checkpoint tensor name the config implies, with its shape. */
export function expectedTensorShapes(config: T5Config): Map<string, number[]> {
  const d = config.d_model;
  const inner = config.num_heads * config.d_kv;
  const shapes = new Map<string, number[]>();
  shapes.set('shared.weight', [config.vocab_size, d]);
  const attention = (prefix: string, withBias: boolean) => {
    for (const n of ['q', 'k', 'v']) shapes.set(`${prefix}.${n}.weight`, [inner, d]);
    shapes.set(`${prefix}.o.weight`, [d, inner]);
    if (withBias) shapes.set(`${prefix}.relative_attention_bias.weight`, [config.relative_attention_num_buckets, config.num_heads]);
  };
  const feedForward = (prefix: string) => {
    if (config.is_gated_act) {
      shapes.set(`${prefix}.DenseReluDense.wi_0.weight`, [config.d_ff, d]);
      shapes.set(`${prefix}.DenseReluDense.wi_1.weight`, [config.d_ff, d]);
    } else {
      shapes.set(`${prefix}.DenseReluDense.wi.weight`, [config.d_ff, d]);
    }
    shapes.set(`${prefix}.DenseReluDense.wo.weight`, [d, config.d_ff]);
    shapes.set(`${prefix}.layer_norm.weight`, [d]);
  };
  for (let i = 0; i < config.num_layers; i++) {
    const p = `encoder.block.${i}.layer`;
    attention(`${p}.0.SelfAttention`, i === 0);
    shapes.set(`${p}.0.layer_norm.weight`, [d]);
    feedForward(`${p}.1`);
  }
  shapes.set('encoder.final_layer_norm.weight', [d]);
  for (let i = 0; i < config.num_decoder_layers; i++) {
    const p = `decoder.block.${i}.layer`;
    attention(`${p}.0.SelfAttention`, i === 0);
    shapes.set(`${p}.0.layer_norm.weight`, [d]);
    attention(`${p}.1.EncDecAttention`, false);
    shapes.set(`${p}.1.layer_norm.weight`, [d]);
    feedForward(`${p}.2`);
  }
  shapes.set('decoder.final_layer_norm.weight', [d]);
  if (!config.tie_word_embeddings) shapes.set('lm_head.weight', [config.vocab_size, d]);
  return shapes;
}

const IGNORED = new Set(['encoder.embed_tokens.weight', 'decoder.embed_tokens.weight']);

/**
 * Checks a checkpoint's tensors against the config: all present, right shapes, no unknown names (unknown names are
 * returned, not fatal; a tied model's stray `lm_head.weight` is ignored as HF does).
 */
export function validateCheckpoint(config: T5Config, tensors: ReadonlyMap<string, HostTensor>, where: string): string[] {
  const expected = expectedTensorShapes(config);
  for (const [name, shape] of expected) {
    const t = tensors.get(name);
    if (!t) throw new DeptError(`${where}: tensor "${name}" is missing (config.json implies shape [${shape.join(', ')}])`);
    if (t.shape.length !== shape.length || t.shape.some((v, i) => v !== shape[i])) {
      throw new DeptError(`${where}: tensor "${name}" has shape [${t.shape.join(', ')}], expected [${shape.join(', ')}] from config.json`);
    }
    if (!allFinite(t.data)) {
      const at = t.data.findIndex((v) => !Number.isFinite(v));
      throw new DeptError(`${where}: tensor "${name}" holds a non-finite value (${t.data[at]} at flat index ${at}); expected finite weights (a corrupt download?)`);
    }
  }
  const unknown: string[] = [];
  for (const name of tensors.keys()) {
    if (!expected.has(name) && !IGNORED.has(name) && !(config.tie_word_embeddings && name === 'lm_head.weight')) unknown.push(name);
  }
  return unknown;
}

/**
 * The most bytes of extra `[out, in]` weight copies kept for the backward pass (see {@link buildT5Weights}): 256 MiB,
 * so t5-small (88 MB) keeps them and t5-base (396 MB) does not, within the wasm heap's 4 GiB.
 */
export const BOTH_LAYOUTS_MAX_BYTES = 2 ** 28;

/** Options of {@link buildT5Weights}. */
export interface BuildWeightsOptions {
  /**
   * Keep the `[out, in]` layout too for the weights whose backward product has many rows (the encoder's, and the
   * decoder's cross-attention keys and values, which see every encoder position), so the backward pass needs no
   * transposed or repacked weight. Default: when those copies take at most {@link BOTH_LAYOUTS_MAX_BYTES}.
   */
  keepBothLayouts?: boolean;
}

/** Float32 bytes of the weights that {@link BuildWeightsOptions.keepBothLayouts} would copy. */
function bothLayoutsBytes(config: T5Config): number {
  const inner = config.num_heads * config.d_kv;
  const ff = (config.is_gated_act ? 3 : 2) * config.d_model * config.d_ff;
  const encoder = config.num_layers * (4 * config.d_model * inner + ff);
  const cross = config.num_decoder_layers * 2 * config.d_model * inner;
  return 4 * (encoder + cross);
}

/**
 * Builds the tfjs weights from validated host tensors. The caller owns the result (see {@link disposeT5Weights}).
 *
 * @example
 * const weights = buildT5Weights(config, tensors, 'tiny/model.safetensors');
 */
export function buildT5Weights(config: T5Config, tensors: ReadonlyMap<string, HostTensor>, where: string, options: BuildWeightsOptions = {}): T5Weights {
  validateCheckpoint(config, tensors, where);
  const both = options.keepBothLayouts ?? bothLayoutsBytes(config) <= BOTH_LAYOUTS_MAX_BYTES;
  const get = (name: string): HostTensor => tensors.get(name) as HostTensor;
  const t2 = (name: string) => tf.tensor2d(get(name).data, get(name).shape as [number, number]);
  const t1 = (name: string) => tf.tensor1d(get(name).data);
  const manyRows = (name: string) => name.startsWith('encoder.') || /\.EncDecAttention\.[kv]\.weight$/.test(name);
  const lin = (name: string) => linearWeight(t2(name), { keepOriginal: both && manyRows(name) });
  const attention = (prefix: string, withBias: boolean): AttentionWeights => ({
    q: lin(`${prefix}.q.weight`),
    k: lin(`${prefix}.k.weight`),
    v: lin(`${prefix}.v.weight`),
    o: lin(`${prefix}.o.weight`),
    ...(withBias ? { relativeAttentionBias: t2(`${prefix}.relative_attention_bias.weight`) } : {}),
  });
  const feedForward = (prefix: string): FeedForwardWeights =>
    config.is_gated_act
      ? { wi0: lin(`${prefix}.DenseReluDense.wi_0.weight`), wi1: lin(`${prefix}.DenseReluDense.wi_1.weight`), wo: lin(`${prefix}.DenseReluDense.wo.weight`) }
      : { wi: lin(`${prefix}.DenseReluDense.wi.weight`), wo: lin(`${prefix}.DenseReluDense.wo.weight`) };
  const shared = t2('shared.weight');
  const encoderBlocks: EncoderBlockWeights[] = [];
  for (let i = 0; i < config.num_layers; i++) {
    const p = `encoder.block.${i}.layer`;
    encoderBlocks.push({
      selfAttention: attention(`${p}.0.SelfAttention`, i === 0),
      selfAttentionNorm: t1(`${p}.0.layer_norm.weight`),
      feedForward: feedForward(`${p}.1`),
      feedForwardNorm: t1(`${p}.1.layer_norm.weight`),
    });
  }
  const decoderBlocks: DecoderBlockWeights[] = [];
  for (let i = 0; i < config.num_decoder_layers; i++) {
    const p = `decoder.block.${i}.layer`;
    decoderBlocks.push({
      selfAttention: attention(`${p}.0.SelfAttention`, i === 0),
      selfAttentionNorm: t1(`${p}.0.layer_norm.weight`),
      crossAttention: attention(`${p}.1.EncDecAttention`, false),
      crossAttentionNorm: t1(`${p}.1.layer_norm.weight`),
      feedForward: feedForward(`${p}.2`),
      feedForwardNorm: t1(`${p}.2.layer_norm.weight`),
    });
  }
  return {
    shared,
    encoder: { blocks: encoderBlocks, finalNorm: t1('encoder.final_layer_norm.weight') },
    decoder: { blocks: decoderBlocks, finalNorm: t1('decoder.final_layer_norm.weight') },
    lmHead: config.tie_word_embeddings ? linearWeight(shared, { keepOriginal: true }) : lin('lm_head.weight'),
  };
}

/** Frees every tensor of a weight set. */
export function disposeT5Weights(weights: T5Weights, tied: boolean): void {
  const attention = (a: AttentionWeights) => {
    for (const w of [a.q, a.k, a.v, a.o]) disposeLinearWeight(w);
    a.relativeAttentionBias?.dispose();
  };
  const feedForward = (f: FeedForwardWeights) => {
    for (const w of [f.wi, f.wi0, f.wi1, f.wo]) if (w) disposeLinearWeight(w);
  };
  for (const b of weights.encoder.blocks) {
    attention(b.selfAttention);
    feedForward(b.feedForward);
    b.selfAttentionNorm.dispose();
    b.feedForwardNorm.dispose();
  }
  for (const b of weights.decoder.blocks) {
    attention(b.selfAttention);
    attention(b.crossAttention);
    feedForward(b.feedForward);
    b.selfAttentionNorm.dispose();
    b.crossAttentionNorm.dispose();
    b.feedForwardNorm.dispose();
  }
  weights.encoder.finalNorm.dispose();
  weights.decoder.finalNorm.dispose();
  if (tied) weights.lmHead.wT.dispose();
  else disposeLinearWeight(weights.lmHead);
  weights.shared.dispose();
}

/**
 * Random weights with HF's `T5PreTrainedModel._init_weights` scales (normal, std depending on fan-in and
 * `initializer_factor`; layer norms 1), drawn from `rng`. Used to write random checkpoints for tests and demos.
 *
 * @example
 * const tensors = randomT5Tensors(presetConfig('tiny-relu'), new Rng(0));
 */
export function randomT5Tensors(config: T5Config, rng: Rng): Map<string, HostTensor> {
  const f = config.initializer_factor;
  const d = config.d_model;
  const out = new Map<string, HostTensor>();
  for (const [name, shape] of expectedTensorShapes(config)) {
    const size = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(size);
    let std = 1;
    if (name.endsWith('layer_norm.weight')) {
      data.fill(f);
      out.set(name, { data, shape });
      continue;
    }
    if (name === 'shared.weight') std = f * 1.0;
    else if (name === 'lm_head.weight') std = f * 1.0;
    else if (/\.(q)\.weight$/.test(name)) std = f * (d * config.d_kv) ** -0.5;
    else if (/\.(k|v)\.weight$/.test(name)) std = f * d ** -0.5;
    else if (/\.o\.weight$/.test(name)) std = f * (config.num_heads * config.d_kv) ** -0.5;
    else if (name.endsWith('relative_attention_bias.weight')) std = f * d ** -0.5;
    else if (/wi(_0|_1)?\.weight$/.test(name)) std = f * d ** -0.5;
    else if (name.endsWith('wo.weight')) std = f * config.d_ff ** -0.5;
    for (let i = 0; i < size; i++) data[i] = std * rng.normal();
    out.set(name, { data, shape });
  }
  return out;
}
