/**
 * Hand-written classification and correlation statistics with sklearn / scipy semantics.
 * All return fractions (accuracy 0.75, not 75) and may return NaN where scipy does; the task-level
 * `computeMetrics` scales by 100 and applies DePT's NaN -> 0.
 */
import { DeptError } from '@dept/core';

function checkPair(a: readonly unknown[], b: readonly unknown[], where: string): void {
  if (a.length !== b.length) {
    throw new DeptError(`${where}: ${a.length} predictions but ${b.length} targets; expected the same number`);
  }
}

/**
 * Fraction of predictions equal to their target (string equality).
 *
 * @example
 * accuracy(['1', '0', 'x'], ['1', '1', 'x']); // 2/3
 */
export function accuracy(predictions: readonly string[], targets: readonly string[]): number {
  checkPair(predictions, targets, 'accuracy');
  if (predictions.length === 0) return Number.NaN;
  let ok = 0;
  for (let i = 0; i < predictions.length; i++) if (predictions[i] === targets[i]) ok++;
  return ok / predictions.length;
}

/** True-positive, false-positive and false-negative counts of one label. */
function counts(
  predictions: readonly string[],
  targets: readonly string[],
  label: string,
): { tp: number; fp: number; fn: number } {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (let i = 0; i < predictions.length; i++) {
    const p = predictions[i] === label;
    const t = targets[i] === label;
    if (p && t) tp++;
    else if (p) fp++;
    else if (t) fn++;
  }
  return { tp, fp, fn };
}

function f1FromCounts(c: { tp: number; fp: number; fn: number }): number {
  const denom = 2 * c.tp + c.fp + c.fn;
  return denom === 0 ? 0 : (2 * c.tp) / denom; // sklearn zero_division -> 0
}

/**
 * sklearn `f1_score(targets, predictions)` for one positive label (binary average): 2TP / (2TP + FP + FN),
 * 0 when there is no positive at all. Any prediction other than `positive` counts as negative.
 *
 * @example
 * binaryF1(['1', '1', '0', '0'], ['1', '0', '1', '0']); // tp 1, fp 1, fn 1 -> 0.5
 */
export function binaryF1(predictions: readonly string[], targets: readonly string[], positive = '1'): number {
  checkPair(predictions, targets, 'binaryF1');
  return f1FromCounts(counts(predictions, targets, positive));
}

/**
 * DePT `f1_score_with_invalid`: any prediction other than "0"/"1" is replaced by the opposite of its
 * target ("0" if the target is "1", else "1"), then binary F1 with positive "1". Targets must be "0"/"1".
 *
 * @example
 * f1ScoreWithInvalid(['1', 'yes', 'maybe'], ['1', '1', '0']); // -> preds 1,0,1: tp 1, fp 1, fn 1 -> 0.5
 */
export function f1ScoreWithInvalid(predictions: readonly string[], targets: readonly string[]): number {
  return binaryF1(flipInvalidBinary(predictions, targets), targets, '1');
}

/**
 * The prediction mapping of DePT's `f1_score_with_invalid`: invalid -> opposite of the target.
 *
 * @example
 * flipInvalidBinary(['1', '?', '?'], ['1', '1', '0']); // ['1', '0', '1']
 */
export function flipInvalidBinary(predictions: readonly string[], targets: readonly string[]): string[] {
  checkPair(predictions, targets, 'f1ScoreWithInvalid');
  return predictions.map((p, i) => {
    const t = targets[i] as string;
    if (t !== '0' && t !== '1') {
      throw new DeptError(`f1ScoreWithInvalid: target ${i} is '${t}'; expected '0' or '1'`);
    }
    if (p === '0' || p === '1') return p;
    return t === '1' ? '0' : '1';
  });
}

/**
 * Unweighted mean over `labels` of per-label F1 (sklearn `f1_score(average="macro", labels=labels)`).
 * Predictions outside `labels` are simply wrong (a false negative for the target's label).
 * Without `labels`, sklearn's default: the sorted union of the labels in targets and predictions.
 *
 * @example
 * macroF1(['0', '1', '2', '0'], ['0', '1', '1', '2'], ['0', '1', '2']); // (2/3 + 2/3 + 0) / 3 = 4/9
 */
