/**
 * From files to examples: read a task's splits into arquero tables (one row per Hugging Face row), cut them with
 * DePT's split rule, take a k-shot sample of the train part, and format rows with DePT's templates.
 */
import * as aq from 'arquero';
import type { ColumnTable } from 'arquero';
import { DeptError, Rng } from '@dept/core';
import { balancedKshot, deptKshot, deptSplit, deptSplitForTask, kshotShortfall, splitRuleFor, splitSourcesFor, stsbClass, type SplitPart, type SplitPlan, type SplitSizes, type SplitSource } from './algorithms.ts';
import { displayFolder, findTaskData, matchFolder, resolveDataDir, type LayoutMatch } from './layout.ts';
import { readGlueTsv, readMrpcMsr } from './readers/glue.ts';
import { readHfJsonl, readHfParquet } from './readers/hf.ts';
import { readPretrainJson } from './readers/pretrain.ts';
import { concatResults, emptyResult, type ReadResult } from './readers/rows.ts';
import { readSciTail } from './readers/scitail.ts';
import { readSuperGlueJsonl } from './readers/superglue.ts';
import { getTask, labelsList, type TaskSpec } from './registry.ts';
import { formatRow, type FormatOptions } from './templates.ts';
import { LAYOUT_PRIORITY, SOURCE_SPLITS, type Example, type LayoutName, type SourceSplit, type TaskRow } from './types.ts';

/** Where to find a task's data. */
export interface LoadOptions {
  /** The data directory (default `$DEPT_DATA`, else `datasets/`). May also be a task folder itself. */
  dataDir?: string;
  /** Use this layout when several folders hold the task (default: the first by {@link LAYOUT_PRIORITY}). */
  layout?: LayoutName;
  /** LM-BFF k-shot layout: the `<k>-<seed>` folder (default: the seed's, else the first). */
  subset?: string;
  /**
   * The run's seed: in an LM-BFF k-shot folder without `subset`, its own `<k>-<seed>` folder is used (an error when
   * the folder has none for this seed).
   */
  seed?: number;
  /** Skip folders whose files lack the splits DePT's split rule reads (default false). */
  requireSplittable?: boolean;
}

/** Where a task's rows came from, as run folders and results files record it (the data directory is recorded beside it). */
export interface DataOrigin {
  /** The folder relative to the data directory, with the LM-BFF `<k>-<seed>` folder when there is one: `glue-kshot/SST-2/16-21`. */
  folder: string;
  layout: LayoutName;
  /** LM-BFF k-shot layout: the `<k>-<seed>` folder; else null. */
  subset: string | null;
}

/** The folder a task was read from, and why that one. */
export interface DataChoice extends DataOrigin {
  /** The data directory searched (`dataDir`, else `$DEPT_DATA`, else `datasets`). */
  data_dir: string;
  /**
   * `only`: the one folder holding the task; `asked`: the layout was asked for; `priority`: the first of several by
   * {@link LAYOUT_PRIORITY}; `splittable`: the first by priority whose files DePT's split can use.
   */
  reason: 'only' | 'asked' | 'priority' | 'splittable';
  /** Every folder holding the task (in the asked layout, when one was), best first. */
  candidates: { folder: string; layout: LayoutName }[];
}

/** A task's rows, one arquero table per source split. */
export interface TaskData {
  task: TaskSpec;
  /** The folder and layout the rows come from. */
  match: LayoutMatch;
  /** The same, relative to the data directory, and why that folder (see {@link dataChoiceNote}). */
  choice: DataChoice;
  /** Columns are the Hugging Face ones (`sentence1`, `sentence2`, `idx`, `label` for RTE). */
  tables: Partial<Record<SourceSplit, ColumnTable>>;
  /** `file:line` of each row, per split. */
  origins: Partial<Record<SourceSplit, string[]>>;
}

/**
 * Reads the rows of one split of a folder.
 *
 * @example
 * const [match] = await findTaskData('rte', 'datasets');
 * const { rows } = await readSplitRows(getTask('rte'), match, 'validation');
 */
