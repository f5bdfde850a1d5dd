/**
 * The T5 encoder-decoder (Hugging Face `T5ForConditionalGeneration` semantics) on tfjs: forward from
 * `inputs_embeds` + `attention_mask`, and cross-entropy with -100 ignored; greedy decoding with a key/value cache and
 * label scoring are in generation.ts, the layer pieces in layers.ts and attention.ts. Weights are frozen plain
 * tensors; gradients flow only to whatever produced `inputs_embeds`.
 */
import { tf, type LinearWeight, linear } from '@dept/tensor';
import type { T5Config } from './config.ts';
import { bucketTable } from './buckets.ts';
import { attentionCore } from './attention.ts';
import { activation, dropout, extendedMask, MASK_VALUE, rmsNorm, type DropoutContext } from './layers.ts';
import type { FeedForwardWeights, T5Weights } from './weights.ts';
import { disposeT5Weights } from './weights.ts';

export type { DropoutContext } from './layers.ts';

/** Inputs of {@link T5ForConditionalGeneration.forward}. */
export interface T5ForwardInputs {
  /** `[batch, enc_len, d_model]` encoder input embeddings (e.g. DePT's `[P; E[ids] + s·A@B]`). */
  inputsEmbeds: tf.Tensor3D;
  /** `[batch, enc_len]` 1 for real tokens, 0 for padding (float32 or int32). */
  attentionMask: tf.Tensor2D;
  /** `[batch, tgt_len]` int32 target ids, -100 where ignored. */
  labels: tf.Tensor2D;
  /** Dropout for training; omit for evaluation. */
  dropout?: DropoutContext;
}

/** Outputs of {@link T5ForConditionalGeneration.forward}. */
export interface T5ForwardOutputs {
  /** Scalar mean cross-entropy over non-ignored target tokens. */
  loss: tf.Scalar;
  /** `[batch, tgt_len, vocab_size]`. */
  logits: tf.Tensor3D;
  /** `[batch, enc_len, d_model]` after the final encoder layer norm. */
  encoderLastHiddenState: tf.Tensor3D;
}

/**
 * A frozen T5 with a language-model head.
 *
 * @example
 * const model = new T5ForConditionalGeneration(config, buildT5Weights(config, tensors, 'model.safetensors'));
 * const { loss } = model.forward({ inputsEmbeds, attentionMask, labels });
 */
export class T5ForConditionalGeneration {
  readonly config: T5Config;
  readonly weights: T5Weights;
  private disposed = false;

  constructor(config: T5Config, weights: T5Weights) {
    this.config = config;
    this.weights = weights;
  }

  /** Frees the weights. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const t of this.biasCache.values()) t.dispose();
    this.biasCache.clear();
    disposeT5Weights(this.weights, this.config.tie_word_embeddings);
  }

  /**
   * Looks up the frozen token embeddings: `[batch, len]` int32 ids → `[batch, len, d_model]`. The gather is on a
   * constant, so no gradient ever flows through it.
   */
  embed(ids: tf.Tensor2D): tf.Tensor3D {
    return this.embedNoTape(ids) as tf.Tensor3D;
  }

  /**
   * The gather runs inside a custom gradient (ops there are not taped), so taking gradients of a loss that embeds
   * decoder inputs never clones the `[vocab, d_model]` table to save it for a backward pass it does not need.
   */
  private readonly embedNoTape = tf.customGrad(((ids: tf.Tensor) => ({
    value: tf.gather(this.weights.shared, ids),
    gradFunc: (dy: tf.Tensor) => [tf.zerosLike(ids)],
  })) as unknown as Parameters<typeof tf.customGrad>[0]);

  /** Position-bias tables by shape, kept across calls (they depend only on the lengths). */
  private readonly biasCache = new Map<string, tf.Tensor4D>();

  /**
   * `[1, h, q, k]` relative position bias of the block-0 table for query positions `offset..offset+q-1`.
   * @internal (used by generation.ts)
   */
  positionBias(bias: tf.Tensor2D, queryLength: number, keyLength: number, bidirectional: boolean, offset = 0): tf.Tensor4D {
    const key = `${bias.id}:${queryLength}:${keyLength}:${bidirectional}:${offset}`;
    const cached = this.biasCache.get(key);
    if (cached && !cached.isDisposed) return cached;
    const table = bucketTable(queryLength, keyLength, bidirectional, this.config.relative_attention_num_buckets, this.config.relative_attention_max_distance, offset);
    const result = tf.tidy(() => {
      const ids = tf.tensor2d(table, [queryLength, keyLength], 'int32');
      const values = tf.gather(bias, ids); // [q, k, h]
      return tf.expandDims(tf.transpose(values, [2, 0, 1]), 0) as tf.Tensor4D;
    });
    tf.keep(result);
    if (this.biasCache.size >= 16) {
      const [oldest, value] = this.biasCache.entries().next().value as [string, tf.Tensor4D];
      value.dispose();
      this.biasCache.delete(oldest);
    }
    this.biasCache.set(key, result);
    return result;
  }

