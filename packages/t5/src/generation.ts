/**
 * Decoding with a frozen T5: greedy generation from `decoder_start_token_id` with a key/value cache (or, for
 * checking, without one), and label scoring by teacher-forced log-likelihood. No gradient flows here.
 */
import { tf, type LinearWeight, linear } from '@dept/tensor';
import { extendedMask, rmsNorm } from './layers.ts';
import type { T5ForConditionalGeneration } from './modeling.ts';

/** Options of {@link greedyGenerate}. */
export interface GenerateOptions {
  /** Maximum number of generated tokens (default 20, DePT's `generation_max_length`). */
  maxNewTokens?: number;
  /** Stop a row at `</s>` and the whole batch when every row has (default true). */
  stopAtEos?: boolean;
  /** Use the key/value cache (default true); false recomputes the decoder over the whole prefix each step. */
  useCache?: boolean;
}

/** The key/value cache of one decoder layer during greedy decoding. */
interface LayerCache {
  /** `[b·h, t, d_kv]` self-attention keys/values so far. */
  selfK: tf.Tensor3D | null;
  selfV: tf.Tensor3D | null;
  /** `[b·h, d_kv, enc_len]` cross-attention keys, transposed, and `[b·h, enc_len, d_kv]` values (computed once). */
  crossKT: tf.Tensor3D;
  crossV: tf.Tensor3D;
}

/**
 * Greedy decoding from `decoder_start_token_id`. Returns the generated ids per row (start token excluded). With
 * `stopAtEos` a row ends at its first `</s>` (kept in the output) and the loop ends once every row has; without
 * it exactly `maxNewTokens` argmax steps are taken (as the parity fixture's `greedy_ids`).
 *
 * @example
 * const ids = await greedyGenerate(model, encoderHidden, mask, { maxNewTokens: 20 });
 */
export async function greedyGenerate(model: T5ForConditionalGeneration, encoderHidden: tf.Tensor3D, encoderMask: tf.Tensor2D, options: GenerateOptions = {}): Promise<number[][]> {
  const maxNew = options.maxNewTokens ?? 20;
  const stopAtEos = options.stopAtEos ?? true;
  const useCache = options.useCache ?? true;
  const b = encoderHidden.shape[0];
  const out: number[][] = Array.from({ length: b }, () => []);
  const done = new Array<boolean>(b).fill(false);
  const eos = model.config.eos_token_id;
  const prefix: number[][] = Array.from({ length: b }, () => [model.config.decoder_start_token_id]);
  const caches = useCache ? crossCaches(model, encoderHidden) : null;
  const crossBias = tf.tidy(() => extendedMask(encoderMask)); // [b, 1, 1, enc_len]
  try {
    for (let step = 0; step < maxNew; step++) {
      const next = tf.tidy(() => {
        let logits: tf.Tensor2D;
        if (caches) {
          const last = tf.tensor2d(prefix.map((p) => [p[p.length - 1] as number]), [b, 1], 'int32');
          logits = decodeStep(model, last, step, caches, crossBias);
        } else {
          const ids = tf.tensor2d(prefix, [b, step + 1], 'int32');
          const full = model.decode(ids, encoderHidden, encoderMask);
          logits = tf.reshape(tf.slice(full, [0, step, 0], [b, 1, -1]), [b, -1]) as tf.Tensor2D;
        }
        return tf.argMax(logits, -1);
      });
      const ids = Array.from(await next.data());
      next.dispose();
      for (let i = 0; i < b; i++) {
        const id = ids[i] as number;
        prefix[i]?.push(id);
        if (!done[i]) out[i]?.push(id);
        if (stopAtEos && id === eos) done[i] = true;
      }
      if (stopAtEos && done.every(Boolean)) break;
    }
  } finally {
    crossBias.dispose();
    if (caches) for (const c of caches) for (const t of [c.selfK, c.selfV, c.crossKT, c.crossV]) t?.dispose();
  }
  return out;
}

/** `[b, len, h·d_kv]` → `[b·h, len, d_kv]`. */
function headRows(model: T5ForConditionalGeneration, x: tf.Tensor): tf.Tensor3D {
  const [b, len] = x.shape as [number, number, number];
  return tf.reshape(model.splitHeads(x), [b * model.config.num_heads, len, model.config.d_kv]) as tf.Tensor3D;
}

/** Per decoder layer: the cross-attention keys (transposed) and values of the encoder output, computed once. */
function crossCaches(model: T5ForConditionalGeneration, encoderHidden: tf.Tensor3D): LayerCache[] {
  return model.weights.decoder.blocks.map((block) => ({
    selfK: null,
    selfV: null,
    crossKT: tf.tidy(() => tf.transpose(headRows(model, linear(encoderHidden, block.crossAttention.k)), [0, 2, 1]) as tf.Tensor3D),
    crossV: tf.tidy(() => headRows(model, linear(encoderHidden, block.crossAttention.v))),
  }));
}