export async function readSplitRows(task: TaskSpec, match: LayoutMatch, split: SourceSplit): Promise<ReadResult> {
  const files = match.files[split];
  if (!files || files.length === 0) throw new DeptError(`${match.folder}: no ${split} split for ${task.name} (${match.layout} layout)`);
  if (match.layout === 'mrpc-msr') return readMrpcMsr(match.folder, task, split);
  let out = emptyResult();
  for (const file of files) {
    let part: ReadResult;
    switch (match.layout) {
      case 'glue-tsv':
      case 'lmbff-kshot':
        part = readGlueTsv(file, task, split);
        break;
      case 'superglue-jsonl':
        part = readSuperGlueJsonl(file, task, split);
        break;
      case 'scitail-original':
        part = readSciTail(file, task);
        break;
      case 'hf-parquet':
        part = await readHfParquet(file, task, split);
        break;
      case 'hf-jsonl':
        part = readHfJsonl(file, task, split);
        break;
      case 'pretrain-json':
        part = readPretrainJson(file, task);
        break;
    }
    out = concatResults(out, part);
  }
  return out;
}

/**
 * Rows as an arquero table with the task's columns (so an empty split still has them).
 *
 * @example
 * rowsToTable(getTask('rte'), [{ sentence1: 'a', sentence2: 'b', idx: 0, label: 1 }]).numRows(); // 1
 */
export function rowsToTable(task: TaskSpec, rows: readonly TaskRow[]): ColumnTable {
  const cols: Record<string, unknown[]> = {};
  for (const c of task.columns) cols[c] = rows.map((r) => r[c] ?? null);
  return aq.table(cols);
}

/**
 * The rows of a table as plain objects.
 *
 * @example
 * tableRows(data.tables.train!)[0].sentence1;
 */
export function tableRows(table: ColumnTable): TaskRow[] {
  return table.objects() as TaskRow[];
}

/**
 * The source splits DePT's split rule reads for this task in this layout (LM-BFF k-shot folders are used as they
 * are: train, and dev as validation).
 *
 * @example
 * neededSources(getTask('rte'), 'glue-tsv');  // ['train', 'validation']
 * neededSources(getTask('qqp'), 'glue-tsv');  // ['train', 'validation']
 * neededSources(getTask('mnli'), 'glue-tsv'); // ['train', 'validation_mismatched', 'validation_matched']
 */
export function neededSources(task: TaskSpec, layout: LayoutName): SourceSplit[] {
  if (layout === 'lmbff-kshot') return ['train', 'validation'];
  const rule = splitRuleFor(task.name);
  const { devSource, testSource } = splitSourcesFor(task.name);
  if (rule === 'small') return ['train', 'validation'];
  if (rule === 'large') return ['train', testSource];
  return [...new Set<SourceSplit>(['train', devSource, testSource])];
}

/**
 * Finds and reads a task: every split of the best folder (see {@link findTaskData}) into arquero tables.
 *
 * @example
 * const data = await loadTaskData('super_glue/cb', { dataDir: 'datasets' });
 * data.match.layout;                // 'superglue-jsonl'
 * data.tables.validation!.numRows(); // 30
 */
