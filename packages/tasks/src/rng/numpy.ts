/**
 * Exact port of `np.random.default_rng(seed).permutation(n)` (numpy 1.17 .. 2.x), which is what
 * Hugging Face `datasets` 2.7.1 `Dataset.shuffle(seed=seed)` uses.
 *
 * - `SeedSequence(seed)`: pool of 4 uint32 words, `hashmix` / `mix` (`numpy/random/bit_generator.pyx`).
 * - `generate_state(4, uint64)` seeds `PCG64` (`_pcg64.pyx`, `src/pcg64/pcg64.{h,c}`): XSL-RR 128/64,
 *   `next_uint32` returns the low half of a 64-bit output first and buffers the high half.
 * - `permutation(n)` = backward Fisher-Yates with `random_interval` (masked rejection, not Lemire)
 *   (`_generator.pyx` `_shuffle_raw`, `src/distributions/distributions.c`).
 *
 * The 128-bit PCG state is held as eight 16-bit limbs in plain numbers, so every product and carry is
 * exact in float64 and no BigInt is touched on the hot path. See `../shared/docs/SPLITS.md` §4.
 */
import { DeptError } from '@dept/core';

const INIT_A = 0x43b0d7e5;
const MULT_A = 0x931e8875;
const INIT_B = 0x8b51f9dd;
const MULT_B = 0x58f38ded;
const MIX_MULT_L = 0xca01f9dd;
const MIX_MULT_R = 0x4973f715;
const XSHIFT = 16;
const POOL_SIZE = 4;

/** The PCG64 128-bit LCG multiplier. */
const PCG_MULTIPLIER = (2549297995355413924n << 64n) | 4865540595714422341n;
const MASK128 = (1n << 128n) - 1n;

/** Splits a 128-bit value into eight 16-bit limbs, least significant first. */
function toLimbs16(v: bigint): number[] {
  const out: number[] = [];
  for (let i = 0; i < 8; i++) out.push(Number((v >> BigInt(16 * i)) & 0xffffn));
  return out;
}

function fromLimbs16(l: ArrayLike<number>): bigint {
  let v = 0n;
  for (let i = 7; i >= 0; i--) v = (v << 16n) | BigInt(l[i] as number);
  return v;
}

const MUL = toLimbs16(PCG_MULTIPLIER);

/** numpy `_int_to_uint32_array`: the seed's uint32 words, low word first; 0 gives [0]. */
function seedWords(seed: number | bigint): number[] {
  let v: bigint;
  if (typeof seed === 'bigint') v = seed;
  else {
    if (!Number.isSafeInteger(seed)) throw new DeptError(`SeedSequence: seed must be a safe integer, got ${seed}`);
    v = BigInt(seed);
  }
  if (v < 0n) throw new DeptError(`SeedSequence: seed must be non-negative, got ${v}`);
  if (v === 0n) return [0];
  const words: number[] = [];
  while (v > 0n) {
    words.push(Number(v & 0xffffffffn));
    v >>= 32n;
  }
  return words;
}

/**
 * numpy's `SeedSequence(seed)` (no spawn key, pool size 4).
 *
 * @example
 * const ss = new SeedSequence(42);
 * Array.from(ss.pool); // [1662858758, 128880814, 1875164712, 753753205]
 * ss.generateState64(4)[0]; // 11465652750463011511n
 */
export class SeedSequence {
  /** The entropy as uint32 words, low word first. */
  readonly entropy: readonly number[];
  /** The mixed pool of 4 uint32 words. */
  readonly pool: Uint32Array;

  constructor(seed: number | bigint) {
    this.entropy = seedWords(seed);
    const pool = new Uint32Array(POOL_SIZE);
    let hashConst = INIT_A;
    const hashmix = (value: number): number => {
      let v = (value ^ hashConst) >>> 0;
      hashConst = Math.imul(hashConst, MULT_A) >>> 0;
      v = Math.imul(v, hashConst) >>> 0;
      return (v ^ (v >>> XSHIFT)) >>> 0;
    };
    const mix = (x: number, y: number): number => {
      const r = (Math.imul(MIX_MULT_L, x) - Math.imul(MIX_MULT_R, y)) >>> 0;
      return (r ^ (r >>> XSHIFT)) >>> 0;
    };
    for (let i = 0; i < POOL_SIZE; i++) pool[i] = hashmix(i < this.entropy.length ? (this.entropy[i] as number) : 0);
    for (let src = 0; src < POOL_SIZE; src++) {
      for (let dst = 0; dst < POOL_SIZE; dst++) {
        if (src !== dst) pool[dst] = mix(pool[dst] as number, hashmix(pool[src] as number));
      }
    }
    for (let src = POOL_SIZE; src < this.entropy.length; src++) {
      for (let dst = 0; dst < POOL_SIZE; dst++) pool[dst] = mix(pool[dst] as number, hashmix(this.entropy[src] as number));
    }
    this.pool = pool;
  }