export function macroF1(predictions: readonly string[], targets: readonly string[], labels?: readonly string[]): number {
  checkPair(predictions, targets, 'macroF1');
  const ls = labels ?? [...new Set([...targets, ...predictions])].sort();
  if (ls.length === 0) return 0;
  let sum = 0;
  for (const l of ls) sum += f1FromCounts(counts(predictions, targets, l));
  return sum / ls.length;
}

/**
 * sklearn `matthews_corrcoef(targets, predictions)` (multiclass formula on string labels; 0 when undefined).
 *
 * @example
 * matthewsCorrcoef(['+1', '-1', '+1', '+1'], ['+1', '+1', '+1', '-1']); // -1/3 (sklearn docs example)
 */
export function matthewsCorrcoef(predictions: readonly string[], targets: readonly string[]): number {
  checkPair(predictions, targets, 'matthewsCorrcoef');
  const tSum = new Map<string, number>();
  const pSum = new Map<string, number>();
  let correct = 0;
  const n = predictions.length;
  for (let i = 0; i < n; i++) {
    const p = predictions[i] as string;
    const t = targets[i] as string;
    tSum.set(t, (tSum.get(t) ?? 0) + 1);
    pSum.set(p, (pSum.get(p) ?? 0) + 1);
    if (p === t) correct++;
  }
  let tp = 0;
  let pp = 0;
  let tt = 0;
  for (const [l, c] of tSum) {
    tp += c * (pSum.get(l) ?? 0);
    tt += c * c;
  }
  for (const c of pSum.values()) pp += c * c;
  const covYtYp = correct * n - tp;
  const covYpYp = n * n - pp;
  const covYtYt = n * n - tt;
  if (covYpYp * covYtYt === 0) return 0;
  return covYtYp / Math.sqrt(covYtYt * covYpYp);
}

/** A finite double as an exact integer times a power of two: `v = m · 2^e` (m = 0 for ±0). */
function splitDouble(v: number, view: DataView): { m: bigint; e: number } {
  view.setFloat64(0, v);
  const hi = view.getUint32(0);
  const lo = view.getUint32(4);
  const biased = (hi >>> 20) & 0x7ff;
  let m = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  if (biased !== 0) m |= 1n << 52n;
  if (hi >>> 31) m = -m;
  return { m, e: biased === 0 ? -1074 : biased - 1075 };
}

/** Every value of `v` as an integer on one common scale (`v[i] = out[i] · 2^E`, E the smallest exponent). */
function onCommonScale(v: readonly number[]): bigint[] {
  const view = new DataView(new ArrayBuffer(8));
  const parts = v.map((x) => splitDouble(x, view));
  let low = Infinity;
  for (const p of parts) if (p.m !== 0n && p.e < low) low = p.e;
  return parts.map((p) => (p.m === 0n ? 0n : p.m << BigInt(p.e - low)));
}

function bitLength(n: bigint): number {
  return n === 0n ? 0 : n.toString(16).length * 4 - (Math.clz32(Number.parseInt(n.toString(16)[0] as string, 16)) - 28);
}

/** floor(√n) for n ≥ 0 (Newton's iteration from above). */
function isqrt(n: bigint): bigint {
  if (n < 2n) return n;
  let x = 1n << BigInt(Math.ceil(bitLength(n) / 2));
  for (;;) {
    const y = (x + n / x) >> 1n;
    if (y >= x) return x;
    x = y;
  }
}

/** `x · 2^k` without overflow or underflow on the way (k may be far outside ±1023). */
function ldexp(x: number, k: number): number {
  let v = x;
  let left = k;
  while (left > 1000) {
    v *= 2 ** 1000;
    left -= 1000;
  }
  while (left < -1000) {
    v *= 2 ** -1000;
    left += 1000;
  }
  return v * 2 ** left;
}

