/**
 * The tasks: GLUE, SuperGLUE, SciTail and SNLI, named as the official DePT code names them (`rte`, `stsb`,
 * `superglue-cb`, `superglue-wsc.fixed`) or as Hugging Face does (`glue/rte`, `super_glue/cb`). Each entry holds
 * the Hugging Face columns, the ClassLabel names in id order (`id2label`), and the folder names its data is found
 * under.
 */
import { DeptError } from '@dept/core';
import type { LabelKind } from './types.ts';

/** Where a task comes from; decides which file layouts can hold it. */
export type TaskFamily = 'glue' | 'super_glue' | 'scitail' | 'snli';

/** One task: names, columns, labels, folders. */
export interface TaskSpec {
  /** DePT's name (`rte`, `superglue-cb`); also the prefix added with `addPrefix`. */
  readonly name: string;
  /** Hugging Face `path/config` (`glue/rte`, `super_glue/cb`, `scitail/snli_format`). */
  readonly hf: string;
  readonly family: TaskFamily;
  /** The text columns of a row, in Hugging Face names (`sentence1`, `sentence2`). */
  readonly textColumns: readonly string[];
  /** Every column of a row, in order (text, extra fields, `idx`, `label`/`answers`). */
  readonly columns: readonly string[];
  /** `class` (ClassLabel id), `score` (STS-B float) or `answers` (ReCoRD). */
  readonly labelKind: LabelKind;
  /** ClassLabel names in id order, as Hugging Face has them (CB: entailment, contradiction, neutral). */
  readonly labelNames: readonly string[];
  /** Other spellings of a label seen in original files (SciTail's TSV says `entails`). */
  readonly labelAliases?: Readonly<Record<string, number>>;
  /** Folder names (case-insensitive) that hold this task: `RTE`, `rte`, `glue/rte` … */
  readonly folders: readonly string[];
  /**
   * DePT's `num_labels_mapping` entry: the target strings the k-shot sampler balances. `null` where DePT has no
   * entry (its sampler would raise KeyError); we then balance over the ClassLabel ids, and ReCoRD has none.
   */
  readonly deptKshotClasses: readonly string[] | null;
}

const GLUE = (cfg: string, folder: string, text: string[], labels: string[], kshot: boolean, kind: LabelKind = 'class'): TaskSpec => ({
  name: cfg,
  hf: `glue/${cfg}`,
  family: 'glue',
  textColumns: text,
  columns: [...text, 'idx', 'label'],
  labelKind: kind,
  labelNames: labels,
  folders: uniq([folder, cfg, `glue/${cfg}`, `nyu-mll/glue/${cfg}`, `glue-${cfg}`]),
  deptKshotClasses: kshot ? (kind === 'score' ? ['0', '1'] : labels.map((_, i) => String(i))) : null,
});

const SUPER = (
  cfg: string,
  folder: string,
  text: string[],
  extra: string[],
  labels: string[],
  kshot: boolean,
  kind: LabelKind = 'class',
): TaskSpec => ({
  name: `superglue-${cfg}`,
  hf: `super_glue/${cfg}`,
  family: 'super_glue',
  textColumns: text,
  columns: kind === 'answers' ? [...text, ...extra, 'idx', 'answers'] : [...text, ...extra, 'idx', 'label'],
  labelKind: kind,
  labelNames: labels,
  folders: uniq([
    folder,
    cfg,
    `superglue-${cfg}`,
    `super_glue/${cfg}`,
    `aps/super_glue/${cfg}`,
    ...(cfg === 'wsc.fixed' ? ['wsc', 'super_glue/wsc', 'superglue-wsc'] : []),
  ]),
  deptKshotClasses: kshot ? labels.map((_, i) => String(i)) : null,
});

const FT = ['False', 'True'];

