/**
 * DePT's k-shot rule against ../shared/fixtures/rng/kshot_cases.json (HF datasets shuffle = numpy
 * default_rng permutation; numpy 1.24.2), the STS-B target strings, and the balanced sampler.
 */
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isDeptError, Rng } from '@dept/core';
import { describeShared, sharedPath } from '../../../test/helpers/shared.ts';
import {
  balancedKshot,
  deptKshot,
  stsbClass,
  stsbTargetString,
  stsbTargetStringFromFloat32,
} from '../src/kshot.ts';
import { deptSplit } from '../src/split.ts';

interface LabelList {
  kind: 'class' | 'stsb';
  classes: string[];
  note: string;
  targets: string[];
  scores?: number[];
  binary_class?: string[];
}

interface KshotCase {
  list: string;
  k: number;
  seed: number;
  shuffled_positions: number[];
  selected_indices: number[];
  class_counts: Record<string, number>;
  n_selected: number;
  examined: number;
}

interface ComposedCase {
  n_raw_train: number;
  k?: number;
  seed?: number;
  raw_targets?: string[];
  shuffled_positions?: number[];
  selected_indices?: number[];
  class_counts?: Record<string, number>;
  n_selected?: number;
  examined?: number;
  selected_raw_indices?: number[];
}

interface KshotFixture {
  lists: Record<string, LabelList>;
  cases: KshotCase[];
  composed_large_task: ComposedCase[];
}

function load<T>(name: string): T | undefined {
  const file = sharedPath('fixtures', 'rng', name);
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as T) : undefined;
}

function expectDeptError(f: () => unknown, pattern: RegExp): void {
  let err: unknown;
  try {
    f();
  } catch (e) {
    err = e;
  }
  expect(isDeptError(err)).toBe(true);
  expect((err as Error).message).toMatch(pattern);
}

describeShared('DePT k-shot rule (fixtures/rng/kshot_cases.json)', () => {
  const fx = load<KshotFixture>('kshot_cases.json');
  const cases = fx?.cases ?? [];
  const composed = fx?.composed_large_task ?? [];
  const rawTargets = composed.find((c) => c.raw_targets !== undefined)?.raw_targets ?? [];
  const composedCases = composed.filter((c) => c.k !== undefined);

  it('has cases to check', () => {
    expect(cases.length).toBe(12);
    expect(composedCases.length).toBe(3);
    expect(rawTargets.length).toBe(2000);
  });

  it.each(cases.map((c) => [c.list, c.k, c.seed, c] as const))('%s, k = %i, seed %i', (list, k, seed, c) => {
    const l = (fx as KshotFixture).lists[list] as LabelList;
    const sel = deptKshot(l.targets, k, seed, { classes: l.classes, stsb: l.kind === 'stsb' });
    expect(sel.positions).toEqual(c.shuffled_positions);
    expect(sel.indices).toEqual(c.selected_indices);
    expect(sel.classCounts).toEqual(c.class_counts);
    expect(sel.indices.length).toBe(c.n_selected);
    expect(sel.examined).toBe(c.examined);
  });

  it.each(composedCases.map((c) => [c.k, c] as const))(
    'large task: 1000-row dev cut, then k-shot on the rest (k = %i)',
    (k, c) => {
      const plan = deptSplit('large', { train: c.n_raw_train, validation: 1 });
      const trainTargets = plan.train.indices.map((raw) => rawTargets[raw] as string);
      const sel = deptKshot(trainTargets, k as number, c.seed as number, { classes: ['0', '1'] });
      expect(sel.positions).toEqual(c.shuffled_positions);
      expect(sel.indices).toEqual(c.selected_indices);
      expect(sel.classCounts).toEqual(c.class_counts);
      expect(sel.examined).toBe(c.examined);
      expect(sel.indices.map((i) => plan.train.indices[i])).toEqual(c.selected_raw_indices);
    },
  );

  it('STS-B: every stored score gives the stored target string and class', () => {
    const l = (fx as KshotFixture).lists['stsb_like_600'] as LabelList;
    const scores = l.scores as number[];
    expect(scores.length).toBe(600);
    const got = scores.map((s) => stsbTargetString(s));
    expect(got).toEqual(l.targets);
    // the scores are float32 values widened to float64, so rounding to float32 first changes nothing
    expect(scores.map((s) => stsbTargetStringFromFloat32(s))).toEqual(l.targets);
    expect(l.targets.map((t) => stsbClass(t))).toEqual(l.binary_class);
  });
});

describe('STS-B target string (SPLITS.md §2, hand-checked)', () => {
  it.each([
    // decimal as written, float32 value rounds to
    [2.45, '2.5'], // float32 2.4500000476837158 -> x*10 = 24.500000476... -> 25
    [2.46, '2.5'],
    [2.48, '2.5'],
    [2.5, '2.5'],
    [2.52, '2.5'],
    [2.54, '2.5'],
    [2.55, '2.5'], // float32 2.549999952316284 -> 25.49999952... -> 25
    [2.56, '2.6'],
    [2.6, '2.6'],
    [3.8, '3.8'],
    [1.25, '1.2'], // exactly 12.5 -> half to even -> 12
    [4.75, '4.8'], // exactly 47.5 -> 48
    [0.25, '0.2'],
    [5, '5.0'],
    [0, '0.0'],
    [4.667, '4.7'],
    [0.333, '0.3'],
  ] as const)('%f -> %s', (score, expected) => {
    expect(stsbTargetStringFromFloat32(score)).toBe(expected);
  });

  it('float32 option changes the result where float64 and float32 differ', () => {
    // float64 2.45 = 2.45000000000000017..; (x*5)/5 gives it back, and x*10 rounds to exactly 24.5 -> half to even -> 24
    expect(stsbTargetString(2.45)).toBe('2.4');
    expect(stsbTargetString(2.45, { float32: true })).toBe('2.5');
  });

  it('classes cut on the rounded string', () => {
    expect(stsbClass('2.5')).toBe('0');
    expect(stsbClass('2.6')).toBe('1');
    expect(stsbClass('0.0')).toBe('0');
    expectDeptError(() => stsbClass('high'), /not a number/);
  });
});

