/**
 * T5's attention core on the fast path. tfjs's wasm backend runs only untransposed 2-D matMuls on XNNPACK; batched
 * or transposed products fall to a plain loop about 15× slower. This core computes, per (batch, head), the products
 * `Q Kᵀ` and `P V` as 2-D matMuls against explicitly transposed operands, with a custom gradient whose four
 * products are 2-D and untransposed as well. Softmax, the additive bias (relative positions + mask) and dropout run
 * once over the whole `[b, h, q, k]` tensor. No 1/√d_kv scaling (T5 has none).
 *
 *   S = Q Kᵀ + bias,  P = softmax(S),  P̃ = P ⊙ M (dropout),  O = P̃ V
 *   dV = P̃ᵀ dO,  dP̃ = dO Vᵀ,  dP = dP̃ ⊙ M,  dS = P ⊙ (dP − Σ_k dP ⊙ P),  dQ = dS K,  dK = dSᵀ Q
 */
import { tf } from '@dept/tensor';

/** Dropout of attention weights: a precomputed multiplier (0 or 1/(1 − rate)) of shape `[b, h, q, k]`. */
export type DropoutMultiplier = tf.Tensor4D | null;

function perHead(x: tf.Tensor4D): tf.Tensor2D[] {
  const [b, h, n, m] = x.shape;
  return tf.unstack(tf.reshape(x, [b * h, n, m])) as tf.Tensor2D[];
}

function fromHeads(parts: tf.Tensor2D[], b: number, h: number): tf.Tensor4D {
  const [n, m] = (parts[0] as tf.Tensor2D).shape;
  return tf.reshape(tf.stack(parts), [b, h, n, m]) as tf.Tensor4D;
}

/** `A_i @ B_i` for every head, all 2-D and untransposed. */
function headMatMul(a: tf.Tensor2D[], bT: tf.Tensor2D[]): tf.Tensor2D[] {
  return a.map((ai, i) => tf.matMul(ai, bT[i] as tf.Tensor2D));
}

function transposeHeads(parts: tf.Tensor2D[]): tf.Tensor2D[] {
  return parts.map((p) => tf.transpose(p) as tf.Tensor2D);
}

/**
 * Attention output `[b, h, q, d_kv]` for `q [b, h, q, d_kv]`, `k`, `v [b, h, k, d_kv]`, an additive `bias`
 * broadcastable to `[b, h, q, k]` (constant: no gradient) and an optional dropout multiplier.
 *
 * @example
 * const o = attentionCore(q, k, v, bias, null);
 */
export function attentionCore(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, bias: tf.Tensor, dropout: DropoutMultiplier): tf.Tensor4D {
  const [b, h] = q.shape;
  const f = tf.customGrad(((qi: tf.Tensor, ki: tf.Tensor, vi: tf.Tensor, save: tf.GradSaveFunc) => {
    const qHeads = perHead(qi as tf.Tensor4D);
    const kHeads = perHead(ki as tf.Tensor4D);
    const vHeads = perHead(vi as tf.Tensor4D);
    const scores = tf.add(fromHeads(headMatMul(qHeads, transposeHeads(kHeads)), b, h), bias);
    const probs = tf.softmax(scores, -1) as tf.Tensor4D;
    const dropped = dropout ? (tf.mul(probs, dropout) as tf.Tensor4D) : probs;
    const out = fromHeads(headMatMul(perHead(dropped), vHeads), b, h);
    // Everything the gradient needs goes through save(): closure-captured tensors are freed when the forward's
    // scope ends, before the backward pass runs.
    save(dropout ? [qi, ki, vi, probs, dropped, dropout] : [qi, ki, vi, probs, dropped]);
    return {
      value: out,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sq, sk, sv, sp, sd, sm] = saved as [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D, tf.Tensor4D, tf.Tensor4D, tf.Tensor4D | undefined];
        const dO = perHead(dy as tf.Tensor4D);
        const dV = fromHeads(headMatMul(transposeHeads(perHead(sd)), dO), b, h);
        let dP: tf.Tensor = fromHeads(headMatMul(dO, transposeHeads(perHead(sv))), b, h);
        if (sm) dP = tf.mul(dP, sm);
        const dS = tf.mul(sp, tf.sub(dP, tf.sum(tf.mul(dP, sp), -1, true))) as tf.Tensor4D;
        const dSHeads = perHead(dS);
        const dQ = fromHeads(headMatMul(dSHeads, perHead(sk)), b, h);
        const dK = fromHeads(headMatMul(transposeHeads(dSHeads), perHead(sq)), b, h);
        return [dQ, dK, dV];
      },
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
  const n = shape.reduce((a, c) => a * c, 1);
  const values = new Float32Array(n);
  const keep = 1 - rate;
  const scale = 1 / keep;
  // Threshold on 32-bit draws: keep when draw < keep·2^32.
  const threshold = Math.floor(keep * 4294967296);
  let s = (seed >>> 0) || 0x9e3779b9;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    values[i] = s < threshold ? scale : 0;
  }
  return tf.tensor(values, shape, 'float32');
}
