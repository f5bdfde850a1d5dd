/**
 * T5's attention core on the fast path. tfjs's wasm backend runs only untransposed 2-D matMuls on XNNPACK; batched
 * or transposed products fall to a plain loop about 15× slower. So the products are computed head by head, each a
 * 2-D matMul against an explicitly transposed operand (all heads transposed in one call), in the forward pass and in
 * the custom gradient; everything elementwise runs once over all heads. No 1/√d_kv scaling (T5 has none).
 *
 *   S = Q Kᵀ + bias,  P = softmax(S),  P̃ = P ⊙ M (dropout),  O = P̃ V
 *   dV = P̃ᵀ dO,  dP̃ = dO Vᵀ,  dP = dP̃ ⊙ M,  dS = P ⊙ (dP − Σ_k dP ⊙ P),  dQ = dS K,  dK = dSᵀ Q
 */
import { tf } from '@dept/tensor';

/** Dropout on attention weights: the rate and the seeds of each head's mask (drawn by the caller). */
export interface AttentionDropout {
  rate: number;
  /** One 32-bit seed per (batch, head), in flattened order. */
  seeds: number[];
}

/** `[b, h, n, m]` → b·h tensors `[n, m]` (one reshape and one unstack kernel). */
function heads(x: tf.Tensor4D): tf.Tensor2D[] {
  const [b, h, n, m] = x.shape;
  return tf.unstack(tf.reshape(x, [b * h, n, m])) as tf.Tensor2D[];
}

/** b·h tensors `[n, m]` → `[b, h, n, m]`. */
function join4(parts: tf.Tensor[], b: number, h: number): tf.Tensor4D {
  const [n, m] = (parts[0] as tf.Tensor2D).shape;
  return tf.reshape(tf.concat(parts, 0), [b, h, n, m]) as tf.Tensor4D;
}

/** `[b, h, n, m]` → `[b, h, m, n]`. */
function transposeLast(x: tf.Tensor4D): tf.Tensor4D {
  return tf.transpose(x, [0, 1, 3, 2]) as tf.Tensor4D;
}

/** The dropout multipliers of all heads `[b, h, q, k]`, head i drawn from `seeds[i]` (see {@link dropoutMultiplier}). */
function headMasks(b: number, h: number, q: number, k: number, dropout: AttentionDropout): tf.Tensor4D {
  const size = q * k;
  const values = new Float32Array(b * h * size);
  for (let i = 0; i < b * h; i++) fillDropout(values.subarray(i * size, (i + 1) * size), dropout.rate, dropout.seeds[i] as number);
  return tf.tensor4d(values, [b, h, q, k]);
}

/**
 * Attention output `[b, h, q, d_kv]` for `q [b, h, q, d_kv]`, `k`, `v [b, h, k, d_kv]` and an additive bias
 * `[b or 1, h, q, k]` (relative positions + mask). Only the products go head by head; the bias, the softmax, the
 * dropout and the softmax gradient run once over all heads, so a layer costs a few kernel calls per head, not a dozen
 * (each call has a fixed cost, and with wasm threads a hand-off to the pool).
 *
 * @example
 * const o = attentionCore(q, k, v, tf.add(positionBias, mask), null);
 */
export function attentionCore(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, bias: tf.Tensor4D, dropout: AttentionDropout | null): tf.Tensor4D {
  const [b, h, lq] = q.shape;
  const lk = k.shape[2];
  const f = tf.customGrad(((qi: tf.Tensor, ki: tf.Tensor, vi: tf.Tensor, save: tf.GradSaveFunc) => {
    const qs = heads(qi as tf.Tensor4D);
    const kTs = heads(transposeLast(ki as tf.Tensor4D));
    const scores = tf.add(join4(qs.map((qh, i) => tf.matMul(qh, kTs[i] as tf.Tensor2D)), b, h), bias);
    const probs = tf.softmax(scores, -1) as tf.Tensor4D;
    const mask = dropout ? headMasks(b, h, lq, lk, dropout) : null;
    const dropped = mask ? (tf.mul(probs, mask) as tf.Tensor4D) : probs;
    const vs = heads(vi as tf.Tensor4D);
    const out = join4(heads(dropped).map((p, i) => tf.matMul(p, vs[i] as tf.Tensor2D)), b, h);
    // Everything the gradient needs goes through save(): tensors captured by the closure are freed when the
    // forward pass's scope ends, before the backward pass runs.
    save(mask ? [qi, ki, vi, probs, mask] : [qi, ki, vi, probs]);
    return {
      value: out,
      // tidy: the per-head temporaries are freed when this layer's gradient is done, not at the end of the whole
      // backward pass.
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.tidy(() => {
        const [sq, sk, sv, p, m] = saved as [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D, tf.Tensor4D, tf.Tensor4D | undefined];
        const dO = heads(dy as tf.Tensor4D);
        const vTs = heads(transposeLast(sv));
        let dP = join4(dO.map((d, i) => tf.matMul(d, vTs[i] as tf.Tensor2D)), b, h);
        if (m) dP = tf.mul(dP, m) as tf.Tensor4D;
        const dS = tf.mul(p, tf.sub(dP, tf.sum(tf.mul(dP, p), -1, true))) as tf.Tensor4D;
        const pdT = heads(transposeLast(m ? (tf.mul(p, m) as tf.Tensor4D) : p));
        const dSs = heads(dS);
        const dSTs = heads(transposeLast(dS));
        const qs2 = heads(sq);
        const ks2 = heads(sk);
        const dV = dO.map((d, i) => tf.matMul(pdT[i] as tf.Tensor2D, d));
        const dQ = dSs.map((d, i) => tf.matMul(d, ks2[i] as tf.Tensor2D));
        const dK = dSTs.map((d, i) => tf.matMul(d, qs2[i] as tf.Tensor2D));
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
  const values = new Float32Array(shape.reduce((a, c) => a * c, 1));
  fillDropout(values, rate, seed);
  return tf.tensor(values, shape, 'float32');
}

/** Fills `values` with dropout multipliers from one seed (the stream of {@link dropoutMultiplier}). */
function fillDropout(values: Float32Array, rate: number, seed: number): void {
  const keep = 1 - rate;
  const scale = 1 / keep;
  // Keep a value when its 32-bit draw is below keep·2^32.
  const threshold = Math.floor(keep * 4294967296);
  let s = seed >>> 0 || 0x9e3779b9;
  for (let i = 0; i < values.length; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    values[i] = s < threshold ? scale : 0;
  }
}
