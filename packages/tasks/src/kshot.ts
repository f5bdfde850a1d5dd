/**
 * k-shot samplers.
 *
 * - {@link deptKshot}: DePT's own rule (`train.py:530-546`) after HF `Dataset.shuffle(seed)`, bit for
 *   bit, including its quirks (the `total == k-1` rule; C=3, k=32 gives only 30 rows; rare classes).
 * - {@link balancedKshot}: a plain class-balanced sampler that always returns exactly k rows.
 * - {@link stsbTargetString}: DePT's STS-B target string `str(np.round((label*5)/5, 1))`.
 *
 * See `../shared/docs/SPLITS.md` §2.
 */
import { DeptError, type Rng } from '@dept/core';
import { parsePythonFloat, pythonFloatRepr, rintHalfEven } from './metrics/python.ts';
import { numpyPermutation } from './rng/numpy.ts';

/** What {@link deptKshot} selected. */
export interface KshotSelection {
  /** `index_lst`: accepted positions i in the shuffled train set, in acceptance order. */
  positions: number[];
  /** `perm[i]` for each accepted i: train-set row indices of the k-shot set, in final order. */
  indices: number[];
  /** Accepted rows per class (the binarised class for STS-B), every class present. */
  classCounts: Record<string, number>;
  /** How many shuffled rows the loop looked at (== targets.length when it ran out of rows). */
  examined: number;
}

/** Options of {@link deptKshot} and {@link balancedKshot}. */
export interface KshotOptions {
  /** The keys of DePT `num_labels_mapping[task]`, e.g. ['0', '1', '2'] for CB, ['0', '1'] for STS-B. */
  classes: readonly string[];
  /** STS-B: targets are score strings, balanced on `float(target) <= 2.5 ? '0' : '1'`. */
  stsb?: boolean;
}

function checkK(k: number, where: string): void {
  if (!Number.isSafeInteger(k) || k < 0) throw new DeptError(`${where}: k must be a non-negative integer, got ${k}`);
}

function checkClasses(classes: readonly string[], where: string): void {
  if (classes.length === 0) throw new DeptError(`${where}: classes must not be empty`);
  if (new Set(classes).size !== classes.length) {
    throw new DeptError(`${where}: classes must be distinct, got [${classes.join(', ')}]`);
  }
}

/**
 * DePT's STS-B class for balancing (`train.py:541-542`): `"0" if float(target) <= 2.5 else "1"`.
 *
 * @example
 * stsbClass('2.5'); // '0'
 * stsbClass('2.6'); // '1'
 */
export function stsbClass(target: string): '0' | '1' {
  const v = parsePythonFloat(target);
  if (v === undefined) throw new DeptError(`stsbClass: target '${target}' is not a number; expected an STS-B score string like '3.8'`);
  return v <= 2.5 ? '0' : '1';
}

function classOf(target: string, stsb: boolean): string {
  return stsb ? stsbClass(target) : target;
}

/**
 * DePT's STS-B target string `str(np.round((label * 5) / 5, decimals=1))` (`src/tasks.py:447, 926-939`)
 * for a label that is already a Python float. `np.round(x, 1)` is `rint(x * 10) / 10` (half to even on
 * the float64 value), printed like Python's `repr`.
 *
 * HF stores STS-B labels as float32: pass the widened value (e.g. 2.549999952316284), or use
 * {@link stsbTargetStringFromFloat32} / `{ float32: true }` to round a decimal like 2.55 to float32 first.
 *
 * @example
 * stsbTargetString(3.8); // '3.8'
 * stsbTargetString(1.25); // '1.2' (12.5 rounds half to even)
 * stsbTargetString(5); // '5.0'
 * stsbTargetString(2.55, { float32: true }); // '2.5' (float32 2.55 is 2.5499999523...)
 */