  /** `generate_state(nWords, np.uint32)`. */
  generateState32(nWords: number): Uint32Array {
    if (!Number.isSafeInteger(nWords) || nWords < 0) {
      throw new DeptError(`SeedSequence.generateState32: nWords must be a non-negative integer, got ${nWords}`);
    }
    const out = new Uint32Array(nWords);
    let hashConst = INIT_B;
    for (let i = 0; i < nWords; i++) {
      let v = ((this.pool[i % POOL_SIZE] as number) ^ hashConst) >>> 0;
      hashConst = Math.imul(hashConst, MULT_B) >>> 0;
      v = Math.imul(v, hashConst) >>> 0;
      out[i] = (v ^ (v >>> XSHIFT)) >>> 0;
    }
    return out;
  }

  /** `generate_state(nWords, np.uint64)`: pairs of uint32 words, little-endian. */
  generateState64(nWords: number): bigint[] {
    const w = this.generateState32(nWords * 2);
    const out: bigint[] = [];
    for (let k = 0; k < nWords; k++) out.push(BigInt(w[2 * k] as number) | (BigInt(w[2 * k + 1] as number) << 32n));
    return out;
  }
}

/**
 * numpy's `PCG64` bit generator (XSL-RR 128/64), seeded from a `SeedSequence`.
 *
 * @example
 * const g = PCG64.fromSeed(42);
 * g.nextUint64(); // 14276969152011380360n (numpy: default_rng(42).bit_generator.random_raw())
 * const h = PCG64.fromSeed(42);
 * h.nextUint32(); // 383329928 (low half of the first 64-bit output)
 */
export class PCG64 {
  /** State, eight 16-bit limbs, least significant first. */
  private readonly s = new Float64Array(8);
  /** Increment (odd), eight 16-bit limbs. */
  private readonly inc = new Float64Array(8);
  private hasUint32 = false;
  private uinteger = 0;
  /** High and low 32-bit halves of the last 64-bit output. */
  private outHi = 0;
  private outLo = 0;

  /** Seeds like `np.random.PCG64(SeedSequence(seed))`. */
  static fromSeed(seed: number | bigint): PCG64 {
    return new PCG64(new SeedSequence(seed));
  }

  constructor(seedSequence: SeedSequence) {
    const [sHi, sLo, iHi, iLo] = seedSequence.generateState64(4) as [bigint, bigint, bigint, bigint];
    const initstate = (sHi << 64n) | sLo;
    const initseq = (iHi << 64n) | iLo;
    // pcg_setseq_128_srandom_r: state = 0; inc = initseq << 1 | 1; step; state += initstate; step.
    this.inc.set(toLimbs16(((initseq << 1n) | 1n) & MASK128));
    this.s.fill(0);
    this.step();
    this.s.set(toLimbs16((fromLimbs16(this.s) + initstate) & MASK128));
    this.step();
  }

  /** The 128-bit LCG state, as numpy's `bit_generator.state['state']['state']`. */
  get state(): bigint {
    return fromLimbs16(this.s);
  }

  /** The 128-bit increment, as numpy's `bit_generator.state['state']['inc']`. */
  get increment(): bigint {
    return fromLimbs16(this.inc);
  }

  /** state = state * MULT + inc (mod 2^128), schoolbook on 16-bit limbs. */
  private step(): void {
    const s = this.s;
    const inc = this.inc;
    const s0 = s[0] as number, s1 = s[1] as number, s2 = s[2] as number, s3 = s[3] as number;
    const s4 = s[4] as number, s5 = s[5] as number, s6 = s[6] as number, s7 = s[7] as number;
    const m0 = MUL[0] as number, m1 = MUL[1] as number, m2 = MUL[2] as number, m3 = MUL[3] as number;
    const m4 = MUL[4] as number, m5 = MUL[5] as number, m6 = MUL[6] as number, m7 = MUL[7] as number;
    let t: number;
    let lo: number;
    t = s0 * m0 + (inc[0] as number);
    lo = t & 0xffff;
    s[0] = lo;
    t = (t - lo) / 65536 + s0 * m1 + s1 * m0 + (inc[1] as number);
    lo = t & 0xffff;
    s[1] = lo;
    t = (t - lo) / 65536 + s0 * m2 + s1 * m1 + s2 * m0 + (inc[2] as number);
    lo = t & 0xffff;
    s[2] = lo;
    t = (t - lo) / 65536 + s0 * m3 + s1 * m2 + s2 * m1 + s3 * m0 + (inc[3] as number);
    lo = t & 0xffff;
    s[3] = lo;
    t = (t - lo) / 65536 + s0 * m4 + s1 * m3 + s2 * m2 + s3 * m1 + s4 * m0 + (inc[4] as number);
    lo = t & 0xffff;
    s[4] = lo;
    t = (t - lo) / 65536 + s0 * m5 + s1 * m4 + s2 * m3 + s3 * m2 + s4 * m1 + s5 * m0 + (inc[5] as number);
    lo = t & 0xffff;
    s[5] = lo;
    t = (t - lo) / 65536 + s0 * m6 + s1 * m5 + s2 * m4 + s3 * m3 + s4 * m2 + s5 * m1 + s6 * m0 + (inc[6] as number);
    lo = t & 0xffff;
    s[6] = lo;
    t =
      (t - lo) / 65536 +
      s0 * m7 + s1 * m6 + s2 * m5 + s3 * m4 + s4 * m3 + s5 * m2 + s6 * m1 + s7 * m0 +
      (inc[7] as number);
    s[7] = t & 0xffff;
  }

