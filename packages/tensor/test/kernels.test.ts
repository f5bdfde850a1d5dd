import { beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '@dept/core';
import { float32TensorFilled, initBackend, matMulEach, tf } from '@dept/tensor';

/** Expected slice by plain index arithmetic (independent of any kernel). */
function sliceByHand(values: number[], shape: number[], begin: number[], size: number[]): number[] {
  const out: number[] = [];
  const rank = shape.length;
  const st = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
  const total = size.reduce((a, b) => a * b, 1);
  for (let flat = 0; flat < total; flat++) {
    let rem = flat;
    let offset = 0;
    for (let d = 0; d < rank; d++) {
      const inner = size.slice(d + 1).reduce((a, b) => a * b, 1);
      const i = Math.floor(rem / inner);
      rem %= inner;
      offset += (begin[d]! + i) * st[d]!;
    }
    out.push(values[offset]!);
  }
  return out;
}

describe('wasm slicing kernels (heap-view Slice, SplitV, Unpack)', () => {
  beforeAll(async () => {
    await initBackend({ backend: 'wasm', announce: false });
  });

  it('slice any box of 1-D to 4-D tensors exactly', () => {
    const rng = new Rng(5);
    for (let trial = 0; trial < 60; trial++) {
      const rank = 1 + rng.int(4);
      const shape = Array.from({ length: rank }, () => 1 + rng.int(5));
      const begin = shape.map((s) => rng.int(s));
      const size = shape.map((s, i) => 1 + rng.int(s - begin[i]!));
      const values = Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => i * 1.5 - 7);
      const x = tf.tensor(values, shape);
      const y = tf.slice(x, begin, size);
      expect(y.shape).toEqual(size);
      expect(Array.from(y.dataSync())).toEqual(sliceByHand(values, shape, begin, size));
      tf.dispose([x, y]);
    }
  });

  it('split and unstack give the parts in order, on any axis, for int32 too', () => {
    const values = Array.from({ length: 2 * 3 * 4 }, (_, i) => i);
    const x = tf.tensor(values, [2, 3, 4], 'int32');
    const parts = tf.split(x, [1, 3], 2);
    expect(Array.from(parts[0]!.dataSync())).toEqual(sliceByHand(values, [2, 3, 4], [0, 0, 0], [2, 3, 1]));
    expect(Array.from(parts[1]!.dataSync())).toEqual(sliceByHand(values, [2, 3, 4], [0, 0, 1], [2, 3, 3]));
    const rows = tf.unstack(x, 1);
    expect(rows.map((r) => r.shape)).toEqual([[2, 4], [2, 4], [2, 4]]);
    expect(Array.from(rows[2]!.dataSync())).toEqual(sliceByHand(values, [2, 3, 4], [0, 2, 0], [2, 1, 4]));
    expect(rows[2]!.dtype).toBe('int32');
    tf.dispose([x, ...parts, ...rows]);
  });

  it('gives the same gradients through slices as the cpu backend would by hand', () => {
    const x = tf.variable(tf.tensor2d([[1, 2, 3], [4, 5, 6]]));
    const { grads } = tf.variableGrads(() => tf.sum(tf.mul(tf.split(x, 3, 1)[1]!, 2)), [x]);
    expect(Array.from(grads[x.name]!.dataSync())).toEqual([0, 2, 0, 0, 2, 0]);
    tf.dispose([x, ...Object.values(grads)]);
  });
});

describe('wasm Identity (tf.clone) shares data instead of copying', () => {
  beforeAll(async () => {
    await initBackend({ backend: 'wasm', announce: false });
  });

  it('a clone holds the same values, survives its source, and adds no buffer', () => {
    const backend = tf.backend() as unknown as { numDataIds(): number };
    const x = tf.tensor([1.5, -2, 3.25, 4], [2, 2]);
    const buffers = backend.numDataIds();
    const y = tf.clone(x);
    expect(backend.numDataIds()).toBe(buffers); // shared, not copied
    x.dispose();
    expect(Array.from(y.dataSync())).toEqual([1.5, -2, 3.25, 4]);
    expect(y.shape).toEqual([2, 2]);
    y.dispose();
    expect(backend.numDataIds()).toBe(buffers - 1); // the last reference frees the buffer
  });

  it('keeps gradients through saved tensors right (saved clones are the forward values)', () => {
    // d/dx Σ exp(x)·x = exp(x)·(x + 1): exp saves its output, mul saves both inputs, all through clones.
    const values = [-1, 0, 0.5, 2];
    const g = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(tf.exp(x), x)))(tf.tensor1d(values));
    const expected = values.map((v) => Math.exp(v) * (v + 1));
    Array.from(g.dataSync()).forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 5));
  });
});

