import { beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '@dept/core';
import { initBackend, tf } from '@dept/tensor';
import { attentionCore, dropoutMultiplier, SMALL_PRODUCT_ROWS } from '../src/attention.ts';

/**
 * The attention core against a float64 reference written with plain loops from the equations
 * (S = QKᵀ + bias, P = softmax(S), O = (P ⊙ M) V), and its gradients against float64 central differences of that
 * reference. Every product path is covered: head by head, batched (few rows), and the mix a decoder's
 * cross-attention uses (few query rows, many key rows).
 */
interface Case { b: number; h: number; lq: number; lk: number; d: number }

function reference(q: Float64Array, k: Float64Array, v: Float64Array, bias: Float64Array, masks: Float64Array | null, c: Case): Float64Array {
  const out = new Float64Array(c.b * c.h * c.lq * c.d);
  const s = new Float64Array(c.lk);
  for (let bh = 0; bh < c.b * c.h; bh++) {
    for (let i = 0; i < c.lq; i++) {
      let max = -Infinity;
      for (let j = 0; j < c.lk; j++) {
        let dot = bias[(bh * c.lq + i) * c.lk + j] as number;
        for (let e = 0; e < c.d; e++) dot += (q[(bh * c.lq + i) * c.d + e] as number) * (k[(bh * c.lk + j) * c.d + e] as number);
        s[j] = dot;
        max = Math.max(max, dot);
      }
      let z = 0;
      for (let j = 0; j < c.lk; j++) z += Math.exp((s[j] as number) - max);
      for (let j = 0; j < c.lk; j++) {
        const p = (Math.exp((s[j] as number) - max) / z) * (masks ? (masks[(bh * c.lq + i) * c.lk + j] as number) : 1);
        for (let e = 0; e < c.d; e++) out[(bh * c.lq + i) * c.d + e] = (out[(bh * c.lq + i) * c.d + e] as number) + p * (v[(bh * c.lk + j) * c.d + e] as number);
      }
    }
  }
  return out;
}

const dot = (a: Float64Array, w: Float64Array) => a.reduce((acc, x, i) => acc + x * (w[i] as number), 0);

function randoms(n: number, rng: Rng, scale = 1): Float64Array {
  return Float64Array.from({ length: n }, () => rng.uniform(-scale, scale));
}

const CASES: [string, Case][] = [
  ['encoder-like (many rows: head by head)', { b: 2, h: 3, lq: 10, lk: 10, d: 4 }],
  ['decoder self-attention (few rows: batched)', { b: 2, h: 3, lq: 3, lk: 3, d: 4 }],
  ['decoder cross-attention (few query rows, many key rows: mixed)', { b: 2, h: 3, lq: 2, lk: 11, d: 4 }],
];

describe('attentionCore against a float64 reference', () => {
  beforeAll(async () => {
    await initBackend({ backend: 'wasm', announce: false });
  });

  for (const [name, c] of CASES) {
    for (const withDropout of [false, true]) {
      // 0: every product head by head; 1000: every product batched; the default mixes them by row count.
      for (const smallRows of [SMALL_PRODUCT_ROWS, 0, 1000]) {
        it(`${name}, ${withDropout ? 'with' : 'without'} dropout, small-product rows ${smallRows}: output and gradients`, () => {
          const rng = new Rng(17 + c.lq * 7 + c.lk);
          const q = randoms(c.b * c.h * c.lq * c.d, rng);
          const k = randoms(c.b * c.h * c.lk * c.d, rng);
          const v = randoms(c.b * c.h * c.lk * c.d, rng);
          const bias = randoms(c.b * c.h * c.lq * c.lk, rng, 0.5);
          bias[c.lk - 1] = -1e9; // a masked key position for the first query of the first head
          const w = randoms(c.b * c.h * c.lq * c.d, rng);
          const seeds = Array.from({ length: c.b * c.h }, () => rng.uint32());
          let masks: Float64Array | null = null;
          if (withDropout) {
            // The documented stream: head i's mask is dropoutMultiplier([lq, lk], rate, seeds[i]).
            masks = new Float64Array(c.b * c.h * c.lq * c.lk);
            seeds.forEach((seed, i) => masks!.set(tf.tidy(() => dropoutMultiplier([c.lq, c.lk], 0.25, seed).dataSync()), i * c.lq * c.lk));
          }
          const shape4 = (l: number) => [c.b, c.h, l, c.d] as [number, number, number, number];
          const [qt, kt, vt] = [tf.tensor4d(Float32Array.from(q), shape4(c.lq)), tf.tensor4d(Float32Array.from(k), shape4(c.lk)), tf.tensor4d(Float32Array.from(v), shape4(c.lk))];
          const biasT = tf.tensor4d(Float32Array.from(bias), [c.b, c.h, c.lq, c.lk]);
          const wT = tf.tensor4d(Float32Array.from(w), shape4(c.lq));
          const dropout = withDropout ? { rate: 0.25, seeds } : null;
          const out = attentionCore(qt, kt, vt, biasT, dropout, smallRows);
          const expected = reference(q, k, v, bias, masks, c);
          expect(out.shape).toEqual(shape4(c.lq));
          Array.from(out.dataSync()).forEach((x, i) => expect(Math.abs(x - (expected[i] as number))).toBeLessThan(1e-5));

          const grads = tf.grads((a: tf.Tensor, b: tf.Tensor, d: tf.Tensor) => tf.sum(tf.mul(attentionCore(a as tf.Tensor4D, b as tf.Tensor4D, d as tf.Tensor4D, biasT, dropout, smallRows), wT)))([qt, kt, vt]);
          // Central differences of Σ O ⊙ W in float64 (step 1e-6: error ~1e-9, far under float32's ~1e-6).
          const eps = 1e-6;
          [q, k, v].forEach((x, which) => {
            const got = grads[which]!.dataSync();
            for (let i = 0; i < x.length; i++) {
              const keep = x[i] as number;
              x[i] = keep + eps;
              const up = dot(reference(q, k, v, bias, masks, c), w);
              x[i] = keep - eps;
              const down = dot(reference(q, k, v, bias, masks, c), w);
              x[i] = keep;
              expect(Math.abs((got[i] as number) - (up - down) / (2 * eps))).toBeLessThan(2e-5);
            }
          });
          tf.dispose([qt, kt, vt, biasT, wT, out, ...grads]);
        });
      }
    }
  }
});
