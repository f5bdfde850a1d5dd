import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend, Rng, tf } from '@dept/tensor';

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
