/**
 * Finding a task's data: which folders under the data directory hold it (`RTE`, `rte`, `glue/rte`,
 * `super_glue/cb`, `glue-kshot/RTE` …, matched case-insensitively, directly or one collection folder down) and
 * which file layout each folder uses, detected from its file names (and, where names are ambiguous, the first
 * row). See `datasets/README.md` for the layouts.
 */
import { closeSync, existsSync, readdirSync, readSync, realpathSync } from 'node:fs';
import { basename, join, relative, resolve } from 'node:path';
import { asyncBufferFromFile, parquetMetadataAsync, parquetSchema } from 'hyparquet';
import { DeptError, isDir, openRegularFile } from '@dept/core';
import { GLUE_TSV_COLUMNS } from './readers/glue.ts';
import { getTask, type TaskSpec } from './registry.ts';
import { LAYOUT_PRIORITY, type LayoutName, type SourceSplit } from './types.ts';

/** A folder that holds a task in one layout. */
export interface LayoutMatch {
  layout: LayoutName;
  /** The task folder. */
  folder: string;
  /** The files of each source split (Parquet splits may have several shards, read in name order). */
  files: Partial<Record<SourceSplit, string[]>>;
  /** LM-BFF k-shot layout: every `<k>-<seed>` folder, and the one `files` come from. */
  subsets?: string[];
  subset?: string;
  /**
   * LM-BFF k-shot layout: why `subset` is the one: `asked` (`subset` given), `seed` (the `<k>-<seed>` folder of the
   * seed given), `folder` (the folder is a `<k>-<seed>` folder itself), `first` (the first by k then seed).
   */
  subsetReason?: 'asked' | 'seed' | 'folder' | 'first';
}

/** Options of {@link detectLayouts} and {@link findTaskData}. */
export interface DetectOptions {
  /** LM-BFF k-shot layout: the `<k>-<seed>` folder to use (default: the seed's, else the first by k then seed). */
  subset?: string;
  /** LM-BFF k-shot layout without `subset`: use the `<k>-<seed>` folder of this seed (the first k that has it). */
  seed?: number;
}

const KSHOT_DIR = /^(\d+)-(\d+)$/;

/**
 * True when `path` exists and is not a folder. A FIFO or a device counts, so that the reader refuses it by name
 * ("is a FIFO (named pipe), expected a data file") instead of the layout search passing over it in silence.
 */
function isFileEntry(path: string): boolean {
  return existsSync(path) && !isDir(path);
}

function entries(dir: string): string[] {
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
}

/** The first non-blank line of a file (at most 1 MB read; a FIFO or a device is refused, not read). */
function firstLine(file: string): string {
  const fd = openRegularFile(file, 'a data file');
  const head = Buffer.alloc(1 << 20);
  let got: number;
  try {
    got = readSync(fd, head, 0, head.length, 0);
  } finally {
    closeSync(fd);
  }
  const text = head.subarray(0, got).toString('utf8').replace(/^\uFEFF/, '');
  return text.split(/\r\n|\r|\n/).find((l) => l.trim() !== '') ?? '';
}

