/**
 * DePT's `split_validation_test=True` split rule (`src/tasks.py:28-40, 68-145`, `train.py:519-529`),
 * as row numbers into the source split files. Pure: give it the split sizes, get the indices.
 *
 * - small list: train = original train in order; the original validation (N rows) is permuted by
 *   `torch.randperm(N, seed 42)`; dev = perm[:N//2], test = perm[N//2:].
 * - large list: the original train (N rows) is permuted; dev = perm[:1000], train = perm[1000:];
 *   test = `split_to_data_split["test"]` (validation, or the real test for yelp/amazon) in order.
 * - neither list ("as-is", e.g. MNLI, PAWS): every part is its mapped split, in order.
 * - `--max_*_samples` (n_obs) truncates a split-branch part to its first n_obs indices and, in the
 *   fall-through branch, replaces the part by `randperm(len, 42)[:n_obs]`.
 *
 * See `../shared/docs/SPLITS.md` §1.
 */
import { DeptError } from '@dept/core';
import { torchRandperm } from './rng/torch.ts';

/** DePT `small_datasets_without_all_splits` (`src/tasks.py:33-36`), in source order. */
export const SMALL_SPLIT_TASKS: readonly string[] = Object.freeze([
  'cola',
  'wnli',
  'rte',
  'superglue-cb',
  'superglue-copa',
  'superglue-multirc',
  'superglue-wic',
  'superglue-wsc.fixed',
  'superglue-rte',
  'mrpc',
  'stsb',
  'superglue-boolq',
  'xsum',
  'scitail',
]);

/** DePT `large_data_without_all_splits` (`src/tasks.py:37-40`), in source order. */
export const LARGE_SPLIT_TASKS: readonly string[] = Object.freeze([
  'qqp',
  'qnli',
  'superglue-record',
  'sst2',
  'squad',
  'snli',
  'anli',
  'amazon_polarity',
  'yelp_polarity',
  'winogrande',
  'newsqa',
  'searchqa',
  'triviaqa',
  'nq',
  'hotpotqa',
]);

/** The split seed DePT always uses (`train.py:519,556,574` call `AutoTask.get(..., seed=42)`). */
export const DEPT_SPLIT_SEED = 42;

/** Rows DePT cuts from the large-list train split for dev (`validation_size=1000`). */
export const DEPT_LARGE_DEV_SIZE = 1000;

/** Which branch of `AbstractTask.get` a task takes. */
export type SplitRule = 'small' | 'large' | 'as-is';

/** A split file of the original dataset. */
export type SplitSource = 'train' | 'validation' | 'validation_matched' | 'validation_mismatched' | 'test';

/** All split sources, for validation of user input. */
export const SPLIT_SOURCES: readonly SplitSource[] = Object.freeze([
  'train',
  'validation',
  'validation_matched',
  'validation_mismatched',
  'test',
]);

/** One part of the DePT split: which source file, and which of its rows in which order. */
export interface SplitPart {
  source: SplitSource;
  /** Row numbers in the source split's file, in the order DePT yields them. */
  indices: number[];
}

/** The three parts DePT trains, selects and tests on. */
export interface SplitPlan {
  train: SplitPart;
  dev: SplitPart;
  test: SplitPart;
}

/** Row counts of the source splits (only the ones the rule reads are required). */
export interface SplitSizes {
  train: number;
  validation?: number;
  validation_matched?: number;
  validation_mismatched?: number;
  test?: number;
}

/** Options of {@link deptSplit}. */
export interface DeptSplitOptions {
  /** randperm seed; DePT always uses 42. */
  seed?: number;
  /** The dev cut: N//2 for the small rule, 1000 for the large rule. */
  validationSize?: number;
  /** Source of the test part when it is read as is (large: 'validation' by default; as-is: 'validation_matched'). */
  testSource?: string;
  /** Source of the dev part (small: 'validation'; as-is: 'validation_mismatched'; ignored by the large rule). */
  devSource?: string;
  /** DePT `--max_train_samples` / `--max_eval_samples` / `--max_predict_samples` (n_obs). */
  maxSamples?: { train?: number; dev?: number; test?: number };
  /** Keep only the first rows of the train part after the split (DePT does `range(100000)` for yelp_polarity). */
  trainHead?: number;
}