export function stsbTargetString(score: number, opts: { float32?: boolean } = {}): string {
  if (typeof score !== 'number' || Number.isNaN(score)) {
    throw new DeptError(`stsbTargetString: score must be a number, got ${String(score)}`);
  }
  const label = opts.float32 ? Math.fround(score) : score;
  const x = (label * 5) / 5;
  return pythonFloatRepr(rintHalfEven(x * 10) / 10);
}

/**
 * {@link stsbTargetString} of `Math.fround(score)`: for scores written as decimals (as in the GLUE TSV)
 * that HF `datasets` would have stored as float32.
 *
 * @example
 * stsbTargetStringFromFloat32(2.45); // '2.5' (float32 2.45 is 2.4500000476...)
 * stsbTargetStringFromFloat32(2.56); // '2.6'
 */
export function stsbTargetStringFromFloat32(score: number): string {
  return stsbTargetString(score, { float32: true });
}

/**
 * DePT's k-shot selection (`train.py:530-546`), exactly:
 * shuffle the train set with `np.random.default_rng(seed).permutation`, then walk it; before each row
 * stop if k rows are taken; accept a row if its class is under `k // classes.length` or exactly k-1
 * rows are taken. A label outside `classes` raises, as DePT's dict lookup does.
 *
 * @param targets the target string of each train row (after the DePT split), in train-set order.
 * @param k `--k_shot_example`.
 * @param seed the training seed (`training_args.seed`).
 * @example
 * const sel = deptKshot(['0', '1', '1', '0', '1', '0'], 2, 42, { classes: ['0', '1'] });
 * sel.indices.length; // 2, one of each class
 */
export function deptKshot(targets: readonly string[], k: number, seed: number, opts: KshotOptions): KshotSelection {
  checkK(k, 'deptKshot');
  checkClasses(opts.classes, 'deptKshot');
  const stsb = opts.stsb ?? false;
  const counts = new Map<string, number>();
  for (const c of opts.classes) counts.set(c, 0);
  const perClass = Math.floor(k / opts.classes.length);
  const n = targets.length;
  // HF Dataset.shuffle returns the dataset unchanged when it is empty (no generator draws).
  const perm = n === 0 ? [] : numpyPermutation(n, seed);
  const positions: number[] = [];
  const indices: number[] = [];
  let total = 0;
  let examined = n;
  for (let i = 0; i < n; i++) {
    if (total === k) {
      examined = i;
      break;
    }
    const row = perm[i] as number;
    const label = classOf(targets[row] as string, stsb);
    const count = counts.get(label);
    if (count === undefined) {
      throw new DeptError(
        `deptKshot: train row ${row} has label '${label}', which is not one of the classes [${opts.classes.join(', ')}]`,
      );
    }
    if (count < perClass || total === k - 1) {
      counts.set(label, count + 1);
      total++;
      positions.push(i);
      indices.push(row);
    }
  }
  return { positions, indices, classCounts: Object.fromEntries(counts), examined };
}

/**
 * Why DePT's sampler took fewer than k rows, in one sentence (null when it took k): a class with fewer rows in the
 * train part than its quota `k // C`, and the `total == k - 1` rule, which takes a row past a quota only once exactly
 * k − 1 rows are in (so C = 3, k = 32 stops at 30; SPLITS.md §2).
 *
 * @param counts rows taken per class (`classCounts` of {@link deptKshot}).
 * @param available rows of each class in the train part.
 * @example
 * kshotShortfall(32, { '0': 10, '1': 10, '2': 10 }, { '0': 115, '1': 119, '2': 16 });
 * // 'DePT's rule takes k // 3 = 10 rows per class and a row past a quota only once exactly k − 1 = 31 rows are in: 3 × 10 = 30 never reach 31'
 */
