/**
 * T5's attention core on the fast path. tfjs's wasm backend runs only untransposed 2-D matMuls on XNNPACK; batched
 * or transposed products fall to a plain loop about 15× slower. So attention is computed head by head: every
 * product is a 2-D matMul against an explicitly transposed operand, in the forward pass and in the custom
 * gradient, and the `[q, k]` score matrices never need to be gathered into (or split out of) one big tensor. The
 * additive bias (relative positions + mask) comes per head, made once per forward pass and shared by all layers.
 * No 1/√d_kv scaling (T5 has none).
 *
 *   S = Q Kᵀ + bias,  P = softmax(S),  P̃ = P ⊙ M (dropout),  O = P̃ V
 *   dV = P̃ᵀ dO,  dP̃ = dO Vᵀ,  dP = dP̃ ⊙ M,  dS = P ⊙ (dP − Σ_k dP ⊙ P),  dQ = dS K,  dK = dSᵀ Q
 */
import { tf } from '@dept/tensor';

/** Per-head additive biases: `heads[i]` for head i of the flattened (batch, head) index, `[q, k]` each. */
export interface HeadBiases {
  /** Length b·h (one per example and head) or h (shared by every example). */
  heads: tf.Tensor2D[];
  perExample: boolean;
}

/**
 * Splits a `[b or 1, h, q, k]` bias into per-head 2-D tensors (once per forward pass; shared by all layers).
 *
 * @example
 * const biases = headBiases(tf.add(positionBias, mask)); // [b, h, q, k] → b·h tensors [q, k]
 */
export function headBiases(bias: tf.Tensor4D): HeadBiases {
  const [b, h, q, k] = bias.shape;
  const parts = tf.split(tf.reshape(bias, [b * h, q, k]), b * h, 0).map((p) => tf.reshape(p, [q, k]) as tf.Tensor2D);
  return { heads: parts, perExample: b > 1 };
}

/** Dropout on attention weights: the rate and the seeds of each head's mask (drawn by the caller). */
export interface AttentionDropout {
  rate: number;
  /** One 32-bit seed per (batch, head), in flattened order. */
  seeds: number[];
}

function split4(x: tf.Tensor4D): tf.Tensor2D[] {
  const [b, h, n, m] = x.shape;
  return tf.split(tf.reshape(x, [b * h, n, m]), b * h, 0).map((p) => tf.reshape(p, [n, m]) as tf.Tensor2D);
}

function join4(parts: tf.Tensor[], b: number, h: number): tf.Tensor4D {
  const [n, m] = (parts[0] as tf.Tensor2D).shape;
  return tf.reshape(tf.concat(parts, 0), [b, h, n, m]) as tf.Tensor4D;
}

/**
 * Attention output `[b, h, q, d_kv]` for `q [b, h, q, d_kv]`, `k`, `v [b, h, k, d_kv]` and per-head constant biases.
 *
 * @example
 * const o = attentionCore(q, k, v, headBiases(bias), null);
 */
export function attentionCore(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, biases: HeadBiases, dropout: AttentionDropout | null): tf.Tensor4D {
  const [b, h, lq] = q.shape;
  const lk = k.shape[2];
  const n = b * h;
  const f = tf.customGrad(((qi: tf.Tensor, ki: tf.Tensor, vi: tf.Tensor, save: tf.GradSaveFunc) => {
    const qs = split4(qi as tf.Tensor4D);
    const ks = split4(ki as tf.Tensor4D);
    const vs = split4(vi as tf.Tensor4D);
    const probs: tf.Tensor2D[] = [];
    const masks: tf.Tensor2D[] = [];
    const outs: tf.Tensor2D[] = [];
    for (let i = 0; i < n; i++) {
      const bias = biases.heads[biases.perExample ? i : i % h] as tf.Tensor2D;
      const scores = tf.add(tf.matMul(qs[i] as tf.Tensor2D, tf.transpose(ks[i] as tf.Tensor2D) as tf.Tensor2D), bias);
      const p = tf.softmax(scores, -1) as tf.Tensor2D;
      probs.push(p);
      let pd = p;
      if (dropout) {
        const m = dropoutMultiplier([lq, lk], dropout.rate, dropout.seeds[i] as number) as tf.Tensor2D;
        masks.push(m);
        pd = tf.mul(p, m) as tf.Tensor2D;
      }
      outs.push(tf.matMul(pd, vs[i] as tf.Tensor2D));
    }
    // Everything the gradient needs goes through save(): tensors captured by the closure are freed when the
    // forward pass's scope ends, before the backward pass runs.
    save([qi, ki, vi, ...probs, ...masks]);
    return {
      value: join4(outs, b, h),
      // tidy: the per-head temporaries are freed when this layer's gradient is done, not at the end of the whole
      // backward pass.
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.tidy(() => {
        const sq = split4(saved[0] as tf.Tensor4D);
        const sk = split4(saved[1] as tf.Tensor4D);
        const sv = split4(saved[2] as tf.Tensor4D);
        const sp = saved.slice(3, 3 + n) as tf.Tensor2D[];
        const sm = saved.slice(3 + n) as tf.Tensor2D[];
        const dO = split4(dy as tf.Tensor4D);
        const dQ: tf.Tensor[] = [];
        const dK: tf.Tensor[] = [];
        const dV: tf.Tensor[] = [];
        for (let i = 0; i < n; i++) {
          const p = sp[i] as tf.Tensor2D;
          const m = sm[i];
          const pd = m ? tf.mul(p, m) : p;
          dV.push(tf.matMul(tf.transpose(pd) as tf.Tensor2D, dO[i] as tf.Tensor2D));
          let dP: tf.Tensor2D = tf.matMul(dO[i] as tf.Tensor2D, tf.transpose(sv[i] as tf.Tensor2D) as tf.Tensor2D);
          if (m) dP = tf.mul(dP, m) as tf.Tensor2D;
          const dS = tf.mul(p, tf.sub(dP, tf.sum(tf.mul(dP, p), -1, true))) as tf.Tensor2D;
          dQ.push(tf.matMul(dS, sk[i] as tf.Tensor2D));
          dK.push(tf.matMul(tf.transpose(dS) as tf.Tensor2D, sq[i] as tf.Tensor2D));
        }
        return [join4(dQ, b, h), join4(dK, b, h), join4(dV, b, h)];
      }),
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(q, k, v) as tf.Tensor4D;
}

/**
 * A dropout multiplier tensor: each value is 0 with probability `rate`, else `1 / (1 − rate)`, drawn from a fast
 * seeded generator (xorshift32 on a seed from the run's Rng), so masks are reproducible and backend-independent.
 *
 * @example
 * const m = dropoutMultiplier([2, 8, 10, 10], 0.1, 12345);
 */
export function dropoutMultiplier(shape: number[], rate: number, seed: number): tf.Tensor {
  const size = shape.reduce((a, c) => a * c, 1);
  const values = new Float32Array(size);
  const keep = 1 - rate;
  const scale = 1 / keep;
  // Keep a value when its 32-bit draw is below keep·2^32.
  const threshold = Math.floor(keep * 4294967296);
  let s = seed >>> 0 || 0x9e3779b9;
  for (let i = 0; i < size; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    values[i] = s < threshold ? scale : 0;
  }
  return tf.tensor(values, shape, 'float32');
}
