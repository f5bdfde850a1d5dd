/**
 * Source tasks of a pretraining mixture: which names are allowed, finding and reading their data, DePT's split
 * (or, when a folder lacks the splits DePT's rule reads, DePT's small-dataset rule on the split it has: e.g. the
 * `glue_pretrain` MNLI copy has one validation file, not matched/mismatched), and a seeded subsample per task.
 */
import { DeptError } from '@dept/core';
import {
  deptSplit, findTaskData, formatExamples, getTask, isTaskName, labelledPart, loadTaskData, neededSources, resolveDataDir, splitTaskData, subsample, suggestTasks, unlabelledNote,
  type Example, type SourceSplit, type SplitPlan, type SplitSizes,
} from '@dept/tasks';
import { derivedSeed } from '@dept/train';

/**
 * Source tasks of the paper's practice (ATTEMPT/MPT: MNLI, QNLI, QQP, SST-2, SQuAD, ReCoRD) that this project
 * has no reader for, with the reason; with `missingData: 'skip'` they are skipped, otherwise they are errors.
 */
export const SOURCES_WITHOUT_READER: Readonly<Record<string, string>> = Object.freeze({
  squad: 'SQuAD (MRQA) has no reader or template in @dept/tasks',
});

/** The six source tasks of ATTEMPT/MPT that DePT is recalled to follow (DEPT.md §2.1, unverified [M]). */
export const PAPER_SOURCES: readonly string[] = Object.freeze(['mnli', 'qqp', 'qnli', 'sst2', 'squad', 'superglue-record']);

/** Example limits of each part of a task (a seeded subsample; absent = all). */
export interface ExampleLimits {
  train?: number;
  dev?: number;
  test?: number;
}

/** Limits for every source task, with per-task exceptions (`tasks.mnli.train`). */
export interface SourceLimits extends ExampleLimits {
  tasks?: Readonly<Record<string, ExampleLimits>>;
}

/**
 * The limits of one task: the general ones, overridden by its own entry (by DePT name).
 *
 * @example
 * limitsFor({ train: 100, tasks: { mnli: { train: 50 } } }, 'mnli'); // { train: 50 }
 */
export function limitsFor(limits: SourceLimits | undefined, task: string): ExampleLimits {
  if (!limits) return {};
  const { tasks, ...general } = limits;
  let own: ExampleLimits | undefined;
  for (const [name, l] of Object.entries(tasks ?? {})) if (getTask(name).name === task) own = l;
  return { ...general, ...(own ?? {}) };
}

/** One source task, ready to mix. */
export interface SourceTask {
  /** DePT's task name. */
  task: string;
  folder: string;
  layout: string;
  /** How train/dev/test were cut: `dept` (DePT's rule) or a sentence saying which fallback was used. */
  split: string;
  /** Training examples before the limit. */
  availableTrain: number;
  /** Notes for the user: the parts whose rows labelled -1 were left out, with the files and counts. */
  notes: string[];
  train: Example[];
  dev: Example[];
  test: Example[];
}

/**
 * The DePT name of a source task, or null for a known source without a reader (`squad`). Unknown names are errors.
 *
 * @example
 * sourceTaskName('glue/mnli'); // 'mnli'
 * sourceTaskName('squad');     // null
 */
export function sourceTaskName(name: string, where = 'sources'): string | null {
  const key = name.trim().toLowerCase();
  if (key in SOURCES_WITHOUT_READER) return null;
  if (!isTaskName(key)) {
    const close = suggestTasks(name);
    throw new DeptError(`${where}: unknown task "${name}"; expected a task name of \`dept data list\` (the paper's sources: ${PAPER_SOURCES.join(', ')})${close.length ? `; did you mean ${close.join(' or ')}?` : ''}`);
  }
  return getTask(key).name;
}

/** Options of {@link loadSourceTask}. */
export interface LoadSourceOptions {
  dataDir?: string;
  addPrefix?: boolean;
  limits?: SourceLimits;
  /** Seeds the subsample (with the task name). */
  seed: number;
}