/**
 * The split branch DePT takes for an official (DePT) task name.
 *
 * @example
 * splitRuleFor('rte'); // 'small'
 * splitRuleFor('qqp'); // 'large'
 * splitRuleFor('mnli'); // 'as-is'
 */
export function splitRuleFor(officialTaskName: string): SplitRule {
  if (SMALL_SPLIT_TASKS.includes(officialTaskName)) return 'small';
  if (LARGE_SPLIT_TASKS.includes(officialTaskName)) return 'large';
  return 'as-is';
}

/**
 * The source files DePT reads for dev and test of a task (`split_to_data_split` of its task class).
 * Only the parts read "as is" use these: dev and test of as-is tasks, test of large-list tasks.
 *
 * @example
 * splitSourcesFor('mnli'); // { devSource: 'validation_mismatched', testSource: 'validation_matched' }
 * splitSourcesFor('yelp_polarity'); // { devSource: 'validation', testSource: 'test' }
 */
export function splitSourcesFor(officialTaskName: string): { devSource: SplitSource; testSource: SplitSource } {
  switch (officialTaskName) {
    case 'mnli':
    case 'multi_nli':
      return { devSource: 'validation_mismatched', testSource: 'validation_matched' };
    case 'yelp_polarity':
    case 'amazon_polarity':
    case 'paws':
    case 'scitail':
    case 'snli':
      return { devSource: 'validation', testSource: 'test' };
    default:
      return { devSource: 'validation', testSource: 'validation' };
  }
}

function asSource(value: string, what: string): SplitSource {
  if ((SPLIT_SOURCES as readonly string[]).includes(value)) return value as SplitSource;
  throw new DeptError(`deptSplit: ${what} '${value}' is not a split; expected one of ${SPLIT_SOURCES.join(', ')}`);
}

function checkCount(value: number | undefined, what: string): number {
  if (value === undefined) throw new DeptError(`deptSplit: the size of split '${what}' is required for this rule`);
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new DeptError(`deptSplit: size of '${what}' must be a non-negative integer, got ${value}`);
  }
  return value;
}

function sizeOf(sizes: SplitSizes, source: SplitSource): number {
  return checkCount(sizes[source], source);
}

function range(n: number): number[] {
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) out[i] = i;
  return out;
}

/** Python `indices[:n]` for n >= 0 (None = keep all). */
function head(indices: number[], n: number | undefined): number[] {
  return n === undefined ? indices : indices.slice(0, n);
}

/** The fall-through branch: the mapped split as is, or `subsample` = randperm(N, seed)[:n_obs]. */
function asIs(source: SplitSource, size: number, nObs: number | undefined, seed: number): SplitPart {
  return { source, indices: nObs === undefined ? range(size) : torchRandperm(size, seed).slice(0, nObs) };
}

/**
 * DePT's dev/test/train assignment, as row numbers into the source split files.
 *
 * @param rule the branch: see {@link splitRuleFor}.
 * @param sizes row counts of the source splits the rule reads.
 * @param opts seed (42), cut size, sources of the parts read as is, n_obs limits, train head.
 * @example
 * const plan = deptSplit('small', { train: 2490, validation: 277 });
 * plan.dev.indices.length; // 138 (= 277 // 2), rows of 'validation'
 * plan.test.indices.length; // 139
 * deptSplit('large', { train: 2000, validation: 872 }).train.indices.length; // 1000 (perm[1000:])
 */
