/**
 * T5's attention core on the fast path. tfjs's wasm backend runs only untransposed 2-D matMuls on XNNPACK; batched
 * or transposed products fall to a plain loop about 15× slower. So the products run head by head as untransposed
 * 2-D products ({@link matMulEach}: one kernel call for all heads, on views, no splitting copies), against explicitly
 * transposed operands (all heads transposed in one call), in the forward pass and in the custom gradient; everything
 * elementwise runs once over all heads. Products with only a few output rows per head (the decoder's target tokens)
 * run as one batched product instead, where the work is too small to matter. No 1/√d_kv scaling (T5 has none).
 *
 *   S = Q Kᵀ + bias,  P = softmax(S),  P̃ = P ⊙ M (dropout),  O = P̃ V
 *   dV = P̃ᵀ dO,  dP̃ = dO Vᵀ,  dP = dP̃ ⊙ M,  dS = P ⊙ (dP − Σ_k dP ⊙ P),  dQ = dS K,  dK = dSᵀ Q
 */
import { fillDropoutMultipliers, float32TensorFilled, matMulEach, tf } from '@dept/tensor';

/** Dropout on attention weights: the rate and the seeds of each head's mask (drawn by the caller). */
export interface AttentionDropout {
  rate: number;
  /** One 32-bit seed per (batch, head), in flattened order. */
  seeds: number[];
}

/** `[b, h, n, m]` → `[b, h, m, n]`. */
function transposeLast(x: tf.Tensor4D): tf.Tensor4D {
  return tf.transpose(x, [0, 1, 3, 2]) as tf.Tensor4D;
}

/** The dropout multipliers of all heads `[b, h, q, k]`, head i drawn from `seeds[i]` (see {@link dropoutMultiplier}). */
function headMasks(b: number, h: number, q: number, k: number, dropout: AttentionDropout): tf.Tensor4D {
  const size = q * k;
  return float32TensorFilled([b, h, q, k], (values) => {
    for (let i = 0; i < b * h; i++) fillDropoutMultipliers(values.subarray(i * size, (i + 1) * size), dropout.rate, dropout.seeds[i] as number);
  }) as tf.Tensor4D;
}

/**
 * Products with at most this many output rows per head run as one batched matMul over all heads instead of one 2-D
 * matMul per head. The batched form falls to the wasm backend's plain loop (single-threaded, ~1 GFLOP/s), but for
 * a handful of rows (the decoder's target tokens in training) its total work is tiny, while each per-head product
 * costs XNNPACK an operator, a packed copy of its right-hand operand and a hand-off to the thread pool.
 */
export const SMALL_PRODUCT_ROWS = 8;

/**
 * `x_i @ y_i` for every head i, optionally transposing either side: `[b, h, n, k] × [b, h, k, m] → [b, h, n, m]`.
 * Few output rows: one batched matMul (transposes folded into it). Otherwise {@link matMulEach}: XNNPACK's 2-D
 * product per head on views of the operands, after an explicit transpose of all heads in one call where needed.
 */
function headProducts(x: tf.Tensor4D, y: tf.Tensor4D, transposeX: boolean, transposeY: boolean, smallRows: number): tf.Tensor4D {
  const [b, h] = x.shape;
  const rows = transposeX ? x.shape[3] : x.shape[2];
  const cols = transposeY ? y.shape[2] : y.shape[3];
  const flat = (t: tf.Tensor4D) => tf.reshape(t, [b * h, t.shape[2], t.shape[3]]) as tf.Tensor3D;
  const product = rows <= smallRows
    ? tf.matMul(flat(x), flat(y), transposeX, transposeY)
    : matMulEach(flat(transposeX ? transposeLast(x) : x), flat(transposeY ? transposeLast(y) : y));
  return tf.reshape(product, [b, h, rows, cols]) as tf.Tensor4D;
}

/**
 * Attention output `[b, h, q, d_kv]` for `q [b, h, q, d_kv]`, `k`, `v [b, h, k, d_kv]` and an additive bias
 * `[b or 1, h, q, k]` (relative positions + mask). Only the products go head by head (or batched, for a few rows:
 * see {@link SMALL_PRODUCT_ROWS}); the bias, the softmax, the dropout and the softmax gradient run once over all
 * heads, so a layer costs a dozen kernel calls whatever the number of heads (each call has a fixed cost, and with
 * wasm threads a hand-off to the pool). `smallRows` is for tests (0: always head by head).
 *
 * @example
 * const o = attentionCore(q, k, v, tf.add(positionBias, mask), null);
 */
export function attentionCore(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, bias: tf.Tensor4D, dropout: AttentionDropout | null, smallRows = SMALL_PRODUCT_ROWS): tf.Tensor4D {
  const [b, h, lq] = q.shape;
  const lk = k.shape[2];
  const f = tf.customGrad(((qi: tf.Tensor, ki: tf.Tensor, vi: tf.Tensor, save: tf.GradSaveFunc) => {
    const scores = tf.add(headProducts(qi as tf.Tensor4D, ki as tf.Tensor4D, false, true, smallRows), bias);
    const probs = tf.softmax(scores, -1) as tf.Tensor4D;
    const mask = dropout ? headMasks(b, h, lq, lk, dropout) : null;
    const dropped = mask ? (tf.mul(probs, mask) as tf.Tensor4D) : probs;
    const out = headProducts(dropped, vi as tf.Tensor4D, false, false, smallRows);
    // Everything the gradient needs goes through save(): tensors captured by the closure are freed when the
    // forward pass's scope ends, before the backward pass runs.
    save(mask ? [qi, ki, vi, probs, mask] : [qi, ki, vi, probs]);
    return {
      value: out,
      // tidy: the per-head temporaries are freed when this layer's gradient is done, not at the end of the whole
      // backward pass.
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.tidy(() => {
        const [sq, sk, sv, p, m] = saved as [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D, tf.Tensor4D, tf.Tensor4D | undefined];
        const dO = dy as tf.Tensor4D;
        let dP = headProducts(dO, sv, false, true, smallRows);
        if (m) dP = tf.mul(dP, m) as tf.Tensor4D;
        const dS = tf.mul(p, tf.sub(dP, tf.sum(tf.mul(dP, p), -1, true))) as tf.Tensor4D;
        const pd = m ? (tf.mul(p, m) as tf.Tensor4D) : p;
        const dV = headProducts(pd, dO, true, false, smallRows);
        const dQ = headProducts(dS, sk, false, false, smallRows);
        const dK = headProducts(dS, sq, true, false, smallRows);
        return [dQ, dK, dV];
      }),
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(q, k, v) as tf.Tensor4D;
}

/**
 * A dropout multiplier tensor: each value is 0 with probability `rate`, else `1 / (1 − rate)`, from a fast seeded
 * generator (four xorshift32 lanes on a seed from the run's Rng; see `fillDropoutMultipliers`), so masks are
 * reproducible and the same on every backend.
 *
 * @example
 * const m = dropoutMultiplier([2, 8, 10, 10], 0.1, 12345);
 */
export function dropoutMultiplier(shape: number[], rate: number, seed: number): tf.Tensor {
  return float32TensorFilled(shape, (values) => fillDropoutMultipliers(values, rate, seed));
}