/**
 * Whether `name` has data under the data folder (no reading beyond the folder listing).
 *
 * @example
 * await hasSourceData('qnli', '../shared/data/glue-pretrain'); // true
 */
export async function hasSourceData(name: string, dataDir?: string): Promise<boolean> {
  return (await findTaskData(getTask(name).name, resolveDataDir(dataDir))).length > 0;
}

const DEV_FALLBACK_SOURCES: readonly SourceSplit[] = ['validation', 'validation_matched', 'validation_mismatched', 'test'];

/**
 * Reads one source task: DePT's split when the folder has the splits its rule reads, otherwise DePT's small rule
 * (train as is; dev and test = the two halves of a seed-42 permutation of the validation file). Unlabelled
 * training rows are dropped; limits take a seeded subsample of each part.
 *
 * @example
 * const qnli = await loadSourceTask('qnli', { dataDir: '../shared/data/glue-pretrain', seed: 42, limits: { train: 64 } });
 * qnli.train.length; // 64
 */
export async function loadSourceTask(name: string, opts: LoadSourceOptions): Promise<SourceTask> {
  const task = getTask(name);
  const dataDir = resolveDataDir(opts.dataDir);
  const found = await findTaskData(task.name, dataDir);
  if (found.length === 0) {
    throw new DeptError(`sources: no data for ${task.name} under ${dataDir} (looked for folders ${task.folders.join(', ')})`);
  }
  const splittable = found.some((m) => neededSources(task, m.layout).every((s) => (m.files[s]?.length ?? 0) > 0));
  const data = await loadTaskData(task.name, { dataDir, requireSplittable: splittable });
  let plan: SplitPlan;
  let split = 'dept';
  if (splittable) {
    plan = splitTaskData(data);
  } else {
    const devSource = DEV_FALLBACK_SOURCES.find((s) => data.tables[s] !== undefined);
    if (devSource === undefined) {
      throw new DeptError(`${data.match.folder}: ${task.name} has only ${Object.keys(data.tables).join(', ')}; a source task needs a validation split for dev`);
    }
    const sizes: SplitSizes = { train: data.tables.train?.numRows() ?? 0 };
    for (const s of DEV_FALLBACK_SOURCES) {
      const n = data.tables[s]?.numRows();
      if (n !== undefined) sizes[s as keyof SplitSizes] = n;
    }
    if (data.tables.train === undefined) throw new DeptError(`${data.match.folder}: ${task.name} has no train split; a source task needs one`);
    plan = deptSplit('small', sizes, { devSource });
    split = `DePT's small rule on ${devSource} (the folder lacks ${neededSources(task, data.match.layout).filter((s) => data.tables[s] === undefined).join(', ')})`;
  }
  const fmt = opts.addPrefix !== undefined ? { addPrefix: opts.addPrefix } : {};
  // Rows labelled -1 can be neither trained on nor scored: each part keeps its labelled rows, with a note.
  const parts = { train: labelledPart(data, plan.train, 'train'), dev: labelledPart(data, plan.dev, 'dev'), test: labelledPart(data, plan.test, 'test') };
  const notes = Object.values(parts).flatMap((p) => (p.unlabelled ? [unlabelledNote(p.unlabelled)] : []));
  const trainAll = formatExamples(data, parts.train.part, fmt).filter((e) => e.target !== '');
  if (trainAll.length === 0) throw new DeptError(`${data.match.folder}: ${task.name} has no labelled training examples`);
  const limits = limitsFor(opts.limits, task.name);
  const dev = formatExamples(data, parts.dev.part, fmt);
  const test = formatExamples(data, parts.test.part, fmt);
  return {
    notes,
    task: task.name,
    folder: data.match.folder,
    layout: data.match.layout,
    split,
    availableTrain: trainAll.length,
    train: subsample(trainAll, limits.train, derivedSeed(opts.seed, 'subsample', task.name, 'train')),
    dev: subsample(dev, limits.dev, derivedSeed(opts.seed, 'subsample', task.name, 'dev')),
    test: subsample(test, limits.test, derivedSeed(opts.seed, 'subsample', task.name, 'test')),
  };
}