describe('float32TensorFilled (values written in place)', () => {
  for (const backendName of ['wasm', 'cpu'] as const) {
    it(`gives the written values and is freed by tidy (${backendName})`, async () => {
      await initBackend({ backend: backendName, announce: false });
      const before = tf.memory().numTensors;
      const sum = tf.tidy(() => {
        const t = float32TensorFilled([2, 3], (v) => v.forEach((_, i) => { v[i] = i * 0.5 - 1; }));
        expect(t.shape).toEqual([2, 3]);
        expect(t.dtype).toBe('float32');
        expect(Array.from(t.dataSync())).toEqual([-1, -0.5, 0, 0.5, 1, 1.5]);
        return tf.sum(tf.mul(t, 2));
      });
      expect(sum.dataSync()[0]).toBeCloseTo(3, 6); // 2 · (−1 − 0.5 + 0 + 0.5 + 1 + 1.5), by hand
      sum.dispose();
      expect(tf.memory().numTensors).toBe(before);
    });
  }
});

describe('matMulEach (per-entry 2-D products on views)', () => {
  /** Σ_k a[i, r, k] · b[i, k, c] in float64, by hand. */
  function productsByHand(a: Float32Array, b: Float32Array, batch: number, n: number, k: number, m: number): Float64Array {
    const out = new Float64Array(batch * n * m);
    for (let i = 0; i < batch; i++) for (let r = 0; r < n; r++) for (let c = 0; c < m; c++) {
      let acc = 0;
      for (let j = 0; j < k; j++) acc += (a[(i * n + r) * k + j] as number) * (b[(i * k + j) * m + c] as number);
      out[(i * n + r) * m + c] = acc;
    }
    return out;
  }

  for (const backendName of ['wasm', 'cpu'] as const) {
    it(`equals float64 products by hand for many shapes (${backendName})`, async () => {
      await initBackend({ backend: backendName, announce: false });
      const rng = new Rng(11);
      for (const [batch, n, k, m] of [[1, 1, 1, 1], [3, 5, 7, 2], [32, 9, 16, 40], [2, 1, 64, 70], [4, 70, 3, 1], [5, 33, 65, 17]] as const) {
        const a = Float32Array.from({ length: batch * n * k }, () => rng.uniform(-1, 1));
        const b = Float32Array.from({ length: batch * k * m }, () => rng.uniform(-1, 1));
        const before = tf.memory().numTensors;
        const out = tf.tidy(() => matMulEach(tf.tensor3d(a, [batch, n, k]), tf.tensor3d(b, [batch, k, m])));
        expect(out.shape).toEqual([batch, n, m]);
        const expected = productsByHand(a, b, batch, n, k, m);
        // float32 sums of k terms of size ≤ 1: error ≲ k · 2⁻²⁴ · k; 1e-5 covers k ≤ 65.
        Array.from(out.dataSync()).forEach((v, i) => expect(Math.abs(v - (expected[i] as number))).toBeLessThan(1e-5));
        out.dispose();
        expect(tf.memory().numTensors).toBe(before);
      }
    });
  }

  it('has the gradient of a batched product, and refuses shapes that do not multiply', async () => {
    await initBackend({ backend: 'wasm', announce: false });
    const a = tf.tensor3d([1, 2, 3, 4, 5, 6, 7, 8], [2, 2, 2]);
    const b = tf.tensor3d([0.5, -1, 2, 0, 1, 1, -3, 2], [2, 2, 2]);
    const w = tf.tensor3d([1, -2, 0.5, 3, 2, 1, -1, 0.25], [2, 2, 2]);
    const [da, db] = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(matMulEach(x as tf.Tensor3D, y as tf.Tensor3D), w)))([a, b]);
    // d/da = W · bᵀ and d/db = aᵀ · W per entry (entry 0 of d/da by hand: [1·0.5 + 2·1, 1·2] = [2.5, 2]).
    expect(Array.from(da!.dataSync())).toEqual([2.5, 2, -2.75, 1, 3, -4, -0.75, 3.5]);
    expect(Array.from(db!.dataSync())).toEqual([2.5, 7, 4, 8, 3, 6.75, 4, 8]);
    expect(() => matMulEach(a, tf.zeros([2, 3, 2]) as tf.Tensor3D)).toThrow(/matMulEach: shapes \[2,2,2\] and \[2,3,2\]/);
  });
});
