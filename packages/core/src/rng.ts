import seedrandom from 'seedrandom';

/** Serialisable state of an {@link Rng}, stored in checkpoints so a resumed run draws the same numbers. */
export interface RngState {
  seed: number;
  /** seedrandom ARC4 state (`i`, `j`, `S`). */
  arc4: { i: number; j: number; S: number[] };
}

/**
 * The project's seeded random number generator (seedrandom's ARC4 behind a small API). All randomness flows
 * from a seed through an `Rng` passed in explicitly; nothing calls `Math.random`. Its state can be saved and
 * restored exactly, which is what makes a resumed training run identical to an uninterrupted one.
 *
 * @example
 * const rng = new Rng(42);
 * rng.next();            // uniform in [0, 1)
 * rng.int(10);           // integer in [0, 10)
 * const saved = rng.state();
 * const again = Rng.fromState(saved); // continues exactly where `rng` is
 */
export class Rng {
  readonly seed: number;
  private prng: seedrandom.PRNG;

  constructor(seed: number, state?: RngState['arc4']) {
    if (!Number.isInteger(seed)) throw new Error(`Rng: seed must be an integer, got ${seed}`);
    this.seed = seed;
    this.prng = state
      ? seedrandom('', { state: { i: state.i, j: state.j, S: [...state.S] } as unknown as boolean })
      : seedrandom(String(seed), { state: true });
  }

  /** Restores a generator saved with {@link Rng.state}. */
  static fromState(state: RngState): Rng {
    return new Rng(state.seed, state.arc4);
  }

  /** A snapshot of the full generator state (JSON-serialisable). */
  state(): RngState {
    const s = (this.prng as unknown as { state(): { i: number; j: number; S: number[] } }).state();
    return { seed: this.seed, arc4: { i: s.i, j: s.j, S: [...s.S] } };
  }

  /** Uniform float in [0, 1) with 53 bits of randomness. */
  next(): number {
    return this.prng.double();
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    if (!(n > 0) || !Number.isInteger(n)) throw new Error(`Rng.int: n must be a positive integer, got ${n}`);
    return Math.floor(this.next() * n);
  }

  /** Unsigned 32-bit integer, e.g. to seed a tfjs random op. */
  uint32(): number {
    return this.prng.int32() >>> 0;
  }

  /** Uniform float in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** Standard normal sample (Box-Muller). */
  normal(): number {
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** Fisher-Yates shuffle of a copy of `items`. */
  shuffle<T>(items: readonly T[]): T[] {
    const a = [...items];
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [a[i], a[j]] = [a[j] as T, a[i] as T];
    }
    return a;
  }

  /** A new generator whose seed is drawn from this one (for independent sub-streams). */
  fork(): Rng {
    return new Rng(this.uint32());
  }
}
