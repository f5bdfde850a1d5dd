/**
 * DePT's split rule against ../shared/fixtures/rng/split_cases.json (torch 1.13, seed 42), and the split
 * sizes of DEPT.md §2.4 / SPLITS.md §1.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isDeptError } from '@dept/core';
import { describeShared, sharedPath } from '../../../test/helpers/shared.ts';
import {
  LARGE_SPLIT_TASKS,
  SMALL_SPLIT_TASKS,
  deptSplit,
  deptSplitForTask,
  splitRuleFor,
  splitSourcesFor,
} from '../src/split.ts';

type StoredList = number[] | { full: number[] } | { head: number[]; tail: number[]; sha256: string };

interface SmallCase {
  task: string;
  n_validation: number;
  dev_size: number;
  test_size: number;
  dev: StoredList;
  test: StoredList;
}

interface LargeCase {
  task: string;
  n_train: number;
  dev: StoredList;
  train: StoredList;
}

interface SplitFixture {
  small: SmallCase[];
  large: LargeCase[];
}

interface TorchFixture {
  cases: { seed: number; n: number; perm: number[] }[];
}

function load<T>(name: string): T | undefined {
  const file = sharedPath('fixtures', 'rng', name);
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as T) : undefined;
}

function expectStoredList(actual: readonly number[], stored: StoredList): void {
  if (Array.isArray(stored)) expect(actual).toEqual(stored);
  else if ('full' in stored) expect(actual).toEqual(stored.full);
  else {
    expect(actual.slice(0, stored.head.length)).toEqual(stored.head);
    expect(actual.slice(actual.length - stored.tail.length)).toEqual(stored.tail);
    expect(createHash('sha256').update(actual.join(',')).digest('hex')).toBe(stored.sha256);
  }
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
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

describeShared('DePT split rule (fixtures/rng/split_cases.json)', () => {
  const fx = load<SplitFixture>('split_cases.json');
  const small = fx?.small ?? [];
  const large = fx?.large ?? [];

  it('has cases to check', () => {
    expect(small.length).toBe(11);
    expect(large.length).toBe(1);
  });

  it.each(small.map((c) => [c.task, c.n_validation, c] as const))('small: %s (N = %i)', (task, n, c) => {
    const plan = deptSplit('small', { train: 100, validation: n });
    expect(plan.dev.source).toBe('validation');
    expect(plan.test.source).toBe('validation');
    expect(plan.dev.indices.length).toBe(c.dev_size);
    expect(plan.test.indices.length).toBe(c.test_size);
    expectStoredList(plan.dev.indices, c.dev);
    expectStoredList(plan.test.indices, c.test);
    expect(plan.train).toEqual({ source: 'train', indices: range(100) });
    // the task-level entry point takes the same branch
    expect(splitRuleFor(task)).toBe('small');
    const viaTask = deptSplitForTask(task, { train: 100, validation: n });
    expect(viaTask.dev.indices).toEqual(plan.dev.indices);
    expect(viaTask.test.indices).toEqual(plan.test.indices);
  });

  it.each(large.map((c) => [c.task, c.n_train, c] as const))('large: %s (N = %i)', (_task, n, c) => {
    const plan = deptSplit('large', { train: n, validation: 37 });
    expect(plan.dev.source).toBe('train');
    expect(plan.train.source).toBe('train');
    expectStoredList(plan.dev.indices, c.dev);
    expectStoredList(plan.train.indices, c.train);
    expect(plan.test).toEqual({ source: 'validation', indices: range(37) });
  });

  it('maxSamples on the fall-through train = randperm(N, 42)[:n_obs] (torch fixture, n = 2490)', () => {
    const torch = load<TorchFixture>('torch_randperm.json');
    const perm = torch?.cases.find((c) => c.seed === 42 && c.n === 2490)?.perm;
    expect(perm).toBeDefined();
    const plan = deptSplit('small', { train: 2490, validation: 277 }, { maxSamples: { train: 16 } });
    expect(plan.train.indices).toEqual((perm as number[]).slice(0, 16));
  });
});

describe('DePT split rule without fixtures', () => {
  it('task lists are the official ones (SPLITS.md §1)', () => {
    expect(SMALL_SPLIT_TASKS).toEqual([
      'cola', 'wnli', 'rte', 'superglue-cb', 'superglue-copa', 'superglue-multirc', 'superglue-wic',
      'superglue-wsc.fixed', 'superglue-rte', 'mrpc', 'stsb', 'superglue-boolq', 'xsum', 'scitail',
    ]);
    expect(LARGE_SPLIT_TASKS).toEqual([
      'qqp', 'qnli', 'superglue-record', 'sst2', 'squad', 'snli', 'anli', 'amazon_polarity',
      'yelp_polarity', 'winogrande', 'newsqa', 'searchqa', 'triviaqa', 'nq', 'hotpotqa',
    ]);
    for (const t of SMALL_SPLIT_TASKS) expect(splitRuleFor(t)).toBe('small');
    for (const t of LARGE_SPLIT_TASKS) expect(splitRuleFor(t)).toBe('large');
    expect(splitRuleFor('mnli')).toBe('as-is');
    expect(splitRuleFor('paws')).toBe('as-is');
  });

  // Sizes from DEPT.md §2.4 (ULPT Table 4), consistent with the rule.
  it.each([
    ['rte', 2490, 277, 2490, 138, 139],
    ['superglue-cb', 250, 56, 250, 28, 28],
    ['stsb', 5749, 1500, 5749, 750, 750],
    ['mrpc', 3668, 408, 3668, 204, 204],
    ['cola', 8551, 1043, 8551, 521, 522],
    ['superglue-wic', 5428, 638, 5428, 319, 319],
    ['scitail', 23596, 1304, 23596, 652, 652],
  ] as const)('small sizes: %s', (task, nTrain, nVal, train, dev, test) => {
    const plan = deptSplitForTask(task, { train: nTrain, validation: nVal });
    expect([plan.train.indices.length, plan.dev.indices.length, plan.test.indices.length]).toEqual([train, dev, test]);
    // dev and test partition the validation split
    expect([...plan.dev.indices, ...plan.test.indices].sort((a, b) => a - b)).toEqual(range(nVal));
  });

  it('large sizes: QQP 363 846 train -> 362 846 / 1 000 / 40 431 (validation, in order)', () => {
    const plan = deptSplitForTask('qqp', { train: 363846, validation: 40431 });
    expect(plan.train.indices.length).toBe(362846);
    expect(plan.dev.indices.length).toBe(1000);
    expect(plan.test).toEqual({ source: 'validation', indices: range(40431) });
    const all = new Set([...plan.dev.indices, ...plan.train.indices]);
    expect(all.size).toBe(363846);
  });

  it('yelp_polarity: test is the real test split and train keeps perm[1000:101000]', () => {
    const plan = deptSplitForTask('yelp_polarity', { train: 560000, test: 38000 });
    expect(plan.train.indices.length).toBe(100000);
    expect(plan.dev.indices.length).toBe(1000);
    expect(plan.test.source).toBe('test');
    expect(plan.test.indices.length).toBe(38000);
    const full = deptSplit('large', { train: 560000, test: 38000 }, { testSource: 'test' });
    expect(plan.train.indices).toEqual(full.train.indices.slice(0, 100000));
  });

  it('MNLI as is: train = train, dev = validation_mismatched, test = validation_matched', () => {
    // real MNLI dev/test sizes; a small train keeps the test quick (the rule is the same)
    const sizes = { train: 5000, validation_matched: 9815, validation_mismatched: 9832 };
    const plan = deptSplit('as-is', sizes);
    expect(plan.train).toEqual({ source: 'train', indices: range(5000) });
    expect(plan.dev).toEqual({ source: 'validation_mismatched', indices: range(9832) });
    expect(plan.test).toEqual({ source: 'validation_matched', indices: range(9815) });
    expect(deptSplitForTask('mnli', sizes)).toEqual(plan);
    expect(splitSourcesFor('mnli')).toEqual({ devSource: 'validation_mismatched', testSource: 'validation_matched' });
  });

  it('PAWS as is uses validation and test', () => {
    const plan = deptSplitForTask('paws', { train: 49401, validation: 8000, test: 8000 });
    expect(plan.dev.source).toBe('validation');
    expect(plan.test.source).toBe('test');
    expect(plan.train.indices.length).toBe(49401);
  });

  it('validationSize and seed override the defaults', () => {
    const plan = deptSplit('large', { train: 50, validation: 5 }, { validationSize: 10 });
    expect(plan.dev.indices.length).toBe(10);
    expect(plan.train.indices.length).toBe(40);
    const other = deptSplit('small', { train: 5, validation: 56 }, { seed: 0 });
    const base = deptSplit('small', { train: 5, validation: 56 });
    expect(other.dev.indices).not.toEqual(base.dev.indices);
  });

  it('bad input throws DeptError naming the problem', () => {
    expectDeptError(() => deptSplit('small', { train: 10 }), /validation/);
    expectDeptError(() => deptSplit('as-is', { train: 10, validation: 3 }), /validation_mismatched/);
    expectDeptError(() => deptSplit('large', { train: -1, validation: 3 }), /non-negative/);
    expectDeptError(() => deptSplit('small', { train: 10, validation: 4 }, { devSource: 'dev' }), /not a split/);
    expectDeptError(() => deptSplit('large', { train: 1500, validation: 4 }, { trainHead: 600 }), /trainHead/);
  });
});