  /** Steps, then sets outHi/outLo to rotr64(hi ^ lo, state >> 122). */
  private next64(): void {
    this.step();
    const s = this.s;
    // hi ^ lo of the 128-bit state, as two 32-bit halves.
    let xLo = (((s[0] as number) | ((s[1] as number) << 16)) ^ ((s[4] as number) | ((s[5] as number) << 16))) >>> 0;
    let xHi = (((s[2] as number) | ((s[3] as number) << 16)) ^ ((s[6] as number) | ((s[7] as number) << 16))) >>> 0;
    let rot = (s[7] as number) >>> 10; // top 6 bits of the state
    if (rot >= 32) {
      const tmp = xLo;
      xLo = xHi;
      xHi = tmp;
      rot -= 32;
    }
    if (rot !== 0) {
      const nLo = ((xLo >>> rot) | (xHi << (32 - rot))) >>> 0;
      const nHi = ((xHi >>> rot) | (xLo << (32 - rot))) >>> 0;
      xLo = nLo;
      xHi = nHi;
    }
    this.outHi = xHi;
    this.outLo = xLo;
  }

  /** One raw 64-bit output (`random_raw()`); does not touch the buffered 32-bit half. */
  nextUint64(): bigint {
    this.next64();
    return (BigInt(this.outHi) << 32n) | BigInt(this.outLo);
  }

  /** numpy `next_uint32`: the low half of a 64-bit output, then its high half on the next call. */
  nextUint32(): number {
    if (this.hasUint32) {
      this.hasUint32 = false;
      return this.uinteger;
    }
    this.next64();
    this.hasUint32 = true;
    this.uinteger = this.outHi;
    return this.outLo;
  }

  /**
   * numpy `random_interval(bitgen, max)`: uniform in [0, max] by masked rejection on 32-bit draws.
   * Only the 32-bit branch (max <= 0xffffffff) is implemented.
   */
  randomInterval(max: number): number {
    if (max === 0) return 0;
    if (!Number.isSafeInteger(max) || max < 0 || max > 0xffffffff) {
      throw new DeptError(`PCG64.randomInterval: max must be an integer in [0, 4294967295], got ${max}`);
    }
    let mask = max >>> 0;
    mask |= mask >>> 1;
    mask |= mask >>> 2;
    mask |= mask >>> 4;
    mask |= mask >>> 8;
    mask |= mask >>> 16;
    mask >>>= 0;
    let v: number;
    do {
      v = (this.nextUint32() & mask) >>> 0;
    } while (v > max);
    return v;
  }
}

/**
 * `np.random.default_rng(seed).permutation(n).tolist()`, i.e. the row order of HF
 * `Dataset.shuffle(seed=seed)` on a dataset of n rows.
 *
 * @param n the permutation length (0 <= n < 2^31).
 * @param seed a non-negative integer seed.
 * @returns a new array holding a permutation of 0 .. n-1.
 * @example
 * numpyPermutation(7, 42); // [3, 2, 6, 4, 1, 5, 0]
 */
export function numpyPermutation(n: number, seed: number | bigint): number[] {
  if (!Number.isSafeInteger(n) || n < 0 || n > 0x7fffffff) {
    throw new DeptError(`numpyPermutation: n must be an integer in [0, 2^31 - 1], got ${n}`);
  }
  const a = new Int32Array(n);
  for (let i = 0; i < n; i++) a[i] = i;
  const g = PCG64.fromSeed(seed);
  for (let i = n - 1; i >= 1; i--) {
    const j = g.randomInterval(i);
    const t = a[i] as number;
    a[i] = a[j] as number;
    a[j] = t;
  }
  return Array.from(a);
}