function firstJsonObject(file: string): Record<string, unknown> | null {
  try {
    const v = JSON.parse(firstLine(file)) as unknown;
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** True when a `.jsonl` row looks like a Hugging Face export rather than an original SuperGLUE row. */
export function looksLikeHfRow(o: Record<string, unknown> | null): boolean {
  if (o === null) return false;
  if (typeof o.target === 'object' || typeof o.passage === 'object' || 'qas' in o) return false;
  return !(typeof o.label === 'string' || typeof o.label === 'boolean');
}

const GLUE_FILES: Record<string, SourceSplit> = {
  'train.tsv': 'train',
  'dev.tsv': 'validation',
  'test.tsv': 'test',
  'dev_matched.tsv': 'validation_matched',
  'dev_mismatched.tsv': 'validation_mismatched',
  'test_matched.tsv': 'test_matched',
  'test_mismatched.tsv': 'test_mismatched',
};

const KSHOT_FILES: Record<string, SourceSplit> = {
  'train.tsv': 'train',
  'dev.tsv': 'validation',
  'dev_matched.tsv': 'validation',
  'test.tsv': 'test',
  'test_matched.tsv': 'test',
  'test_mismatched.tsv': 'test_mismatched',
};

const HF_SPLIT = /^(train|validation_matched|validation_mismatched|validation|test_matched|test_mismatched|test)(?=[-._]|$)/;

function filesByName(folder: string, names: Record<string, SourceSplit>): Partial<Record<SourceSplit, string[]>> {
  const out: Partial<Record<SourceSplit, string[]>> = {};
  for (const [name, split] of Object.entries(names)) {
    const p = join(folder, name);
    if (isFileEntry(p) && !out[split]) out[split] = [p];
  }
  return out;
}

function kshotSubsets(folder: string): string[] {
  return entries(folder)
    .filter((e) => KSHOT_DIR.test(e) && isFileEntry(join(folder, e, 'train.tsv')))
    .sort((a, b) => {
      const [, ka, sa] = KSHOT_DIR.exec(a) as RegExpExecArray;
      const [, kb, sb] = KSHOT_DIR.exec(b) as RegExpExecArray;
      return Number(ka) - Number(kb) || Number(sa) - Number(sb);
    });
}

/**
 * Every layout found in `folder` (a folder can hold two: `glue-pretrain/CoLA` has both `train.tsv` and
 * `train.json`), in the order of {@link LAYOUT_PRIORITY}.
 *
 * @example
 * detectLayouts('../shared/data/glue-kshot/RTE')[0];
 * // { layout: 'lmbff-kshot', folder: '…/RTE', subsets: ['16-13', '16-21', '16-42', '16-87', '16-100'], subset: '16-13',
 * //   files: { train: ['…/16-13/train.tsv'], validation: ['…/16-13/dev.tsv'], test: ['…/16-13/test.tsv'] } }
 */
export function detectLayouts(folder: string, opts: DetectOptions = {}): LayoutMatch[] {
  if (!isDir(folder)) return [];
  const out: LayoutMatch[] = [];
  const names = entries(folder);
  const has = (n: string): boolean => names.includes(n) && isFileEntry(join(folder, n));

  // LM-BFF k-shot: <k>-<seed>/ folders, or a <k>-<seed> folder itself.
  const own = basename(resolve(folder));
  const subsets = KSHOT_DIR.test(own) && has('train.tsv') ? [own] : kshotSubsets(folder);
  if (subsets.length > 0) {
    const isOwn = subsets.length === 1 && subsets[0] === own;
    const bySeed = opts.seed === undefined ? undefined : subsets.find((x) => Number((KSHOT_DIR.exec(x) as RegExpExecArray)[2]) === opts.seed);
    const subset = opts.subset ?? bySeed ?? (subsets[0] as string);
    if (!subsets.includes(subset)) {
      throw new DeptError(`${folder}: no k-shot folder "${subset}" (found ${subsets.join(', ')})`);
    }
    const subsetReason = opts.subset !== undefined ? 'asked' : isOwn ? 'folder' : bySeed !== undefined ? 'seed' : 'first';
    const dir = isOwn ? folder : join(folder, subset);
    out.push({ layout: 'lmbff-kshot', folder, files: filesByName(dir, KSHOT_FILES), subsets, subset, subsetReason });
  } else if (has('train.tsv') || has('dev.tsv') || has('dev_matched.tsv')) {
    out.push({ layout: 'glue-tsv', folder, files: filesByName(folder, GLUE_FILES) });
  }

  // The original MRPC files.
  if (has('msr_paraphrase_train.txt') || has('msr_paraphrase_test.txt')) {
    const files: Partial<Record<SourceSplit, string[]>> = {};
    if (has('msr_paraphrase_train.txt')) {
      files.train = [join(folder, 'msr_paraphrase_train.txt')];
      if (has('mrpc_dev_ids.tsv')) files.validation = [join(folder, 'msr_paraphrase_train.txt')];
    }
    if (has('msr_paraphrase_test.txt')) files.test = [join(folder, 'msr_paraphrase_test.txt')];
    out.push({ layout: 'mrpc-msr', folder, files });
  }

  // SciTail v1.1: scitail_1.0_<split>.tsv (tsv_format) or .txt (snli_format), here or in a sub-folder.
  for (const [sub, ext] of [['', 'tsv'], ['tsv_format', 'tsv'], ['snli_format', 'txt']] as const) {
    const dir = sub ? join(folder, sub) : folder;
    const files: Partial<Record<SourceSplit, string[]>> = {};
    for (const [part, split] of [['train', 'train'], ['dev', 'validation'], ['test', 'test']] as const) {
      const p = join(dir, `scitail_1.0_${part}.${ext}`);
      if (isFileEntry(p)) files[split] = [p];
    }
    if (Object.keys(files).length > 0) {
      out.push({ layout: 'scitail-original', folder, files });
      break;
    }
  }

  // JSON Lines: original SuperGLUE (val.jsonl, string/boolean labels) or a Hugging Face export (validation.jsonl).
  const jsonl = names.filter((n) => /\.jsonl?$/.test(n) && isFileEntry(join(folder, n)));
  if (jsonl.length > 0) {
    const sgNames: Record<string, SourceSplit> = { 'train.jsonl': 'train', 'val.jsonl': 'validation', 'test.jsonl': 'test', 'dev32.jsonl': 'dev32' };
    const sample = ['train.jsonl', 'val.jsonl', 'validation.jsonl', 'test.jsonl'].find((n) => has(n));
    const sgFirst = has('val.jsonl') || (!has('validation.jsonl') && sample !== undefined && !looksLikeHfRow(firstJsonObject(join(folder, sample))));
    if (sgFirst && (has('train.jsonl') || has('val.jsonl'))) {
      out.push({ layout: 'superglue-jsonl', folder, files: filesByName(folder, sgNames) });
    } else {
      const files: Partial<Record<SourceSplit, string[]>> = {};
      for (const n of jsonl) {
        const m = /^(.*)\.(jsonl|json)$/.exec(n) as RegExpExecArray;
        const split = m[1] as string;
        if (!HF_SPLIT.test(split) || HF_SPLIT.exec(split)?.[0] !== split) continue;
        if (m[2] === 'json' && firstJsonObject(join(folder, n)) === null) continue; // a whole-file JSON, not lines
        (files[split as SourceSplit] ??= []).push(join(folder, n));
      }
      if (Object.keys(files).length > 0) out.push({ layout: 'hf-jsonl', folder, files });
    }
  }

  // Hugging Face Parquet: <split>[-00000-of-00001].parquet, here or under data/, or the hub's converted
  // layout <split>/0000.parquet.
  for (const dir of [folder, join(folder, 'data')]) {
    const files: Partial<Record<SourceSplit, string[]>> = {};
    for (const n of entries(dir)) {
      const m = HF_SPLIT.exec(n);
      if (!m) continue;
      const split = m[1] as SourceSplit;
      if (n.endsWith('.parquet') && isFileEntry(join(dir, n))) (files[split] ??= []).push(join(dir, n));
      else if (n === split && isDir(join(dir, n))) {
        const shards = entries(join(dir, n)).filter((s) => s.endsWith('.parquet') && isFileEntry(join(dir, n, s)));
        if (shards.length > 0) (files[split] ??= []).push(...shards.map((s) => join(dir, n, s)));
      }
    }
    if (Object.keys(files).length > 0) {
      out.push({ layout: 'hf-parquet', folder, files });
      break;
    }
  }

  // PowerfulPromptFT glue_pretrain JSON: train.json / dev.json holding {"0": {"text_a", …}}.
  const pretrain: Partial<Record<SourceSplit, string[]>> = {};
  for (const [n, split] of [['train.json', 'train'], ['dev.json', 'validation'], ['test.json', 'test']] as const) {
    if (has(n) && firstJsonObject(join(folder, n)) === null) pretrain[split] = [join(folder, n)];
  }
  if (Object.keys(pretrain).length > 0) out.push({ layout: 'pretrain-json', folder, files: pretrain });

  return out.sort((a, b) => LAYOUT_PRIORITY.indexOf(a.layout) - LAYOUT_PRIORITY.indexOf(b.layout));
}

/** The columns in the first row of a Hugging Face file (Parquet schema or the first JSON line). */
async function hfColumns(file: string): Promise<string[]> {
  if (file.endsWith('.parquet')) {
    try {
      const meta = await parquetMetadataAsync(await asyncBufferFromFile(file));
      return parquetSchema(meta).children.map((c) => c.element.name);
    } catch {
      return [];
    }
  }
  return Object.keys(firstJsonObject(file) ?? {});
}

/**
 * Whether `task` can be read from a folder in this layout: GLUE layouts hold GLUE tasks (and SNLI), SuperGLUE
 * JSONL holds SuperGLUE tasks, and a Hugging Face export must have the task's text columns (so `glue/rte`'s
 * `sentence1` and `super_glue/rte`'s `premise` tell the two RTEs apart).
 *
 * @example
 * await layoutHoldsTask(detectLayouts('../shared/data/superglue-fewglue/RTE')[0], getTask('rte')); // false
 */
export async function layoutHoldsTask(match: LayoutMatch, task: TaskSpec): Promise<boolean> {
  switch (match.layout) {
    case 'glue-tsv':
    case 'lmbff-kshot':
      return task.name in GLUE_TSV_COLUMNS;
    case 'mrpc-msr':
      return task.name === 'mrpc';
    case 'pretrain-json':
      return task.family === 'glue' || task.family === 'snli';
    case 'superglue-jsonl':
      return task.family === 'super_glue';
    case 'scitail-original':
      return task.name === 'scitail';
    case 'hf-parquet':
    case 'hf-jsonl': {
      const file = Object.values(match.files).flat()[0];
      if (file === undefined) return false;
      const cols = await hfColumns(file);
      return task.textColumns.every((c) => cols.includes(c));
    }
  }
}

/** Resolves `rel` (`glue/rte`) under `base`, matching each path segment case-insensitively. */
function resolveCaseInsensitive(base: string, rel: string): string | null {
  let cur = base;
  for (const seg of rel.split('/')) {
    const names = entries(cur);
    const hit = names.find((n) => n === seg) ?? names.find((n) => n.toLowerCase() === seg.toLowerCase());
    if (hit === undefined) return null;
    cur = join(cur, hit);
  }
  return isDir(cur) ? cur : null;
}

/**
 * The data directory: `--data-dir`, else `$DEPT_DATA`, else `datasets/`.
 *
 * @example
 * resolveDataDir('../shared/data'); // '../shared/data'
 * resolveDataDir();                 // process.env.DEPT_DATA ?? 'datasets'
 */
export function resolveDataDir(dataDir?: string): string {
  return dataDir || process.env.DEPT_DATA || 'datasets';
}

/**
 * Every folder under `dataDir` that holds `task`, with its layout, best first: the data directory itself if it is
 * a task folder, then the task's folder names directly under it or one collection folder down
 * (`glue-kshot/RTE`), ordered by {@link LAYOUT_PRIORITY} and then by path.
 *
 * @example
 * const found = await findTaskData('rte', '../shared/data');
 * found.map((m) => `${m.layout} ${m.folder}`);
 * // ['pretrain-json ../shared/data/glue-pretrain/RTE', 'lmbff-kshot ../shared/data/glue-kshot/RTE']
 */
export async function findTaskData(taskName: string, dataDir?: string, opts: DetectOptions = {}): Promise<LayoutMatch[]> {
  const task = getTask(taskName);
  const root = resolveDataDir(dataDir);
  if (!existsSync(root)) throw new DeptError(`data directory ${root} not found (set --data-dir or DEPT_DATA)`);
  const folders: string[] = [];
  const seen = new Set<string>();
  const add = (p: string | null): void => {
    if (p === null) return;
    const key = realpathSync(p);
    if (seen.has(key)) return;
    seen.add(key);
    folders.push(p);
  };
  add(root);
  for (const alias of task.folders) add(resolveCaseInsensitive(root, alias));
  for (const coll of entries(root)) {
    if (!isDir(join(root, coll))) continue;
    for (const alias of task.folders) add(resolveCaseInsensitive(join(root, coll), alias));
  }
  const found: LayoutMatch[] = [];
  for (const folder of folders) {
    const isRoot = folder === root;
    let layouts: LayoutMatch[];
    try {
      layouts = detectLayouts(folder, opts);
    } catch (error) {
      if (isRoot) continue;
      throw error;
    }
    for (const m of layouts) if (await layoutHoldsTask(m, task)) found.push(m);
  }
  return found.sort((a, b) => LAYOUT_PRIORITY.indexOf(a.layout) - LAYOUT_PRIORITY.indexOf(b.layout) || (a.folder < b.folder ? -1 : a.folder > b.folder ? 1 : 0));
}

/**
 * `folder` relative to `dataDir`, for display.
 *
 * @example
 * displayFolder('../shared/data/glue-kshot/RTE', '../shared/data'); // 'glue-kshot/RTE'
 */
export function displayFolder(folder: string, dataDir: string): string {
  const rel = relative(resolve(dataDir), resolve(folder));
  return rel === '' ? '.' : rel;
}

/**
 * A match's folder relative to `dataDir`, with its LM-BFF `<k>-<seed>` folder when it has one.
 *
 * @example
 * matchFolder({ layout: 'lmbff-kshot', folder: '../shared/data/glue-kshot/RTE', subset: '16-21', files: {} }, '../shared/data');
 * // 'glue-kshot/RTE/16-21'
 */
export function matchFolder(match: LayoutMatch, dataDir: string): string {
  const rel = displayFolder(match.folder, dataDir);
  return match.subset && match.subsetReason !== 'folder' ? (rel === '.' ? match.subset : `${rel}/${match.subset}`) : rel;
}
