/**
 * A linear layer that stays on the fast matMul path. PyTorch stores Linear weights as `[out, in]`, so a naive
 * `x @ W^T` uses a transposed matMul, which the wasm backend runs in a slow plain loop (and so does the gradient).
 * We keep the weight pre-transposed as `[in, out]` and give the product a custom gradient whose only matMuls are
 * untransposed 2-D ones — never a transposed product.
 */
import * as tf from '@tensorflow/tfjs';

/** A frozen linear weight, stored pre-transposed, with its product function. */
export interface LinearWeight {
  /** `[in, out]`: used by the forward product `x @ wT`. */
  wT: tf.Tensor2D;
  /** `[out, in]`: the original layout, kept only when asked (e.g. a tied embedding that is needed anyway). */
  w: tf.Tensor2D | null;
  /** `x2 [n, in] → [n, out]` with the custom gradient. */
  apply: (x2: tf.Tensor2D) => tf.Tensor2D;
}

/**
 * Makes a {@link LinearWeight} from a PyTorch-layout weight `[out, in]`. The transposed copy `[in, out]` is made
 * once; the original is freed unless `keepOriginal` (memory: one copy per weight). The backward product
 * `dy @ W` is made from `wT` on the fly (see {@link inputGradient}), so both directions stay on the untransposed
 * 2-D matMul path without holding two copies of every weight.
 *
 * @example
 * const q = linearWeight(tf.tensor2d(values, [heads * d_kv, d_model]));
 */
export function linearWeight(w: tf.Tensor2D, options: { keepOriginal?: boolean } = {}): LinearWeight {
  const wT = tf.keep(tf.transpose(w)) as tf.Tensor2D;
  const original = options.keepOriginal ? w : null;
  if (!options.keepOriginal) w.dispose();
  const [inDim, outDim] = wT.shape;
  // The weight is frozen and closed over, so the only input (and the only gradient) is x.
  const apply = tf.customGrad(((x: tf.Tensor) => ({
    value: tf.matMul(x as tf.Tensor2D, wT),
    // tidy: the on-the-fly transposes are freed at once, not at the end of the whole backward pass.
    gradFunc: (dy: tf.Tensor) => [tf.tidy(() => inputGradient(dy as tf.Tensor2D, wT, original, inDim, outDim))],
  })) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (x2: tf.Tensor2D) => tf.Tensor2D;
  return { w: original, wT, apply };
}

/**
 * `dx = dy @ W` for `dy [n, out]`, `W [out, in]`, from the stored `wT [in, out]`, on untransposed 2-D products only.
 * The wasm backend packs the right-hand operand of every product it has not seen before (a pass over it), so a
 * product against a fresh tensor costs a pass over that tensor besides the arithmetic. Two exact ways:
 * - direct: `dy @ transpose(wT)`: transposes and packs the whole weight (≈ 2·in·out values moved);
 * - flipped: `transpose(wT @ transpose(dy))`: `wT` is the left operand (never packed), so only `dy` is
 *   transposed and packed and the `[in, n]` result transposed back (≈ 2·n·out + n·in).
 * The cheaper is taken: flipped for few rows (the decoder's handful of target tokens, a micro-batch of one
 * long example on t5-base), direct for many.
 */
function inputGradient(dy: tf.Tensor2D, wT: tf.Tensor2D, original: tf.Tensor2D | null, inDim: number, outDim: number): tf.Tensor2D {
  if (original) return tf.matMul(dy, original);
  const n = dy.shape[0];
  if (2 * n * outDim + n * inDim < 2 * inDim * outDim) {
    return tf.transpose(tf.matMul(wT, tf.transpose(dy) as tf.Tensor2D)) as tf.Tensor2D;
  }
  return tf.matMul(dy, tf.transpose(wT) as tf.Tensor2D);
}

/** Frees a weight (both layouts when the original was kept). */
export function disposeLinearWeight(weight: LinearWeight): void {
  weight.w?.dispose();
  weight.wT.dispose();
}

/**
 * `x @ W^T` for a frozen weight, with `x` of any rank `[..., in]`, giving `[..., out]`.
 *
 * @example
 * const y = linear(x, weight); // x [b, t, d_model], weight.w [d_ff, d_model] → y [b, t, d_ff]
 */
export function linear(x: tf.Tensor, weight: LinearWeight): tf.Tensor {
  const inDim = weight.wT.shape[0];
  const outDim = weight.wT.shape[1];
  if (x.shape[x.rank - 1] !== inDim) {
    throw new Error(`linear: input last dimension ${x.shape[x.rank - 1]} does not match weight [${outDim}, ${inDim}]`);
  }
  if (x.rank === 2) return weight.apply(x as tf.Tensor2D);
  const lead = x.shape.slice(0, -1);
  const y = weight.apply(tf.reshape(x, [-1, inDim]) as tf.Tensor2D);
  return tf.reshape(y, [...lead, outDim]);
}