/**
 * Attention of one query position during cached decoding (no gradient): `q [b·h, 1, d_kv]` against keys given
 * transposed, `kT [b·h, d_kv, k]`, and values `v [b·h, k, d_kv]`, with an additive bias broadcastable to
 * `[b, h, 1, k]`. All heads go through one batched product each: per-head 2-D products of a single row cost
 * more in per-call overhead (and in repacking keys and values every step) than they compute.
 */
function attendOne(model: T5ForConditionalGeneration, q: tf.Tensor3D, kT: tf.Tensor3D, v: tf.Tensor3D, bias: tf.Tensor, b: number, o: LinearWeight): tf.Tensor3D {
  const h = model.config.num_heads;
  const k = kT.shape[2];
  const scores = tf.add(tf.reshape(tf.matMul(q, kT), [b, h, 1, k]), bias);
  const probs = tf.reshape(tf.softmax(scores, -1), [b * h, 1, k]) as tf.Tensor3D;
  const out = tf.reshape(tf.matMul(probs, v), [b, h, 1, model.config.d_kv]) as tf.Tensor4D;
  return linear(model.mergeHeads(out), o) as tf.Tensor3D;
}

/** One cached decoder step for query position `position`: ids `[b, 1]` → logits `[b, vocab]`. */
function decodeStep(model: T5ForConditionalGeneration, ids: tf.Tensor2D, position: number, caches: LayerCache[], crossBias: tf.Tensor4D): tf.Tensor2D {
  const cfg = model.config;
  const b = ids.shape[0];
  const first = model.weights.decoder.blocks[0]?.selfAttention.relativeAttentionBias;
  const selfBias = first ? model.positionBias(first, 1, position + 1, false, position) : tf.zeros([1, 1, 1, position + 1]);
  let h: tf.Tensor = model.embed(ids);
  model.weights.decoder.blocks.forEach((block, layer) => {
    const cache = caches[layer] as LayerCache;
    const normed = rmsNorm(h, block.selfAttentionNorm, cfg.layer_norm_epsilon);
    const a = block.selfAttention;
    const kNew = headRows(model, linear(normed, a.k));
    const vNew = headRows(model, linear(normed, a.v));
    const k = cache.selfK ? tf.concat([cache.selfK, kNew], 1) : kNew;
    const v = cache.selfV ? tf.concat([cache.selfV, vNew], 1) : vNew;
    cache.selfK?.dispose();
    cache.selfV?.dispose();
    cache.selfK = tf.keep(k as tf.Tensor3D);
    cache.selfV = tf.keep(v as tf.Tensor3D);
    h = tf.add(h, attendOne(model, headRows(model, linear(normed, a.q)), tf.transpose(cache.selfK, [0, 2, 1]) as tf.Tensor3D, cache.selfV, selfBias, b, a.o));
    const crossIn = rmsNorm(h, block.crossAttentionNorm, cfg.layer_norm_epsilon);
    const c = block.crossAttention;
    h = tf.add(h, attendOne(model, headRows(model, linear(crossIn, c.q)), cache.crossKT, cache.crossV, crossBias, b, c.o));
    const ffIn = rmsNorm(h, block.feedForwardNorm, cfg.layer_norm_epsilon);
    h = tf.add(h, model.feedForward(ffIn, block.feedForward));
  });
  const out = rmsNorm(h, model.weights.decoder.finalNorm, cfg.layer_norm_epsilon);
  return tf.reshape(model.lmHead(out), [b, -1]) as tf.Tensor2D;
}

/**
 * Log-likelihood of each candidate target for each row (teacher forcing), for classification by label scoring.
 * `candidates` are token id lists (with `</s>`). Returns `[b][C]` summed log-probabilities.
 *
 * @example
 * const scores = await scoreCandidates(model, encoderHidden, mask, [[632, 1], [71, 1]]);
 */
export async function scoreCandidates(model: T5ForConditionalGeneration, encoderHidden: tf.Tensor3D, encoderMask: tf.Tensor2D, candidates: number[][]): Promise<number[][]> {
  const b = encoderHidden.shape[0];
  const result: number[][] = Array.from({ length: b }, () => []);
  for (const cand of candidates) {
    const scores = tf.tidy(() => {
      const labels = tf.tensor2d(Array.from({ length: b }, () => cand), [b, cand.length], 'int32');
      const logits = model.decode(model.shiftRight(labels), encoderHidden, encoderMask);
      const V = logits.shape[2];
      const logProbs = tf.logSoftmax(logits);
      return tf.sum(tf.mul(logProbs, tf.oneHot(labels, V)), [1, 2]);
    });
    const values = await scores.data();
    scores.dispose();
    for (let i = 0; i < b; i++) result[i]?.push(values[i] as number);
  }
  return result;
}