export async function loadTaskData(taskName: string, opts: LoadOptions = {}): Promise<TaskData> {
  const task = getTask(taskName);
  const dataDir = resolveDataDir(opts.dataDir);
  let found = await findTaskData(task.name, dataDir, { ...(opts.subset === undefined ? {} : { subset: opts.subset }), ...(opts.seed === undefined ? {} : { seed: opts.seed }) });
  if (opts.layout) found = found.filter((m) => m.layout === opts.layout);
  if (found.length === 0) {
    throw new DeptError(
      `no data for ${task.name} under ${dataDir}${opts.layout ? ` in the ${opts.layout} layout` : ''} (looked for folders ${task.folders.join(', ')}; see datasets/README.md)`,
    );
  }
  let match = found[0] as LayoutMatch;
  if (opts.requireSplittable) {
    const ok = found.find((m) => neededSources(task, m.layout).every((s) => (m.files[s]?.length ?? 0) > 0));
    if (!ok) {
      const need = neededSources(task, match.layout).join(' and ');
      throw new DeptError(
        `${task.name}: no folder under ${dataDir} has the splits DePT's split reads (${need}); found ${found.map((m) => `${displayFolder(m.folder, dataDir)} (${m.layout}: ${Object.keys(m.files).join(', ')})`).join('; ')}`,
      );
    }
    match = ok;
  }
  if (match.layout === 'lmbff-kshot' && opts.seed !== undefined && match.subsetReason === 'first') {
    const seeds = (match.subsets ?? []).map((x) => x.split('-')[1]);
    throw new DeptError(`${displayFolder(match.folder, dataDir)}: no LM-BFF k-shot folder for seed ${opts.seed} (found ${(match.subsets ?? []).join(', ')}); use a seed among ${[...new Set(seeds)].join(', ')}, or choose the folder with --subset (data.subset)`);
  }
  const choice: DataChoice = {
    data_dir: dataDir,
    folder: matchFolder(match, dataDir),
    layout: match.layout,
    subset: match.subset ?? null,
    reason: opts.layout ? 'asked' : found.length === 1 ? 'only' : match === found[0] ? 'priority' : 'splittable',
    candidates: found.map((m) => ({ folder: matchFolder(m, dataDir), layout: m.layout })),
  };
  const tables: Partial<Record<SourceSplit, ColumnTable>> = {};
  const origins: Partial<Record<SourceSplit, string[]>> = {};
  for (const split of SOURCE_SPLITS) {
    if (!match.files[split]) continue;
    const { rows, origins: o } = await readSplitRows(task, match, split);
    tables[split] = rowsToTable(task, rows);
    origins[split] = o;
  }
  return { task, match, choice, tables, origins };
}

/**
 * The one line that says which folder was read when several hold the task and no layout was asked for, and why;
 * null otherwise.
 *
 * @example
 * dataChoiceNote('sst2', (await loadTaskData('sst2', { dataDir: '../shared/data' })).choice);
 * // 'sst2: 3 folders hold it; using glue-pretrain/SST-2 (glue-tsv), the first by layout priority (glue-tsv, pretrain-json,
 * //  lmbff-kshot); also glue-pretrain/SST-2 (pretrain-json), glue-kshot/SST-2/16-13 (lmbff-kshot); choose with --layout, --subset'
 */
export function dataChoiceNote(task: string, choice: DataChoice): string | null {
  if (choice.reason === 'only' || choice.reason === 'asked') return null;
  const present = LAYOUT_PRIORITY.filter((l) => choice.candidates.some((c) => c.layout === l));
  const why = choice.reason === 'priority'
    ? `the first by layout priority (${present.join(', ')})`
    : `the first by layout priority (${present.join(', ')}) whose files DePT's split can use`;
  const others = choice.candidates.filter((c) => c.folder !== choice.folder || c.layout !== choice.layout).map((c) => `${c.folder} (${c.layout})`);
  return `${task}: ${choice.candidates.length} folders hold it; using ${choice.folder} (${choice.layout}), ${why}; also ${others.join(', ')}; choose with --layout, --subset (data.layout, data.subset)`;
}

/**
 * `limit` examples of `examples` chosen by a seeded draw, kept in their original order (all of them when `limit` is
 * absent or not smaller).
 *
 * @example
 * subsample(['a', 'b', 'c', 'd'], 2, 7); // two of the four, in input order
 */
export function subsample<T>(examples: readonly T[], limit: number | undefined, seed: number): T[] {
  if (limit === undefined || limit >= examples.length) return [...examples];
  if (!Number.isInteger(limit) || limit < 0) throw new DeptError(`example limit is ${limit}, expected a non-negative integer`);
  const rng = new Rng(seed);
  const idx = examples.map((_, i) => i);
  for (let i = 0; i < limit; i++) {
    const j = i + rng.int(idx.length - i);
    [idx[i], idx[j]] = [idx[j] as number, idx[i] as number];
  }
  return idx.slice(0, limit).sort((a, b) => a - b).map((i) => examples[i] as T);
}

