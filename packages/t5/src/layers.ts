/**
 * The building blocks of a T5 layer that are not attention: dropout and RMSNorm with custom gradients that keep only
 * what the backward pass needs, the feed-forward activations, and the additive padding mask.
 */
import type { Rng } from '@dept/core';
import { tf } from '@dept/tensor';
import { dropoutMultiplier } from './attention.ts';

/** float32's most negative finite value, HF's additive mask value (`torch.finfo(float32).min`). */
export const MASK_VALUE = -3.4028234663852886e38;

/**
 * Dropout during training. Each dropout site draws its seed from `rng` in a fixed order, so a run (and a resumed
 * run, once the rng state is restored) sees the same masks.
 */
export interface DropoutContext {
  rate: number;
  rng: Rng;
}

/**
 * Dropout as `x ⊙ M` with a custom gradient: the multiplier M is made inside the forward pass and saved for the
 * backward pass (`dx = dy ⊙ M`); x is not kept, and no gradient is computed for M.
 */
export function dropout(x: tf.Tensor, ctx: DropoutContext | undefined): tf.Tensor {
  if (!ctx || ctx.rate <= 0) return x;
  const seed = ctx.rng.uint32();
  const f = tf.customGrad(((xi: tf.Tensor, save: tf.GradSaveFunc) => {
    const m = dropoutMultiplier(xi.shape, ctx.rate, seed);
    save([m]);
    return {
      value: tf.mul(xi, m),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [tf.mul(dy, saved[0] as tf.Tensor)],
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(x) as tf.Tensor;
}

/**
 * `x · rsqrt(mean(x²) + eps) · w` over the last axis (T5LayerNorm: no mean subtraction, no bias), with a custom
 * gradient that keeps only x and the per-row r = rsqrt(mean(x²) + eps) (w is frozen):
 *   g = dy ⊙ w,  dx = r·g − x·r³·mean(g ⊙ x)
 */
export function rmsNorm(x: tf.Tensor, weight: tf.Tensor1D, eps: number): tf.Tensor {
  const f = tf.customGrad(((xi: tf.Tensor, save: tf.GradSaveFunc) => {
    const r = tf.rsqrt(tf.add(tf.mean(tf.square(xi), -1, true), eps));
    save([xi, r]);
    return {
      value: tf.mul(tf.mul(xi, r), weight),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.tidy(() => {
        const [sx, sr] = saved as [tf.Tensor, tf.Tensor];
        const g = tf.mul(dy, weight);
        const dot = tf.mean(tf.mul(g, sx), -1, true);
        return [tf.sub(tf.mul(g, sr), tf.mul(sx, tf.mul(tf.pow(sr, 3), dot)))];
      }),
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(x) as tf.Tensor;
}

function geluNew(x: tf.Tensor): tf.Tensor {
  // 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
  const inner = tf.mul(tf.add(x, tf.mul(tf.pow(x, 3), 0.044715)), Math.sqrt(2 / Math.PI));
  return tf.mul(tf.mul(x, 0.5), tf.add(tf.tanh(inner), 1));
}

export function activation(name: string, x: tf.Tensor): tf.Tensor {
  switch (name) {
    case 'relu':
      return tf.relu(x);
    case 'gelu_new':
    case 'gelu_pytorch_tanh':
      return geluNew(x);
    case 'gelu': {
      // exact erf gelu: 0.5·x·(1 + erf(x/√2))
      return tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.div(x, Math.SQRT2)), 1));
    }
    case 'silu':
      return tf.mul(x, tf.sigmoid(x));
    default:
      throw new Error(`unsupported activation ${name}`);
  }
}

/** `[b, k]` mask (1 keep, 0 pad) → additive `[b, 1, 1, k]`. */
export function extendedMask(mask: tf.Tensor2D): tf.Tensor4D {
  const m = tf.cast(mask, 'float32');
  const [b, k] = m.shape;
  return tf.reshape(tf.mul(tf.sub(1, m), MASK_VALUE), [b, 1, 1, k]) as tf.Tensor4D;
}