/** Every task, in the order `dept data list` shows them. */
export const TASKS: readonly TaskSpec[] = [
  GLUE('cola', 'CoLA', ['sentence'], ['unacceptable', 'acceptable'], true),
  GLUE('sst2', 'SST-2', ['sentence'], ['negative', 'positive'], true),
  GLUE('mrpc', 'MRPC', ['sentence1', 'sentence2'], ['not_equivalent', 'equivalent'], true),
  GLUE('qqp', 'QQP', ['question1', 'question2'], ['not_duplicate', 'duplicate'], true),
  GLUE('stsb', 'STS-B', ['sentence1', 'sentence2'], [], true, 'score'),
  GLUE('mnli', 'MNLI', ['premise', 'hypothesis'], ['entailment', 'neutral', 'contradiction'], true),
  GLUE('qnli', 'QNLI', ['question', 'sentence'], ['entailment', 'not_entailment'], true),
  GLUE('rte', 'RTE', ['sentence1', 'sentence2'], ['entailment', 'not_entailment'], true),
  GLUE('wnli', 'WNLI', ['sentence1', 'sentence2'], ['not_entailment', 'entailment'], false),
  SUPER('boolq', 'BoolQ', ['question', 'passage'], [], FT, true),
  SUPER('cb', 'CB', ['premise', 'hypothesis'], [], ['entailment', 'contradiction', 'neutral'], true),
  SUPER('copa', 'COPA', ['premise', 'choice1', 'choice2'], ['question'], ['choice1', 'choice2'], false),
  SUPER('multirc', 'MultiRC', ['paragraph', 'question', 'answer'], [], FT, true),
  SUPER('wic', 'WiC', ['word', 'sentence1', 'sentence2'], ['start1', 'start2', 'end1', 'end2'], FT, true),
  SUPER('wsc.fixed', 'WSC', ['text'], ['span1_index', 'span2_index', 'span1_text', 'span2_text'], FT, true),
  SUPER('record', 'ReCoRD', ['passage', 'query'], ['entities', 'entity_spans'], [], false, 'answers'),
  SUPER('rte', 'RTE', ['premise', 'hypothesis'], [], ['entailment', 'not_entailment'], false),
  {
    name: 'scitail',
    hf: 'scitail/snli_format',
    family: 'scitail',
    textColumns: ['sentence1', 'sentence2'],
    columns: ['sentence1', 'sentence2', 'label'],
    labelKind: 'class',
    labelNames: ['entailment', 'neutral'],
    labelAliases: { entails: 0 },
    folders: ['SciTail', 'scitail', 'SciTailV1.1', 'allenai/scitail', 'scitail/snli_format', 'scitail-snli_format'],
    deptKshotClasses: ['0', '1'],
  },
  {
    name: 'snli',
    hf: 'snli',
    family: 'snli',
    textColumns: ['premise', 'hypothesis'],
    columns: ['premise', 'hypothesis', 'label'],
    labelKind: 'class',
    labelNames: ['entailment', 'neutral', 'contradiction'],
    folders: ['SNLI', 'snli', 'stanfordnlp/snli'],
    deptKshotClasses: null,
  },
];

function uniq(xs: string[]): string[] {
  return [...new Set(xs)];
}

const BY_NAME = new Map<string, TaskSpec>();
for (const t of TASKS) {
  const keys = [t.name, t.hf];
  if (t.family === 'glue') keys.push(`nyu-mll/${t.hf}`);
  if (t.family === 'super_glue') keys.push(`aps/${t.hf}`);
  if (t.name === 'scitail') keys.push('allenai/scitail', 'scitail');
  if (t.name === 'snli') keys.push('stanfordnlp/snli');
  for (const k of keys) BY_NAME.set(k.toLowerCase(), t);
}

/**
 * Looks a task up by DePT's name or the Hugging Face one (case-insensitive).
 *
 * @example
 * getTask('glue/rte').name;      // 'rte'
 * getTask('super_glue/cb').name; // 'superglue-cb'
 * getTask('superglue-cb').labelNames; // ['entailment', 'contradiction', 'neutral']
 */
export function getTask(name: string): TaskSpec {
  const t = BY_NAME.get(name.trim().toLowerCase());
  if (!t) {
    const close = suggestTasks(name);
    throw new DeptError(
      `unknown task "${name}"; expected one of ${TASKS.map((x) => x.name).join(', ')} (or the Hugging Face name, e.g. glue/rte, super_glue/cb)${close.length ? `; did you mean ${close.join(' or ')}?` : ''}`,
    );
  }
  return t;
}

/** Letters and digits only, lower case: `SST-2` and `sst2`, `super_glue/cb` and `superglue cb` meet. */
const squash = (s: string): string => s.toLowerCase().replace(/[^a-z0-9]/g, '');

/** Every spelling a task answers to for suggestions: its names, their last parts (`cb`, `boolq`) and its folders. */
const SPELLINGS: readonly { task: TaskSpec; key: string }[] = TASKS.flatMap((t) => {
  const tails = [t.name, t.hf].map((n) => n.replace(/^superglue-/, '').split('/').pop() as string);
  return uniq([t.name, t.hf, ...tails, ...t.folders].map(squash)).map((key) => ({ task: t, key }));
});