describe('DePT k-shot rule without fixtures', () => {
  it('k = 0 takes nothing and examines nothing', () => {
    const sel = deptKshot(['0', '1', '0'], 0, 42, { classes: ['0', '1'] });
    expect(sel).toEqual({ positions: [], indices: [], classCounts: { '0': 0, '1': 0 }, examined: 0 });
  });

  it('an empty train set gives an empty selection', () => {
    expect(deptKshot([], 4, 42, { classes: ['0', '1'] }).indices).toEqual([]);
  });

  it('a label outside the classes throws (DePT KeyError)', () => {
    expectDeptError(() => deptKshot(['0', '1', '7', '0'], 4, 42, { classes: ['0', '1'] }), /label '7'/);
  });
});

describe('balanced k-shot sampler', () => {
  const twoClass = Array.from({ length: 200 }, (_, i) => (i % 3 === 0 ? '1' : '0'));
  const threeClass = Array.from({ length: 90 }, (_, i) => String(i % 3));

  function check(targets: readonly string[], indices: readonly number[], k: number): Record<string, number> {
    expect(indices.length).toBe(k);
    expect(new Set(indices).size).toBe(k);
    const counts: Record<string, number> = {};
    for (const i of indices) {
      expect(Number.isInteger(i) && i >= 0 && i < targets.length).toBe(true);
      const t = targets[i] as string;
      counts[t] = (counts[t] ?? 0) + 1;
    }
    return counts;
  }

  it.each([4, 16, 32])('two classes, k = %i: exactly k/2 each', (k) => {
    const sel = balancedKshot(twoClass, k, new Rng(3), { classes: ['0', '1'] });
    const counts = check(twoClass, sel.indices, k);
    expect(counts).toEqual({ '0': k / 2, '1': k / 2 });
    expect(sel.classCounts).toEqual(counts);
  });

  it.each([
    [4, 1],
    [16, 5],
    [32, 10],
  ])('three classes, k = %i: %i each plus the remainder one per class', (k, q) => {
    const sel = balancedKshot(threeClass, k, new Rng(11), { classes: ['0', '1', '2'] });
    const counts = check(threeClass, sel.indices, k);
    const values = Object.values(counts).sort((a, b) => a - b);
    const extra = k - 3 * q;
    expect(values).toEqual([...Array(3 - extra).fill(q), ...Array(extra).fill(q + 1)]);
  });

  it('a rare class gives all it has and the others fill up to k', () => {
    const targets = [...Array(30).fill('0'), ...Array(30).fill('1'), '2', '2'];
    const sel = balancedKshot(targets, 16, new Rng(5), { classes: ['0', '1', '2'] });
    const counts = check(targets, sel.indices, 16);
    expect(counts['2']).toBe(2);
    expect((counts['0'] ?? 0) + (counts['1'] ?? 0)).toBe(14);
    expect(Math.abs((counts['0'] ?? 0) - (counts['1'] ?? 0))).toBeLessThanOrEqual(1);
  });

  it('takes 300,000 rows of a 400,000-row train set (no argument spread: that overflowed the stack)', () => {
    const targets = Array.from({ length: 400_000 }, (_, i) => String(i % 2));
    const sel = balancedKshot(targets, 300_000, new Rng(9), { classes: ['0', '1'] });
    expect(sel.classCounts).toEqual({ '0': 150_000, '1': 150_000 });
    expect(new Set(sel.indices).size).toBe(300_000);
  });

  it('is deterministic per seed and differs across seeds', () => {
    const a = balancedKshot(twoClass, 16, new Rng(42), { classes: ['0', '1'] });
    const b = balancedKshot(twoClass, 16, new Rng(42), { classes: ['0', '1'] });
    const c = balancedKshot(twoClass, 16, new Rng(43), { classes: ['0', '1'] });
    expect(a).toEqual(b);
    expect(c.indices).not.toEqual(a.indices);
  });

  it('STS-B balances on the binarised class', () => {
    const targets = ['0.4', '2.5', '2.6', '4.0', '1.2', '3.8', '2.4', '5.0'];
    const sel = balancedKshot(targets, 4, new Rng(1), { classes: ['0', '1'], stsb: true });
    expect(sel.classCounts).toEqual({ '0': 2, '1': 2 });
    expect(sel.indices.filter((i) => stsbClass(targets[i] as string) === '0').length).toBe(2);
  });

  it('throws when k exceeds the rows or a label is unknown', () => {
    expectDeptError(() => balancedKshot(['0', '1'], 3, new Rng(1), { classes: ['0', '1'] }), /more than the 2 rows/);
    expectDeptError(() => balancedKshot(['0', 'x'], 2, new Rng(1), { classes: ['0', '1'] }), /label 'x'/);
  });
});
