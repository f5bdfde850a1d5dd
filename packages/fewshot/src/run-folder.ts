/**
 * A finished run folder (written by `runCell`: `config.resolved.json`, `results.json`, `bank/`) read back for
 * using its bank: what decides its evaluation (task, data, prefix, metric flavour, predict mode, s, padding,
 * batching, decoding length), so that evaluating its selected bank again gives exactly its recorded metrics.
 */
import { basename, dirname, join } from 'node:path';
import { DeptError, isDir, isFile, readJsonFile } from '@dept/core';
import { LAYOUT_PRIORITY, type LayoutName } from '@dept/tasks';
import { DEFAULT_TRAIN_CONFIG, type PredictionMode, type TrainResults } from '@dept/train';

/** The settings of a run folder that decide how its bank is evaluated. */
export interface RunSettings {
  /** The run folder. */
  dir: string;
  /** The bank folder of the run (`<dir>/bank`). */
  bankDir: string;
  task: string;
  /** The model folder it trained with, as recorded. */
  model: string | null;
  /** The data directory, as recorded (null: the default). */
  dataDir: string | null;
  /** The layout and LM-BFF `<k>-<seed>` folder it read (`data` of the record; null for runs made before it was recorded). */
  layout: LayoutName | null;
  subset: string | null;
  /** Its `max_eval_examples` (null: all rows). */
  maxEvalExamples: number | null;
  addPrefix: boolean;
  flavour: 'dept' | 'official';
  predict: PredictionMode;
  /** s: inputs truncated to it. */
  maxLength: number;
  padToMaxLength: boolean;
  /** The last session's `eval_batch_size` (the test evaluation ran with it). */
  evalBatchSize: number;
  maxNewTokens: number;
  /** `results.json` of the finished run, or null when it has none. */
  results: TrainResults | null;
}

/** The file that marks a run folder. */
export const RUN_CONFIG_FILE = 'config.resolved.json';

/**
 * The run folder a bank reference points into: the run folder itself, or its `bank/`; null for anything else.
 *
 * @example
 * runFolderOf('runs/cb/k16/seed13');      // 'runs/cb/k16/seed13'
 * runFolderOf('runs/cb/k16/seed13/bank'); // 'runs/cb/k16/seed13'
 * runFolderOf('../shared/banks/dept-sst2'); // null
 */
export function runFolderOf(ref: string): string | null {
  if (isDir(ref) && isFile(join(ref, RUN_CONFIG_FILE))) return ref;
  if (basename(ref) === 'bank' && isFile(join(dirname(ref), RUN_CONFIG_FILE))) return dirname(ref);
  return null;
}

function obj(v: unknown): Record<string, unknown> | null {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
}

/**
 * Reads a run folder's settings. Throws, naming the file and field, when `config.resolved.json` lacks what the
 * evaluation needs, or when the run has no bank yet (unfinished).
 *
 * @example
 * const run = readRunSettings('runs/cb/k16/seed13');
 * run.predict;     // 'generate'
 * run.results?.test; // { f1_multiclass: …, accuracy: … }
 */
export function readRunSettings(dir: string): RunSettings {
  const path = join(dir, RUN_CONFIG_FILE);
  const raw = obj(readJsonFile<unknown>(path, 'a run config'));
  if (raw === null) throw new DeptError(`${path}: must be a JSON object`);
  const train = obj(raw.train);
  if (train === null) throw new DeptError(`${path}: field "train" is missing or not an object (not a run folder written by dept train or dept fewshot?)`);
  const field = <T>(value: unknown, name: string, kind: 'string' | 'number' | 'boolean', fallback?: T): T => {
    if (value === undefined && fallback !== undefined) return fallback;
    if (typeof value !== kind) throw new DeptError(`${path}: field "${name}" must be a ${kind}, got ${JSON.stringify(value ?? null)}`);
    return value as T;
  };
  const data = obj(obj(raw.recipe)?.data);
  const origin = obj(raw.data);
  const layout = origin?.layout === undefined ? null : field<string>(origin.layout, 'data.layout', 'string');
  if (layout !== null && !(LAYOUT_PRIORITY as readonly string[]).includes(layout)) throw new DeptError(`${path}: field "data.layout" is "${layout}", expected one of ${LAYOUT_PRIORITY.join(', ')}`);
  const flavour = field<string>(raw.flavour ?? data?.flavour, 'flavour', 'string', 'dept');
  if (flavour !== 'dept' && flavour !== 'official') throw new DeptError(`${path}: field "flavour" is "${flavour}", expected dept or official`);
  const predict = field<string>(train.predict, 'train.predict', 'string', DEFAULT_TRAIN_CONFIG.predict);
  if (predict !== 'generate' && predict !== 'score') throw new DeptError(`${path}: field "train.predict" is "${predict}", expected generate or score`);
  const bankDir = join(dir, 'bank');
  if (!isDir(bankDir)) {
    throw new DeptError(`${dir}: a run folder without bank/ (the run has not finished: ${isFile(join(dir, 'results.json')) ? 'bank/ is missing' : 'no results.json'}); finish it with dept train --resume, or give a bank folder`);
  }
  const resultsPath = join(dir, 'results.json');
  return {
    dir,
    bankDir,
    task: field<string>(raw.task, 'task', 'string'),
    model: raw.model === undefined || raw.model === null ? null : field<string>(raw.model, 'model', 'string'),
    dataDir: raw.data_dir === undefined || raw.data_dir === null ? null : field<string>(raw.data_dir, 'data_dir', 'string'),
    layout: layout as LayoutName | null,
    subset: origin?.subset === undefined || origin.subset === null ? null : field<string>(origin.subset, 'data.subset', 'string'),
    maxEvalExamples: raw.max_eval_examples === undefined ? null : field<number>(raw.max_eval_examples, 'max_eval_examples', 'number'),
    addPrefix: field<boolean>(raw.add_prefix ?? data?.add_prefix, 'add_prefix', 'boolean', false),
    flavour,
    predict,
    maxLength: field<number>(train.max_length, 'train.max_length', 'number'),
    padToMaxLength: field<boolean>(train.pad_to_max_length, 'train.pad_to_max_length', 'boolean', false),
    evalBatchSize: field<number>(train.eval_batch_size, 'train.eval_batch_size', 'number', DEFAULT_TRAIN_CONFIG.eval_batch_size),
    maxNewTokens: field<number>(train.max_new_tokens, 'train.max_new_tokens', 'number', DEFAULT_TRAIN_CONFIG.max_new_tokens),
    results: isFile(resultsPath) ? readJsonFile<TrainResults>(resultsPath, 'the run results') : null,
  };
}
