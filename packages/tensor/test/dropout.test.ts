import { beforeAll, describe, expect, it } from 'vitest';
import { dropoutFillIsWasm, fillDropoutMultipliers, fillDropoutMultipliersJs, float32TensorFilled, initBackend, tf } from '@dept/tensor';

/**
 * The documented stream, re-derived with BigInt arithmetic (no int32 tricks shared with the code): lane j seeded
 * with fmix32(seed + j·0x9e3779b9) (0 → 0x9e3779b9), xorshift32 (13, 17, 5); value i from lane i mod 4 after its
 * ⌊i/4⌋ + 1-th step, kept when the state is below ⌊(1 − rate)·2³²⌋.
 */
function streamByHand(n: number, rate: number, seed: number): number[] {
  const M = (1n << 32n) - 1n;
  const fmix = (h: bigint) => {
    h ^= h >> 16n; h = (h * 0x85ebca6bn) & M; h ^= h >> 13n; h = (h * 0xc2b2ae35n) & M; h ^= h >> 16n;
    return h;
  };
  const lanes = [0n, 1n, 2n, 3n].map((j) => fmix((BigInt(seed >>> 0) + j * 0x9e3779b9n) & M) || 0x9e3779b9n);
  const threshold = BigInt(Math.floor((1 - rate) * 2 ** 32));
  const scale = Math.fround(1 / (1 - rate));
  return Array.from({ length: n }, (_, i) => {
    let x = lanes[i % 4] as bigint;
    x ^= (x << 13n) & M; x ^= x >> 17n; x ^= (x << 5n) & M;
    lanes[i % 4] = x;
    return x < threshold ? scale : 0;
  });
}

describe('dropout multipliers', () => {
  beforeAll(async () => {
    await initBackend({ backend: 'wasm', announce: false });
  });

  it('follow the documented stream (checked against a BigInt re-derivation)', () => {
    for (const [rate, seed] of [[0.1, 12345], [0.5, 0], [0.25, -7], [0.9, 0xfffffff0]] as const) {
      const values = new Float32Array(37);
      fillDropoutMultipliersJs(values, rate, seed);
      expect(Array.from(values)).toEqual(streamByHand(37, rate, seed));
    }
  });

  it('are written by WebAssembly SIMD on the wasm heap, bit-identical to the JavaScript form, and nothing beside', () => {
    expect(dropoutFillIsWasm()).toBe(true);
    for (const n of [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 1001]) {
      for (const [rate, seed] of [[0.1, 12345], [0.5, 0], [0.25, -7], [0.9, 0xfffffff0]] as const) {
        for (const start of [0, 1, 3]) {
          // A view at an odd offset inside a larger heap buffer, with sentinels on both sides.
          const t = float32TensorFilled([n + start + 5], (v) => {
            v.fill(-42);
            fillDropoutMultipliers(v.subarray(start, start + n), rate, seed);
          });
          const got = Array.from(t.dataSync());
          t.dispose();
          const expected = new Float32Array(n);
          fillDropoutMultipliersJs(expected, rate, seed);
          expect(got.slice(start, start + n)).toEqual(Array.from(expected));
          expect([...got.slice(0, start), ...got.slice(start + n)]).toEqual(new Array(start + 5).fill(-42));
        }
      }
    }
  });

  it('keep 1 − rate of the values (within 5σ), each as float32(1 / (1 − rate)); rate 0 keeps all', () => {
    const n = 1 << 20;
    for (const rate of [0.1, 0.5]) {
      const t = float32TensorFilled([n], (v) => fillDropoutMultipliers(v, rate, 99));
      const values = t.dataSync();
      t.dispose();
      const kept = values.filter((v) => v !== 0);
      expect(new Set(kept)).toEqual(new Set([Math.fround(1 / (1 - rate))]));
      expect(Math.abs(kept.length / n - (1 - rate))).toBeLessThan(5 * Math.sqrt((rate * (1 - rate)) / n));
    }
    const all = tf.tidy(() => float32TensorFilled([10], (v) => fillDropoutMultipliers(v, 0, 5)).dataSync());
    expect(Array.from(all)).toEqual(new Array(10).fill(1));
    expect(() => fillDropoutMultipliers(new Float32Array(3), 1, 0)).toThrow(/dropout rate must be in \[0, 1\), got 1/);
  });

  it('use the JavaScript form off the wasm heap and on other backends, with the same values', async () => {
    const js = new Float32Array(11);
    fillDropoutMultipliers(js, 0.3, 8); // a plain array, not on the heap
    expect(Array.from(js)).toEqual(streamByHand(11, 0.3, 8));
    await initBackend({ backend: 'cpu', announce: false });
    expect(dropoutFillIsWasm()).toBe(false);
    const cpu = tf.tidy(() => Array.from(float32TensorFilled([11], (v) => fillDropoutMultipliers(v, 0.3, 8)).dataSync()));
    expect(cpu).toEqual(streamByHand(11, 0.3, 8));
    await initBackend({ backend: 'wasm', announce: false });
  });
});
