import { beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '@dept/core';
import { disposeLinearWeight, initBackend, linear, linearWeight, tf } from '@dept/tensor';

/** float64 `a [n, k] @ b [k, m]` by hand. */
function matmul64(a: number[], b: number[], n: number, k: number, m: number): number[] {
  const out = new Array<number>(n * m).fill(0);
  for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) {
    let sum = 0;
    for (let t = 0; t < k; t++) sum += a[i * k + t]! * b[t * m + j]!;
    out[i * m + j] = sum;
  }
  return out;
}

describe.each(['wasm', 'cpu'] as const)('linear on %s: x @ Wᵀ and its input gradient', (backend) => {
  beforeAll(async () => {
    await initBackend({ backend, announce: false });
  });

  // in 8, out 6: the input gradient is "flipped" for n ≤ 4 rows and "direct" above, unless W [out, in] is kept.
  it.each([
    [1, false], [2, false], [4, false], [5, false], [9, false], [40, false], [2, true], [40, true],
  ] as const)('n = %i rows (W kept: %s): value and dx = dy @ W match a float64 hand computation (1e-5)', (n, keepOriginal) => {
    const rng = new Rng(11 + n);
    const inDim = 8;
    const outDim = 6;
    const w = Array.from({ length: outDim * inDim }, () => rng.uniform(-1, 1)); // [out, in]
    const x = Array.from({ length: n * inDim }, () => rng.uniform(-1, 1));
    const r = Array.from({ length: n * outDim }, () => rng.uniform(-1, 1)); // upstream gradient dy
    const weight = linearWeight(tf.tensor2d(w, [outDim, inDim]), { keepOriginal });
    const wT = Array.from({ length: inDim * outDim }, (_, i) => w[(i % outDim) * inDim + Math.floor(i / outDim)]!);
    const { y, dx } = tf.tidy(() => {
      const xt = tf.tensor2d(x, [n, inDim]);
      const rt = tf.tensor2d(r, [n, outDim]);
      const g = tf.grad((xi: tf.Tensor) => tf.sum(tf.mul(linear(xi, weight), rt)));
      return { y: linear(xt, weight), dx: g(xt) };
    });
    expect(y.shape).toEqual([n, outDim]);
    expect(dx.shape).toEqual([n, inDim]);
    const yWant = matmul64(x, wT, n, inDim, outDim);
    const dxWant = matmul64(r, w, n, outDim, inDim);
    Array.from(y.dataSync()).forEach((v, i) => expect(Math.abs(v - yWant[i]!)).toBeLessThan(1e-5));
    Array.from(dx.dataSync()).forEach((v, i) => expect(Math.abs(v - dxWant[i]!)).toBeLessThan(1e-5));
    tf.dispose([y, dx]);
    disposeLinearWeight(weight);
  });
});