export function kshotShortfall(k: number, counts: Readonly<Record<string, number>>, available: Readonly<Record<string, number>>): string | null {
  const classes = Object.keys(counts);
  const taken = classes.reduce((a, c) => a + (counts[c] ?? 0), 0);
  if (taken >= k || classes.length === 0) return null;
  const quota = Math.floor(k / classes.length);
  const rule = `a row past a quota only once exactly k − 1 = ${k - 1} rows are in`;
  const short = classes.filter((c) => (available[c] ?? 0) < quota);
  if (short.length === 0) {
    return `DePT's rule takes k // ${classes.length} = ${quota} row${quota === 1 ? '' : 's'} per class and ${rule}: ${classes.length} × ${quota} = ${classes.length * quota} never reach ${k - 1}`;
  }
  const which = short.map((c) => {
    const n = available[c] ?? 0;
    return `class "${c}" has ${n} row${n === 1 ? '' : 's'} in the train part, under its quota of k // ${classes.length} = ${quota}`;
  }).join('; ');
  return `${which}; DePT's rule takes ${rule}, and it stopped at ${taken}`;
}

/** What {@link balancedKshot} selected. */
export interface BalancedKshotSelection {
  /** Train-set row indices, exactly k of them, in a random (rng) order. */
  indices: number[];
  /** Rows per class (the binarised class for STS-B), every class present. */
  classCounts: Record<string, number>;
}

/**
 * A plain class-balanced k-shot sampler: exactly k rows, `k // C` per class, and the `k % C` extra rows
 * go to classes drawn at random (the class list is shuffled by `rng`; the first classes in that order
 * that still have rows get one more). A class with too few rows gives all it has and its shortfall
 * goes, one row at a time, to the other classes in the same shuffled order. Within a class the rows are
 * drawn by `rng.shuffle`; the result is shuffled once more so classes are interleaved.
 * Deterministic for a given `Rng` state.
 *
 * @param targets the target string of each train row.
 * @param k how many rows to take; throws if the train set has fewer.
 * @param rng the seeded generator (advanced).
 * @example
 * import { Rng } from '@dept/core';
 * const sel = balancedKshot(['0', '1', '0', '1', '0', '1'], 4, new Rng(1), { classes: ['0', '1'] });
 * sel.classCounts; // { '0': 2, '1': 2 }
 */
export function balancedKshot(
  targets: readonly string[],
  k: number,
  rng: Rng,
  opts: KshotOptions,
): BalancedKshotSelection {
  checkK(k, 'balancedKshot');
  checkClasses(opts.classes, 'balancedKshot');
  if (k > targets.length) {
    throw new DeptError(`balancedKshot: k = ${k} is more than the ${targets.length} rows of the train set`);
  }
  const stsb = opts.stsb ?? false;
  const byClass = new Map<string, number[]>();
  for (const c of opts.classes) byClass.set(c, []);
  targets.forEach((t, row) => {
    const label = classOf(t, stsb);
    const list = byClass.get(label);
    if (list === undefined) {
      throw new DeptError(
        `balancedKshot: train row ${row} has label '${label}', which is not one of the classes [${opts.classes.join(', ')}]`,
      );
    }
    list.push(row);
  });
  const C = opts.classes.length;
  const quota = new Map<string, number>();
  const available = (c: string): number => (byClass.get(c) as number[]).length;
  let left = k;
  for (const c of opts.classes) {
    const q = Math.min(Math.floor(k / C), available(c));
    quota.set(c, q);
    left -= q;
  }
  // Remainder and shortfall: one row at a time, cycling over the classes in an rng order.
  const order = rng.shuffle(opts.classes);
  while (left > 0) {
    let gave = false;
    for (const c of order) {
      if (left === 0) break;
      const q = quota.get(c) as number;
      if (q < available(c)) {
        quota.set(c, q + 1);
        left--;
        gave = true;
      }
    }
    if (!gave) break; // unreachable: k <= targets.length
  }
  const picked: number[] = [];
  for (const c of opts.classes) {
    for (const row of rng.shuffle(byClass.get(c) as number[]).slice(0, quota.get(c) as number)) picked.push(row); // no spread: k may be 10^5
  }
  return { indices: rng.shuffle(picked), classCounts: Object.fromEntries(quota) };
}