/**
 * scipy `pearsonr(x, y)[0]`, computed exactly: every double is an integer times a power of two, so the centred
 * sums n·Σx² − (Σx)², n·Σy² − (Σy)² and n·Σxy − Σx·Σy are exact integers (BigInt), and r is rounded once at the
 * end (within one unit in the last place of the exact value). Nearly constant inputs lose nothing, where scipy's
 * float64 centring can be off in the first digit, and two points give exactly ±1. NaN for fewer than 2 points, a
 * constant input, or a value that is NaN or infinite (as scipy).
 *
 * @example
 * pearsonCorrcoef([1, 2, 3], [2, 4, 7]); // 0.9933992677987828
 * pearsonCorrcoef([0.3, 0.1], [2.2, 5.9]); // -1, exactly
 */
export function pearsonCorrcoef(x: readonly number[], y: readonly number[]): number {
  checkPair(x, y, 'pearsonCorrcoef');
  const n = x.length;
  if (n < 2) return Number.NaN;
  if (!x.every(Number.isFinite) || !y.every(Number.isFinite)) return Number.NaN;
  const X = onCommonScale(x);
  const Y = onCommonScale(y);
  let sx = 0n;
  let sy = 0n;
  let sxx = 0n;
  let syy = 0n;
  let sxy = 0n;
  for (let i = 0; i < n; i++) {
    const a = X[i] as bigint;
    const b = Y[i] as bigint;
    sx += a;
    sy += b;
    sxx += a * a;
    syy += b * b;
    sxy += a * b;
  }
  const N = BigInt(n);
  const vx = N * sxx - sx * sx; // n² times the variance, on the common scale: 0 only for a constant input
  const vy = N * syy - sy * sy;
  const c = N * sxy - sx * sy;
  if (vx === 0n || vy === 0n) return Number.NaN;
  const p = vx * vy;
  const sign = c < 0n ? -1 : 1;
  const c2 = c * c;
  if (c2 === p) return sign; // exactly ±1 (every two-point sample)
  if (c === 0n) return 0;
  // |r| = √(c² / p): take q = floor(c² · 4^L / p) with at least 128 bits, then √q / 2^L.
  const L = Math.max(0, Math.ceil((bitLength(p) - bitLength(c2) + 130) / 2));
  const root = isqrt((c2 << BigInt(2 * L)) / p);
  const bits = bitLength(root);
  const shift = Math.max(0, bits - 64);
  return sign * ldexp(Number(root >> BigInt(shift)), shift - L);
}

/**
 * scipy `rankdata(values, method="average")`: 1-based ranks, ties share their mean rank.
 *
 * @example
 * rankAverage([10, 20, 20, 5]); // [2, 3.5, 3.5, 1]
 */
export function rankAverage(values: readonly number[]): number[] {
  const n = values.length;
  const order = Array.from({ length: n }, (_, i) => i);
  order.sort((a, b) => {
    const va = values[a] as number;
    const vb = values[b] as number;
    return va < vb ? -1 : va > vb ? 1 : a - b;
  });
  const ranks = new Array<number>(n);
  let i = 0;
  while (i < n) {
    let j = i;
    while (j + 1 < n && values[order[j + 1] as number] === values[order[i] as number]) j++;
    const r = (i + j + 2) / 2; // mean of ranks i+1 .. j+1
    for (let q = i; q <= j; q++) ranks[order[q] as number] = r;
    i = j + 1;
  }
  return ranks;
}

/**
 * scipy `spearmanr(x, y)[0]`: Pearson correlation of the average ranks. NaN for a constant input,
 * fewer than 2 points, or any NaN value (infinities are ranked like large numbers).
 *
 * @example
 * spearmanCorrcoef([1, 2, 3, 4], [1, 3, 2, 4]); // 0.8
 */
export function spearmanCorrcoef(x: readonly number[], y: readonly number[]): number {
  checkPair(x, y, 'spearmanCorrcoef');
  if (x.some(Number.isNaN) || y.some(Number.isNaN)) return Number.NaN;
  return pearsonCorrcoef(rankAverage(x), rankAverage(y));
}