  /** `[b, len, h·d_kv]` → `[b, h, len, d_kv]`. @internal */
  splitHeads(x: tf.Tensor): tf.Tensor4D {
    const [b, len] = x.shape as [number, number, number];
    return tf.transpose(tf.reshape(x, [b, len, this.config.num_heads, this.config.d_kv]), [0, 2, 1, 3]) as tf.Tensor4D;
  }

  /** `[b, h, len, d_kv]` → `[b, len, h·d_kv]`. @internal */
  mergeHeads(x: tf.Tensor4D): tf.Tensor3D {
    const [b, h, len, dk] = x.shape;
    return tf.reshape(tf.transpose(x, [0, 2, 1, 3]), [b, len, h * dk]) as tf.Tensor3D;
  }

  /** Scale-free T5 attention over precomputed heads, with an additive bias `[b or 1, h, q, k]`. */
  private attend(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, bias: tf.Tensor4D, o: LinearWeight, drop?: DropoutContext): tf.Tensor3D {
    const [b, h] = q.shape;
    const dropout = drop && drop.rate > 0 ? { rate: drop.rate, seeds: Array.from({ length: b * h }, () => drop.rng.uint32()) } : null;
    return linear(this.mergeHeads(attentionCore(q, k, v, bias, dropout)), o) as tf.Tensor3D;
  }

  /** An additive bias broadcastable to `[b, h, q, k]`, made `[b or 1, h, q, k]` once per pass for all layers. */
  private biasesFor(bias: tf.Tensor, b: number, q: number, k: number): tf.Tensor4D {
    const batch = bias.shape[0] === 1 ? 1 : b;
    return tf.broadcastTo(bias, [batch, this.config.num_heads, q, k]) as tf.Tensor4D;
  }

  /** The feed-forward sublayer (v1.0 `relu` or gated) before its residual. @internal */
  feedForward(x: tf.Tensor, ff: FeedForwardWeights, drop?: DropoutContext): tf.Tensor {
    let h: tf.Tensor;
    if (ff.wi0 && ff.wi1) {
      h = tf.mul(activation(this.config.dense_act_fn, linear(x, ff.wi0)), linear(x, ff.wi1));
    } else {
      h = activation(this.config.dense_act_fn, linear(x, ff.wi as LinearWeight));
    }
    return linear(dropout(h, drop), ff.wo);
  }

  /**
   * The encoder: `inputs_embeds [b, L, d_model]`, `attention_mask [b, L]` → last hidden state `[b, L, d_model]`.
   */
  encode(inputsEmbeds: tf.Tensor3D, attentionMask: tf.Tensor2D, drop?: DropoutContext): tf.Tensor3D {
    const cfg = this.config;
    const L = inputsEmbeds.shape[1];
    const first = this.weights.encoder.blocks[0]?.selfAttention.relativeAttentionBias;
    let bias: tf.Tensor = extendedMask(attentionMask);
    if (first) bias = tf.add(this.positionBias(first, L, L, true), bias);
    const biases = this.biasesFor(bias, inputsEmbeds.shape[0], L, L);
    let h: tf.Tensor = dropout(inputsEmbeds, drop);
    // Each block runs in its own tidy scope: under a gradient tape only what the backward pass saved survives it,
    // so a block's temporaries are freed before the next block starts (peak memory ≈ one block's temporaries).
    for (const block of this.weights.encoder.blocks) {
      const x = h;
      h = tf.tidy(() => {
        const normed = rmsNorm(x, block.selfAttentionNorm, cfg.layer_norm_epsilon);
        const a = block.selfAttention;
        const attn = this.attend(this.splitHeads(linear(normed, a.q)), this.splitHeads(linear(normed, a.k)), this.splitHeads(linear(normed, a.v)), biases, a.o, drop);
        const mid = tf.add(x, dropout(attn, drop));
        const ffIn = rmsNorm(mid, block.feedForwardNorm, cfg.layer_norm_epsilon);
        return tf.add(mid, dropout(this.feedForward(ffIn, block.feedForward, drop), drop));
      });
    }
    return dropout(rmsNorm(h, this.weights.encoder.finalNorm, cfg.layer_norm_epsilon), drop) as tf.Tensor3D;
  }

  /** Final decoder hidden state → logits, with the tied-embedding rescaling `d_model^-0.5`. @internal */
  lmHead(hidden: tf.Tensor): tf.Tensor3D {
    const scaled = this.config.tie_word_embeddings ? tf.mul(hidden, this.config.d_model ** -0.5) : hidden;
    return linear(scaled, this.weights.lmHead) as tf.Tensor3D;
  }