/** Levenshtein distance (names are short). */
function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min((row[j] as number) + 1, (next[j - 1] as number) + 1, (row[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    row = next;
  }
  return row[b.length] as number;
}

/**
 * The DePT names of the tasks closest to a name that is not one (at most 3, all equally close): a spelling that
 * differs only in case and punctuation (`SST-2`), the last part of a name (`cb`, `boolq`), or one a few edits away.
 *
 * @example
 * suggestTasks('SST-2'); // ['sst2']
 * suggestTasks('cb');    // ['superglue-cb']
 * suggestTasks('glue/rtx'); // ['rte']
 */
export function suggestTasks(name: string): string[] {
  const wanted = squash(name);
  if (wanted === '') return [];
  const best = new Map<string, number>();
  for (const { task, key } of SPELLINGS) {
    const distance = editDistance(wanted, key);
    if (distance > Math.max(1, Math.floor(Math.min(wanted.length, key.length) / 3))) continue;
    if (!best.has(task.name) || distance < (best.get(task.name) as number)) best.set(task.name, distance);
  }
  const closest = Math.min(...best.values());
  return [...best.entries()].filter(([, d]) => d === closest).slice(0, 3).map(([n]) => n);
}

/**
 * True when `name` names a task (either spelling).
 *
 * @example
 * isTaskName('super_glue/wsc.fixed'); // true
 * isTaskName('squad');                // false
 */
export function isTaskName(name: string): boolean {
  return BY_NAME.has(name.trim().toLowerCase());
}

/**
 * `id2label` in the Hugging Face spelling (`{0: 'entailment', 1: 'not_entailment'}`); empty for STS-B and ReCoRD.
 *
 * @example
 * id2label(getTask('wnli')); // { 0: 'not_entailment', 1: 'entailment' }
 */
export function id2label(task: TaskSpec): Record<number, string> {
  const out: Record<number, string> = {};
  task.labelNames.forEach((n, i) => (out[i] = n));
  return out;
}

/**
 * `label2id`, the inverse of {@link id2label}.
 *
 * @example
 * label2id(getTask('superglue-cb')).neutral; // 2
 */
export function label2id(task: TaskSpec): Record<string, number> {
  const out: Record<string, number> = {};
  task.labelNames.forEach((n, i) => (out[n] = i));
  return out;
}

/**
 * The target strings a task can have, DePT's `labels_list`: the ids as digit strings, and for STS-B
 * "0.0", "0.2", …, "5.0". ReCoRD has none (free text).
 *
 * @example
 * labelsList(getTask('superglue-cb')); // ['0', '1', '2']
 * labelsList(getTask('stsb')).length; // 26
 */
export function labelsList(task: TaskSpec): string[] {
  if (task.labelKind === 'answers') return [];
  if (task.labelKind === 'score') return Array.from({ length: 26 }, (_, i) => (i / 5).toFixed(1));
  return task.labelNames.map((_, i) => String(i));
}

/**
 * Turns a label as a file writes it into the ClassLabel id (or the STS-B score), the way Hugging Face `datasets`
 * does: a label name (`"entailment"`), a digit string or number (`"1"`, `1`), a boolean (`true` → `"True"`), or
 * -1 / `"-"` for an unlabelled row. STS-B scores are stored as float32, as `glue/stsb` does. Throws a one-line
 * error naming `where` (`file:line`) for anything else.
 *
 * @example
 * labelToId(getTask('superglue-cb'), 'neutral', 'val.jsonl:3');  // 2
 * labelToId(getTask('superglue-boolq'), true, 'val.jsonl:1');     // 1
 * labelToId(getTask('rte'), '1', 'dev.tsv:2');                    // 1
 */
export function labelToId(task: TaskSpec, raw: unknown, where: string): number {
  if (typeof raw === 'bigint') raw = Number(raw);
  if (task.labelKind === 'score') {
    const v = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : NaN;
    if (!Number.isFinite(v)) throw new DeptError(`${where}: unknown label ${show(raw)} for ${task.name} (expected a score from 0 to 5)`);
    return Math.fround(v);
  }
  if (task.labelKind === 'answers') throw new DeptError(`${where}: ${task.name} has no class label`);
  const n = task.labelNames.length;
  if (typeof raw === 'boolean' && task.labelNames[1] === 'True') return raw ? 1 : 0;
  if (typeof raw === 'number') {
    if (Number.isInteger(raw) && raw >= -1 && raw < n) return raw;
  } else if (typeof raw === 'string') {
    const s = raw.trim();
    const byName = task.labelNames.indexOf(s);
    if (byName >= 0) return byName;
    const alias = task.labelAliases?.[s];
    if (alias !== undefined) return alias;
    if (/^-?\d+$/.test(s)) {
      const v = Number(s);
      if (v >= -1 && v < n) return v;
    }
    if (s === '-' && (task.name === 'snli' || task.name === 'mnli')) return -1;
  }
  throw new DeptError(
    `${where}: unknown label ${show(raw)} for ${task.name} (expected ${task.labelNames.join(', ')} or an id 0..${n - 1})`,
  );
}

function show(v: unknown): string {
  if (v === undefined) return 'undefined';
  return JSON.stringify(v) ?? String(v);
}
