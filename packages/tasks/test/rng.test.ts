/**
 * torch CPU randperm and numpy default_rng permutation ports against the reference outputs in
 * ../shared/fixtures/rng (made with torch 1.13 and numpy 1.24.2).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isDeptError } from '@dept/core';
import { describeShared, sharedPath } from '../../../test/helpers/shared.ts';
import { MT19937, torchRandperm } from '../src/rng/torch.ts';
import { numpyPermutation, PCG64, SeedSequence } from '../src/rng/numpy.ts';

/** A stored list: in full, or head/tail/sha256 of ",".join(decimal) when longer than 10 000. */
type StoredList = number[] | { full: number[] } | { head: number[]; tail: number[]; sha256: string; length?: number };

interface PermCase {
  seed: number;
  n: number;
  perm: StoredList;
}

interface TorchFixture {
  mt19937_first10_uint32: Record<string, number[]>;
  cases: PermCase[];
}

interface BitgenCheck {
  seedsequence_pool_uint32: number[];
  generate_state_4_uint64: string[];
  pcg64_state_after_seeding: string;
  pcg64_inc: string;
  random_raw_first10_uint64: string[];
  next_uint32_first10: number[];
}

interface NumpyFixture {
  bitgen_checks: Record<string, BitgenCheck>;
  cases: PermCase[];
}

function load<T>(name: string): T | undefined {
  const file = sharedPath('fixtures', 'rng', name);
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as T) : undefined;
}

/** Asserts `actual` equals a stored list (exactly, or by head, tail, length and SHA-256). */
function expectStoredList(actual: readonly number[], stored: StoredList, n?: number): void {
  if (Array.isArray(stored)) {
    expect(actual).toEqual(stored);
  } else if ('full' in stored) {
    expect(actual).toEqual(stored.full);
  } else {
    if (n !== undefined) expect(actual.length).toBe(n);
    expect(actual.slice(0, stored.head.length)).toEqual(stored.head);
    expect(actual.slice(actual.length - stored.tail.length)).toEqual(stored.tail);
    expect(createHash('sha256').update(actual.join(',')).digest('hex')).toBe(stored.sha256);
  }
}

function isPermutation(a: readonly number[], n: number): boolean {
  if (a.length !== n) return false;
  const seen = new Uint8Array(n);
  for (const v of a) {
    if (!Number.isInteger(v) || v < 0 || v >= n || seen[v]) return false;
    seen[v] = 1;
  }
  return true;
}

describeShared('torch randperm port (fixtures/rng/torch_randperm.json)', () => {
  const fx = load<TorchFixture>('torch_randperm.json');
  const mtSeeds = fx ? Object.entries(fx.mt19937_first10_uint32) : [];
  const cases = fx?.cases ?? [];

  it('has cases to check', () => {
    expect(cases.length).toBeGreaterThanOrEqual(18);
    expect(mtSeeds.length).toBe(2);
  });

  it.each(mtSeeds)('MT19937(%s) first 10 outputs match torch', (seed, expected) => {
    const mt = new MT19937(Number(seed));
    expect(Array.from({ length: expected.length }, () => mt.nextUint32())).toEqual(expected);
  });

  it.each(cases.map((c) => [c.seed, c.n, c] as const))('seed %i, n %i', (_seed, _n, c) => {
    expectStoredList(torchRandperm(c.n, c.seed), c.perm, c.n);
  });
});

describeShared('numpy default_rng permutation port (fixtures/rng/numpy_permutation.json)', () => {
  const fx = load<NumpyFixture>('numpy_permutation.json');
  const checks = fx ? Object.entries(fx.bitgen_checks) : [];
  const cases = fx?.cases ?? [];

  it('has cases to check', () => {
    expect(cases.length).toBeGreaterThanOrEqual(18);
    expect(checks.length).toBe(2);
  });

  describe.each(checks)('bit generator, seed %s', (seed, check) => {
    it('SeedSequence pool', () => {
      expect(Array.from(new SeedSequence(Number(seed)).pool)).toEqual(check.seedsequence_pool_uint32);
    });
    it('generate_state(4, uint64)', () => {
      expect(new SeedSequence(Number(seed)).generateState64(4)).toEqual(check.generate_state_4_uint64.map(BigInt));
    });
    it('PCG64 state and inc after seeding', () => {
      const g = PCG64.fromSeed(Number(seed));
      expect(g.state).toBe(BigInt(check.pcg64_state_after_seeding));
      expect(g.increment).toBe(BigInt(check.pcg64_inc));
    });
    it('random_raw first 10', () => {
      const g = PCG64.fromSeed(Number(seed));
      const raw = Array.from({ length: 10 }, () => g.nextUint64());
      expect(raw).toEqual(check.random_raw_first10_uint64.map(BigInt));
    });
    it('next_uint32 first 10 (low half first)', () => {
      const g = PCG64.fromSeed(Number(seed));
      expect(Array.from({ length: 10 }, () => g.nextUint32())).toEqual(check.next_uint32_first10);
    });
  });

  it.each(cases.map((c) => [c.seed, c.n, c] as const))('seed %i, n %i', (_seed, _n, c) => {
    expectStoredList(numpyPermutation(c.n, c.seed), c.perm, c.n);
  });
});

describe('rng ports without fixtures', () => {
  it('torch: n = 0 and 1 make no draws and give the identity', () => {
    expect(torchRandperm(0, 42)).toEqual([]);
    expect(torchRandperm(1, 42)).toEqual([0]);
  });

  it('numpy: n = 0 and 1 give the identity', () => {
    expect(numpyPermutation(0, 42)).toEqual([]);
    expect(numpyPermutation(1, 42)).toEqual([0]);
  });

  it('MT19937 seed 42 starts 1608637542, 3421126067, 4083286876 (SPLITS.md §3)', () => {
    const mt = new MT19937(42);
    expect([mt.nextUint32(), mt.nextUint32(), mt.nextUint32()]).toEqual([1608637542, 3421126067, 4083286876]);
  });

  it('MT19937 uses the low 32 bits of the seed', () => {
    const a = new MT19937(42 + 2 ** 32);
    const b = new MT19937(42);
    expect(a.nextUint32()).toBe(b.nextUint32());
  });

  it('large n (yelp 560 000, qqp-size 400 000) give valid permutations', () => {
    expect(isPermutation(torchRandperm(560000, 42), 560000)).toBe(true);
    expect(isPermutation(numpyPermutation(400000, 42), 400000)).toBe(true);
  });

  it('seeds as bigint and number agree, and seeds >= 2^32 use two entropy words', () => {
    expect(numpyPermutation(50, 7n)).toEqual(numpyPermutation(50, 7));
    expect(new SeedSequence(2 ** 32 + 5).entropy).toEqual([5, 1]);
    expect(new SeedSequence(0).entropy).toEqual([0]);
  });

  it('bad input throws DeptError', () => {
    const bad = [
      () => torchRandperm(-1, 42),
      () => torchRandperm(2.5, 42),
      () => numpyPermutation(-3, 42),
      () => numpyPermutation(10, -1),
      () => new MT19937(Number.NaN),
    ];
    for (const f of bad) {
      let err: unknown;
      try {
        f();
      } catch (e) {
        err = e;
      }
      expect(isDeptError(err)).toBe(true);
    }
  });
});
