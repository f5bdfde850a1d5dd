/**
 * The corpus files and the steps before them: normalisation for exact de-duplication, the 1% validation hold-out
 * (by hash, so it does not depend on the order or on the other sources), and the token files.
 *
 * Files (all little-endian uint16 token ids of the T5 vocabulary, gzip-compressed):
 * - `text-train.u16.gz`, `text-val.u16.gz`: documents one after the other, each ending with `</s>` (id 1), the
 *   span-corruption stream;
 * - `supervised-train.u16.gz`, `supervised-val.u16.gz`: records `[task, n, source ids (n, ending with </s>), m,
 *   target ids (m, ending with </s>)]`, `task` an index into the manifest's `supervised.tasks`.
 */
import { createHash } from 'node:crypto';

/** The hold-out share of documents (1 in 100). */
export const HOLDOUT_MODULUS = 100;
const HOLDOUT_SALT = 'mini-t5-holdout-v1|';

/**
 * The key two texts share when they are duplicates: Unicode NFKC, lower case, runs of white space as one space,
 * trimmed.
 *
 * @example
 * normaliseText('  The  CAT\tsat. '); // 'the cat sat.'
 */
export function normaliseText(text: string): string {
  return text.normalize('NFKC').toLowerCase().replace(/\s+/g, ' ').trim();
}

/**
 * True for the 1% of documents held out for the validation loss: the first 4 bytes of
 * sha256("mini-t5-holdout-v1|" + normalised text), as a big-endian uint32, are 0 modulo 100.
 *
 * @example
 * isHeldOut('the cat sat.'); // true or false, the same on every machine
 */
export function isHeldOut(normalised: string): boolean {
  const h = createHash('sha256').update(HOLDOUT_SALT + normalised, 'utf8').digest();
  return h.readUInt32BE(0) % HOLDOUT_MODULUS === 0;
}

/** Result of {@link dedupe}. */
export interface DedupeResult<T> {
  kept: T[];
  duplicates: number;
  /** Dropped because their normalised text is one of `banned` (an evaluation text). */
  banned: number;
}

/**
 * Keeps the first of each group of items with the same normalised key, and drops items whose key (or any of
 * whose extra keys) is in `banned`. `seen` carries keys across calls (de-duplication across sources).
 *
 * @example
 * dedupe(['A b', 'a  B', 'c'], (s) => [s], new Set(['c']), new Set()).kept; // ['A b']
 */
export function dedupe<T>(items: readonly T[], keys: (item: T) => string[], banned: ReadonlySet<string>, seen: Set<string>): DedupeResult<T> {
  const kept: T[] = [];
  let duplicates = 0;
  let bannedCount = 0;
  for (const item of items) {
    const [key, ...others] = keys(item).map(normaliseText);
    if (key === undefined || key === '') continue;
    if (banned.has(key) || others.some((k) => banned.has(k))) {
      bannedCount++;
      continue;
    }
    if (seen.has(key)) {
      duplicates++;
      continue;
    }
    seen.add(key);
    kept.push(item);
  }
  return { kept, duplicates, banned: bannedCount };
}

/** A growable uint16 buffer. */
export class U16Writer {
  private buf = new Uint16Array(1 << 16);
  length = 0;

  push(...ids: number[]): void {
    this.pushAll(ids);
  }

  pushAll(ids: readonly number[]): void {
    if (this.length + ids.length > this.buf.length) {
      let n = this.buf.length;
      while (this.length + ids.length > n) n *= 2;
      const next = new Uint16Array(n);
      next.set(this.buf.subarray(0, this.length));
      this.buf = next;
    }
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0 || id > 0xffff) throw new Error(`token id ${id} does not fit uint16`);
      this.buf[this.length++] = id;
    }
  }

  /** Little-endian bytes of what was pushed. */
  bytes(): Buffer {
    const out = Buffer.alloc(this.length * 2);
    for (let i = 0; i < this.length; i++) out.writeUInt16LE(this.buf[i] as number, 2 * i);
    return out;
  }
}

/** Truncates T5-style: at most `max` ids, the last one kept as `</s>`. */
export function truncateIds(ids: readonly number[], max: number, eos: number): number[] {
  return ids.length <= max ? [...ids] : [...ids.slice(0, max - 1), eos];
}

/** Appends one supervised record `[task, n, source…, m, target…]`. */
export function pushSupervisedRecord(w: U16Writer, task: number, source: readonly number[], target: readonly number[]): void {
  w.push(task, source.length);
  w.pushAll(source);
  w.push(target.length);
  w.pushAll(target);
}

/** sha256 hex of bytes. */
export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
