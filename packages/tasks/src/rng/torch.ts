/**
 * Exact port of torch's CPU `randperm(n, generator=torch.Generator().manual_seed(seed))`.
 *
 * - Engine: `at::mt19937` = the standard MT19937 with `init_genrand(seed & 0xffffffff)`
 *   (`aten/src/ATen/core/MT19937RNGEngine.h`); `CPUGeneratorImpl::random()` returns one tempered
 *   32-bit output.
 * - `randperm_cpu` (`aten/src/ATen/native/TensorFactories.cpp`): `r[i] = i`, then for i = 0 .. n-2,
 *   `z = random() % (n - i)` (plain modulo, no rejection) and `swap(r[i], r[i + z])`. Exactly n-1 draws.
 *
 * torch >= 2.6 keeps this path for n < 2^32 / 20 = 214 748 364 only, so larger n are refused here
 * (see `../shared/docs/SPLITS.md` §3). DePT uses this for its dev/test split (seed 42).
 */
import { DeptError } from '@dept/core';

const N = 624;
const M = 397;
const MATRIX_A = 0x9908b0df;
const UPPER_MASK = 0x80000000;
const LOWER_MASK = 0x7fffffff;

/** Largest n for which torch (all versions) uses the 32-bit forward Fisher-Yates path. */
export const TORCH_RANDPERM_SMALL_N_LIMIT = Math.floor(0xffffffff / 20);

/**
 * The 32-bit Mersenne Twister as torch, `std::mt19937` and numpy's legacy `RandomState` seed it.
 *
 * @example
 * const mt = new MT19937(42);
 * mt.nextUint32(); // 1608637542
 * mt.nextUint32(); // 3421126067
 */
export class MT19937 {
  private readonly mt = new Uint32Array(N);
  private index = N;

  /** @param seed an integer; only its low 32 bits are used (two's complement for negatives), as torch does. */
  constructor(seed: number) {
    if (!Number.isSafeInteger(seed)) {
      throw new DeptError(`MT19937: seed must be a safe integer, got ${seed}`);
    }
    const mt = this.mt;
    mt[0] = Number(BigInt.asUintN(32, BigInt(seed)));
    for (let j = 1; j < N; j++) {
      const prev = mt[j - 1] as number;
      mt[j] = (Math.imul(1812433253, (prev ^ (prev >>> 30)) >>> 0) + j) >>> 0;
    }
    this.index = N;
  }

  private twist(): void {
    const mt = this.mt;
    let kk = 0;
    for (; kk < N - M; kk++) {
      const y = ((mt[kk] as number) & UPPER_MASK) | ((mt[kk + 1] as number) & LOWER_MASK);
      mt[kk] = ((mt[kk + M] as number) ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0)) >>> 0;
    }
    for (; kk < N - 1; kk++) {
      const y = ((mt[kk] as number) & UPPER_MASK) | ((mt[kk + 1] as number) & LOWER_MASK);
      mt[kk] = ((mt[kk + (M - N)] as number) ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0)) >>> 0;
    }
    const y = ((mt[N - 1] as number) & UPPER_MASK) | ((mt[0] as number) & LOWER_MASK);
    mt[N - 1] = ((mt[M - 1] as number) ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0)) >>> 0;
    this.index = 0;
  }

  /** The next tempered 32-bit output, as an unsigned integer in [0, 2^32). */
  nextUint32(): number {
    if (this.index >= N) this.twist();
    let y = this.mt[this.index++] as number;
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }
}

/**
 * `torch.randperm(n, generator=torch.Generator().manual_seed(seed)).tolist()` on the CPU.
 *
 * @param n the permutation length (0 <= n < 214 748 364).
 * @param seed the `manual_seed` value (DePT always uses 42 for splits).
 * @returns a new array holding a permutation of 0 .. n-1.
 * @example
 * torchRandperm(7, 42); // [1, 6, 3, 5, 4, 0, 2], as torch 1.13 gives
 */
export function torchRandperm(n: number, seed: number): number[] {
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new DeptError(`torchRandperm: n must be a non-negative integer, got ${n}`);
  }
  if (n >= TORCH_RANDPERM_SMALL_N_LIMIT) {
    throw new DeptError(
      `torchRandperm: n = ${n} is too large; expected n < ${TORCH_RANDPERM_SMALL_N_LIMIT} (torch >= 2.6 changes algorithm above it)`,
    );
  }
  const r = new Int32Array(n);
  for (let i = 0; i < n; i++) r[i] = i;
  const mt = new MT19937(seed);
  for (let i = 0; i < n - 1; i++) {
    const z = mt.nextUint32() % (n - i);
    const t = r[i] as number;
    r[i] = r[i + z] as number;
    r[i + z] = t;
  }
  return Array.from(r);
}