/**
 * DePT's split of the loaded data: which rows of which source split form train, dev and test, in the order the
 * official code yields them (seed 42). An LM-BFF k-shot folder is a ready-made split and is used as is
 * (train = train.tsv, dev = dev.tsv, test = test.tsv, empty when the folder has none).
 *
 * @example
 * const plan = splitTaskData(await loadTaskData('rte', { dataDir: '../shared/data/glue-pretrain' }));
 * plan.dev;  // { source: 'validation', indices: [first 124 of randperm(249, 42)] }
 * plan.test; // { source: 'validation', indices: [the other 125] }
 */
export function splitTaskData(data: TaskData): SplitPlan {
  const { task, match, tables } = data;
  const size = (s: SourceSplit): number | undefined => tables[s]?.numRows();
  for (const s of neededSources(task, match.layout)) {
    if (size(s) === undefined) {
      throw new DeptError(
        `${match.folder}: ${task.name} has no ${s} split in this ${match.layout} folder, and DePT's split reads ${neededSources(task, match.layout).join(' and ')}`,
      );
    }
  }
  const sizes: SplitSizes = { train: size('train') as number };
  for (const s of ['validation', 'validation_matched', 'validation_mismatched', 'test'] as const) {
    const n = size(s);
    if (n !== undefined) sizes[s] = n;
  }
  if (match.layout === 'lmbff-kshot') {
    return deptSplit('as-is', { ...sizes, test: sizes.test ?? 0 }, { devSource: 'validation', testSource: 'test' });
  }
  return deptSplitForTask(task.name, sizes);
}

/** Which part of a split a row belongs to (for messages). */
export type PartName = 'train' | 'dev' | 'test';

/** The rows of one part left out because they are labelled -1, and the files they are in. */
export interface UnlabelledRows {
  part: PartName;
  /** How many rows of the part are labelled -1. */
  count: number;
  /** The part's rows before they were left out. */
  of: number;
  /** The files holding them, in order of first appearance. */
  files: string[];
}

/**
 * A part without its rows labelled -1 (unlabelled, as Hugging Face marks test rows: a class id of -1, an STS-B
 * score of -1): such a row can be neither trained on nor scored. Row numbers keep their place in DePT's split.
 * ReCoRD rows have no label and are all kept.
 *
 * @example
 * const { part, unlabelled } = labelledPart(data, plan.test, 'test');
 * unlabelled?.count; // e.g. 3 rows of dev.tsv labelled -1
 */
