/**
 * Data order. The examples of epoch e are visited in a permutation drawn from an Rng seeded by (seed, e), so the
 * batch of any step is a pure function of (seed, step): a resumed run sees exactly the batches it would have seen.
 */
import { Rng } from '@dept/core';

/** Seed of a derived stream, e.g. `derivedSeed(seed, 'epoch', 3)`. FNV-1a over the parts, 32-bit. */
export function derivedSeed(seed: number, ...parts: (string | number)[]): number {
  let h = 0x811c9dc5;
  for (const ch of [String(seed), ...parts.map(String)].join('/')) {
    h ^= ch.charCodeAt(0);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/**
 * Example indices of training step `step` (0-based): epochs of `ceil(n / batchSize)` steps; the last batch of an
 * epoch may be smaller (HF's default, no drop_last).
 *
 * @example
 * batchIndices({ n: 10, batchSize: 4, seed: 42, step: 0 }); // 4 indices of a permutation of 0..9
 */
export function batchIndices(args: { n: number; batchSize: number; seed: number; step: number }): { indices: number[]; epoch: number } {
  const { n, batchSize, seed, step } = args;
  const perEpoch = Math.ceil(n / batchSize);
  const epoch = Math.floor(step / perEpoch);
  const within = step % perEpoch;
  const order = new Rng(derivedSeed(seed, 'epoch', epoch)).shuffle(Array.from({ length: n }, (_, i) => i));
  return { indices: order.slice(within * batchSize, Math.min(n, (within + 1) * batchSize)), epoch };
}

/**
 * Example indices of step `step` drawn with replacement from per-example `weights` (e.g. a multitask mixture:
 * temperature-scaled task rates spread over each task's examples). A pure function of (seed, step).
 *
 * @example
 * weightedBatchIndices({ cumulative: cumulativeWeights([1, 1, 2]), batchSize: 4, seed: 42, step: 0 });
 */
export function weightedBatchIndices(args: { cumulative: Float64Array; batchSize: number; seed: number; step: number }): number[] {
  const { cumulative, batchSize, seed, step } = args;
  const total = cumulative[cumulative.length - 1] as number;
  const rng = new Rng(derivedSeed(seed, 'weighted-batch', step));
  const out: number[] = [];
  for (let b = 0; b < batchSize; b++) {
    const x = rng.next() * total;
    let lo = 0;
    let hi = cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((cumulative[mid] as number) > x) hi = mid;
      else lo = mid + 1;
    }
    out.push(lo);
  }
  return out;
}

/** Running sums of non-negative weights (for {@link weightedBatchIndices}). */
export function cumulativeWeights(weights: readonly number[]): Float64Array {
  const out = new Float64Array(weights.length);
  let acc = 0;
  weights.forEach((w, i) => {
    if (!(w >= 0) || !Number.isFinite(w)) throw new Error(`cumulativeWeights: weight ${i} is ${w}, expected a finite number ≥ 0`);
    acc += w;
    out[i] = acc;
  });
  if (!(acc > 0)) throw new Error('cumulativeWeights: all weights are 0');
  return out;
}