  /**
   * The decoder over whole sequences (teacher forcing): `decoder_input_ids [b, t]` → logits `[b, t, vocab]`.
   */
  decode(decoderInputIds: tf.Tensor2D, encoderHidden: tf.Tensor3D, encoderMask: tf.Tensor2D, drop?: DropoutContext): tf.Tensor3D {
    const cfg = this.config;
    const t = decoderInputIds.shape[1];
    const causal = tf.linalg.bandPart(tf.ones([t, t]), -1, 0); // lower triangle incl. diagonal
    let selfBias: tf.Tensor = tf.reshape(tf.mul(tf.sub(1, causal), MASK_VALUE), [1, 1, t, t]);
    const first = this.weights.decoder.blocks[0]?.selfAttention.relativeAttentionBias;
    if (first) selfBias = tf.add(this.positionBias(first, t, t, false), selfBias);
    const b = decoderInputIds.shape[0];
    const selfBiases = this.biasesFor(selfBias, b, t, t);
    const crossBiases = this.biasesFor(extendedMask(encoderMask), b, t, encoderHidden.shape[1]);
    let h: tf.Tensor = dropout(this.embed(decoderInputIds), drop);
    for (const block of this.weights.decoder.blocks) {
      const x = h;
      h = tf.tidy(() => {
        const normed = rmsNorm(x, block.selfAttentionNorm, cfg.layer_norm_epsilon);
        const a = block.selfAttention;
        const selfOut = this.attend(this.splitHeads(linear(normed, a.q)), this.splitHeads(linear(normed, a.k)), this.splitHeads(linear(normed, a.v)), selfBiases, a.o, drop);
        const mid = tf.add(x, dropout(selfOut, drop));
        const crossIn = rmsNorm(mid, block.crossAttentionNorm, cfg.layer_norm_epsilon);
        const c = block.crossAttention;
        const crossOut = this.attend(this.splitHeads(linear(crossIn, c.q)), this.splitHeads(linear(encoderHidden, c.k)), this.splitHeads(linear(encoderHidden, c.v)), crossBiases, c.o, drop);
        const mid2 = tf.add(mid, dropout(crossOut, drop));
        const ffIn = rmsNorm(mid2, block.feedForwardNorm, cfg.layer_norm_epsilon);
        return tf.add(mid2, dropout(this.feedForward(ffIn, block.feedForward, drop), drop));
      });
    }
    const out = dropout(rmsNorm(h, this.weights.decoder.finalNorm, cfg.layer_norm_epsilon), drop);
    return this.lmHead(out);
  }

  /** Labels shifted right with `decoder_start_token_id`, -100 replaced by `pad_token_id` (int32 `[b, t]`). */
  shiftRight(labels: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      const [b, t] = labels.shape;
      const start = tf.fill([b, 1], this.config.decoder_start_token_id, 'int32');
      const body = tf.slice(tf.cast(labels, 'int32'), [0, 0], [b, t - 1]);
      const shifted = tf.concat([start, body], 1);
      return tf.where(tf.equal(shifted, -100), tf.fill([b, t], this.config.pad_token_id, 'int32'), shifted) as tf.Tensor2D;
    });
  }

  /**
   * Mean cross-entropy of `logits [b, t, V]` against `labels [b, t]`, ignoring -100 (torch's
   * `CrossEntropyLoss(ignore_index=-100)`); 0 when every label is ignored.
   */
  crossEntropy(logits: tf.Tensor3D, labels: tf.Tensor2D): tf.Scalar {
    const V = logits.shape[2];
    const flatLabels = tf.reshape(tf.cast(labels, 'int32'), [-1]);
    const valid = tf.cast(tf.notEqual(flatLabels, -100), 'float32');
    const safe = tf.where(tf.equal(flatLabels, -100), tf.zerosLike(flatLabels), flatLabels);
    const logProbs = tf.logSoftmax(tf.reshape(logits, [-1, V]));
    const picked = tf.sum(tf.mul(logProbs, tf.oneHot(safe, V)), -1);
    const total = tf.sum(tf.mul(picked, valid));
    const count = tf.maximum(tf.sum(valid), 1);
    return tf.neg(tf.div(total, count)) as tf.Scalar;
  }

  /**
   * The full forward pass: encoder on `inputs_embeds`, decoder on the shifted labels, loss.
   */
  forward(inputs: T5ForwardInputs): T5ForwardOutputs {
    const encoderLastHiddenState = this.encode(inputs.inputsEmbeds, inputs.attentionMask, inputs.dropout);
    const decoderInputIds = this.shiftRight(inputs.labels);
    const logits = this.decode(decoderInputIds, encoderLastHiddenState, inputs.attentionMask, inputs.dropout);
    const loss = this.crossEntropy(logits, inputs.labels);
    return { loss, logits, encoderLastHiddenState };
  }
}