export function labelledPart(data: TaskData, part: SplitPart, name: PartName): { part: SplitPart; unlabelled: UnlabelledRows | null } {
  if (data.task.labelKind === 'answers' || part.indices.length === 0) return { part, unlabelled: null };
  const table = data.tables[part.source as SourceSplit];
  if (!table) return { part, unlabelled: null };
  const labels = table.array('label') as ArrayLike<unknown>;
  const origins = data.origins[part.source as SourceSplit] ?? [];
  const kept: number[] = [];
  const files: string[] = [];
  let count = 0;
  for (const i of part.indices) {
    if (labels[i] !== -1) {
      kept.push(i);
      continue;
    }
    count++;
    const file = (origins[i] ?? data.match.folder).replace(/(:\d+|#\d+)$/, '');
    if (!files.includes(file)) files.push(file);
  }
  return count === 0 ? { part, unlabelled: null } : { part: { source: part.source, indices: kept }, unlabelled: { part: name, count, of: part.indices.length, files } };
}

/**
 * The one-line note that says which rows were left out (`dept` prints it before training).
 *
 * @example
 * unlabelledNote({ part: 'test', count: 2, of: 125, files: ['RTE/dev.tsv'] });
 * // 'RTE/dev.tsv: 2 of the 125 rows of the test part are labelled -1 (unlabelled); they are left out, not scored'
 */
export function unlabelledNote(u: UnlabelledRows): string {
  return `${u.files.join(', ')}: ${u.count} of the ${u.of} rows of the ${u.part} part ${u.count === 1 ? 'is' : 'are'} labelled -1 (unlabelled); ${u.count === 1 ? 'it is' : 'they are'} left out, ${u.part === 'train' ? 'not trained on' : 'not scored'}`;
}

/**
 * Formats rows `indices` of a source split as DePT examples (ReCoRD: one per gold answer).
 *
 * @example
 * const plan = splitTaskData(data);
 * const dev = formatExamples(data, plan.dev);
 * dev[0]; // { task: 'rte', source: 'sentence1: … sentence2: …', target: '1', label: 1, split: 'validation', row: 162 }
 */
export function formatExamples(data: TaskData, part: { source: SplitSource | SourceSplit; indices: readonly number[] }, opts: FormatOptions = {}): Example[] {
  const table = data.tables[part.source as SourceSplit];
  if (part.indices.length === 0) return [];
  if (!table) throw new DeptError(`${data.match.folder}: no ${part.source} split for ${data.task.name}`);
  const rows = tableRows(table);
  const out: Example[] = [];
  for (const i of part.indices) {
    const row = rows[i];
    if (row === undefined) throw new DeptError(`${data.task.name}: row ${i} is out of range for ${part.source} (${rows.length} rows)`);
    for (const st of formatRow(data.task, row, opts)) {
      const ex: Example = { task: data.task.name, source: st.source, target: st.target, split: part.source as SourceSplit, row: i };
      if (typeof row.label === 'number') ex.label = row.label;
      const idx = row.idx;
      if (data.task.name === 'superglue-multirc' && idx !== null && typeof idx === 'object' && !Array.isArray(idx)) {
        const q = (idx as Record<string, unknown>).question;
        if (typeof q === 'number') ex.group = q;
      }
      if (Array.isArray(row.answers)) ex.answers = row.answers.map(String);
      out.push(ex);
    }
  }
  return out;
}

/** Which k-shot sampler: DePT's own (`train.py:530-546`) or a plain class-balanced one. */
export type KshotSampler = 'dept' | 'balanced';

/** Options of {@link kshotSample}. */
export interface KshotSampleOptions {
  k: number;
  /** The training seed: DePT shuffles with `np.random.default_rng(seed)`; `balanced` seeds an `Rng`. */
  seed: number;
  sampler?: KshotSampler;
}

/** A k-shot sample of the train part. */
export interface KshotSample {
  /** Row numbers in the train source split's file, in selection order. */
  indices: number[];
  /** Rows per class (target string; for STS-B the binarised "0"/"1"). */
  classCounts: Record<string, number>;
  /** The source split the indices point into (always the train part's source: `train`). */
  source: SplitSource;
  sampler: KshotSampler;
  /** `dept` sampler: how many shuffled rows it looked at (labelled rows only). */
  examined?: number;
  /** The train part's rows labelled -1, left out before sampling (absent when there are none). */
  unlabelled?: UnlabelledRows;
  /** `dept` sampler: why it took fewer than k rows (see {@link kshotShortfall}); absent when it took k. */
  shortfall?: string;
}

/**
 * Takes k examples from the train part of a DePT split, with DePT's sampler (default) or a balanced one. The
 * classes are DePT's `num_labels_mapping` entry; tasks DePT has none for (WNLI, COPA, SNLI) balance over their
 * label ids, and ReCoRD cannot be sampled by class.
 *
 * @example
 * const data = await loadTaskData('superglue-cb', { dataDir: 'datasets' });
 * const sample = kshotSample(data, splitTaskData(data), { k: 4, seed: 42 });
 * sample.indices.length; // 4
 */
export function kshotSample(data: TaskData, plan: SplitPlan, opts: KshotSampleOptions): KshotSample {
  const { task } = data;
  if (task.labelKind === 'answers') throw new DeptError(`${task.name} has no classes to sample k-shot examples by`);
  const sampler = opts.sampler ?? 'dept';
  // Rows labelled -1 are not training data: the sample is drawn from the labelled rows of the train part.
  const { part: train, unlabelled } = labelledPart(data, plan.train, 'train');
  const targets = formatExamples(data, train).map((e) => e.target);
  const classes = task.deptKshotClasses ?? labelsList(task);
  const kopts = { classes, stsb: task.labelKind === 'score' };
  const toRows = (positions: readonly number[]): number[] => positions.map((p) => train.indices[p] as number);
  const dropped = unlabelled ? { unlabelled } : {};
  if (sampler === 'dept') {
    const sel = deptKshot(targets, opts.k, opts.seed, kopts);
    const available: Record<string, number> = Object.fromEntries(classes.map((c) => [c, 0]));
    for (const t of targets) {
      const c = kopts.stsb ? stsbClass(t) : t;
      if (c in available) available[c] = (available[c] as number) + 1;
    }
    const shortfall = kshotShortfall(opts.k, sel.classCounts, available);
    return { indices: toRows(sel.indices), classCounts: sel.classCounts, source: plan.train.source, sampler, examined: sel.examined, ...dropped, ...(shortfall ? { shortfall } : {}) };
  }
  if (sampler === 'balanced') {
    const sel = balancedKshot(targets, opts.k, new Rng(opts.seed), kopts);
    return { indices: toRows(sel.indices), classCounts: sel.classCounts, source: plan.train.source, sampler, ...dropped };
  }
  throw new DeptError(`unknown k-shot sampler "${String(sampler)}"; expected dept or balanced`);
}

/** Options of {@link loadDeptDataset}. */
export interface DeptDatasetOptions extends LoadOptions, FormatOptions {
  /** Take a k-shot sample of the train part (DePT's `--k_shot_example`). */
  k?: number;
  /** The training seed for the k-shot sample (default 42). */
  seed?: number;
  sampler?: KshotSampler;
}

/** A task ready for training: examples of train, dev and test, and where they came from. */
export interface DeptDataset {
  task: TaskSpec;
  data: TaskData;
  plan: SplitPlan;
  /** Present when `k` was given; `train` then holds only these rows. */
  kshot?: KshotSample;
  /** Labelled rows only: rows labelled -1 are left out of every part (see {@link labelledPart}). */
  train: Example[];
  dev: Example[];
  test: Example[];
  /** The parts that had rows labelled -1, and how many. */
  unlabelled: UnlabelledRows[];
  /** For the user: which folder was read when several hold the task ({@link dataChoiceNote}), then one line per part with rows labelled -1, naming the files and the count. */
  notes: string[];
  /** For the user, as warnings: a k-shot sample of fewer than k rows, and why. */
  warnings: string[];
}

/**
 * Everything in one call: find and read the task, split it as DePT does, optionally take k shots, format.
 *
 * @example
 * const ds = await loadDeptDataset('rte', { dataDir: 'datasets', k: 16, seed: 13 });
 * ds.train.length; // 16
 * ds.dev[0].source.startsWith('sentence1: '); // true
 */
export async function loadDeptDataset(taskName: string, opts: DeptDatasetOptions = {}): Promise<DeptDataset> {
  const data = await loadTaskData(taskName, { ...opts, requireSplittable: opts.requireSplittable ?? true });
  const plan = splitTaskData(data);
  const fmt: FormatOptions = {};
  if (opts.addPrefix !== undefined) fmt.addPrefix = opts.addPrefix;
  if (opts.prefix !== undefined) fmt.prefix = opts.prefix;
  const parts = { train: labelledPart(data, plan.train, 'train'), dev: labelledPart(data, plan.dev, 'dev'), test: labelledPart(data, plan.test, 'test') };
  let trainPart = parts.train.part;
  let kshot: KshotSample | undefined;
  if (opts.k !== undefined) {
    kshot = kshotSample(data, plan, { k: opts.k, seed: opts.seed ?? 42, sampler: opts.sampler ?? 'dept' });
    trainPart = { source: plan.train.source, indices: kshot.indices };
  }
  const unlabelled = [parts.train.unlabelled, parts.dev.unlabelled, parts.test.unlabelled].filter((u): u is UnlabelledRows => u !== null);
  const out: DeptDataset = {
    task: data.task,
    data,
    plan,
    train: formatExamples(data, trainPart, fmt),
    dev: formatExamples(data, parts.dev.part, fmt),
    test: formatExamples(data, parts.test.part, fmt),
    unlabelled,
    notes: [dataChoiceNote(data.task.name, data.choice), ...unlabelled.map(unlabelledNote)].filter((n): n is string => n !== null),
    warnings: kshot?.shortfall ? [`DePT's k-shot sampler returned ${kshot.indices.length} rows, not ${opts.k}: ${kshot.shortfall}`] : [],
  };
  if (kshot) out.kshot = kshot;
  return out;
}