export function deptSplit(rule: SplitRule, sizes: SplitSizes, opts: DeptSplitOptions = {}): SplitPlan {
  const seed = opts.seed ?? DEPT_SPLIT_SEED;
  if (!Number.isSafeInteger(seed)) throw new DeptError(`deptSplit: seed must be an integer, got ${seed}`);
  const maxSamples = opts.maxSamples ?? {};
  for (const [part, n] of Object.entries(maxSamples)) {
    if (n !== undefined && (!Number.isSafeInteger(n) || n < 0)) {
      throw new DeptError(`deptSplit: maxSamples.${part} must be a non-negative integer, got ${n}`);
    }
  }
  if (opts.validationSize !== undefined && (!Number.isSafeInteger(opts.validationSize) || opts.validationSize < 0)) {
    throw new DeptError(`deptSplit: validationSize must be a non-negative integer, got ${opts.validationSize}`);
  }
  let plan: SplitPlan;
  switch (rule) {
    case 'small': {
      const devSource = asSource(opts.devSource ?? 'validation', 'devSource');
      const n = sizeOf(sizes, devSource);
      const perm = torchRandperm(n, seed);
      const cut = opts.validationSize ?? Math.floor(n / 2);
      plan = {
        train: asIs('train', checkCount(sizes.train, 'train'), maxSamples.train, seed),
        dev: { source: devSource, indices: head(perm.slice(0, cut), maxSamples.dev) },
        test: { source: devSource, indices: head(perm.slice(cut), maxSamples.test) },
      };
      break;
    }
    case 'large': {
      const n = checkCount(sizes.train, 'train');
      const perm = torchRandperm(n, seed);
      const cut = opts.validationSize ?? DEPT_LARGE_DEV_SIZE;
      const testSource = asSource(opts.testSource ?? 'validation', 'testSource');
      plan = {
        train: { source: 'train', indices: head(perm.slice(cut), maxSamples.train) },
        dev: { source: 'train', indices: head(perm.slice(0, cut), maxSamples.dev) },
        test: asIs(testSource, sizeOf(sizes, testSource), maxSamples.test, seed),
      };
      break;
    }
    case 'as-is': {
      const devSource = asSource(opts.devSource ?? 'validation_mismatched', 'devSource');
      const testSource = asSource(opts.testSource ?? 'validation_matched', 'testSource');
      plan = {
        train: asIs('train', checkCount(sizes.train, 'train'), maxSamples.train, seed),
        dev: asIs(devSource, sizeOf(sizes, devSource), maxSamples.dev, seed),
        test: asIs(testSource, sizeOf(sizes, testSource), maxSamples.test, seed),
      };
      break;
    }
    default:
      throw new DeptError(`deptSplit: unknown rule '${String(rule)}'; expected 'small', 'large' or 'as-is'`);
  }
  if (opts.trainHead !== undefined) {
    if (!Number.isSafeInteger(opts.trainHead) || opts.trainHead < 0) {
      throw new DeptError(`deptSplit: trainHead must be a non-negative integer, got ${opts.trainHead}`);
    }
    if (opts.trainHead > plan.train.indices.length) {
      // HF select(range(100000)) on a shorter dataset raises IndexError.
      throw new DeptError(
        `deptSplit: trainHead ${opts.trainHead} exceeds the ${plan.train.indices.length} train rows after the split`,
      );
    }
    plan.train.indices = plan.train.indices.slice(0, opts.trainHead);
  }
  return plan;
}

/**
 * {@link deptSplit} with the rule, the as-is sources and the yelp train cut DePT uses for a task.
 *
 * @example
 * const plan = deptSplitForTask('mnli', { train: 392702, validation_matched: 9815, validation_mismatched: 9832 });
 * plan.dev.source; // 'validation_mismatched'
 * deptSplitForTask('yelp_polarity', { train: 560000, test: 38000 }).train.indices.length; // 100000
 */
export function deptSplitForTask(
  officialTaskName: string,
  sizes: SplitSizes,
  opts: Omit<DeptSplitOptions, 'devSource' | 'testSource'> = {},
): SplitPlan {
  const rule = splitRuleFor(officialTaskName);
  const sources = splitSourcesFor(officialTaskName);
  const trainHead = opts.trainHead ?? (officialTaskName === 'yelp_polarity' ? 100000 : undefined);
  return deptSplit(rule, sizes, {
    ...opts,
    ...(trainHead === undefined ? {} : { trainHead }),
    ...(rule === 'small' ? {} : { devSource: sources.devSource }),
    testSource: sources.testSource,
  });
}
