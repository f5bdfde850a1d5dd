/**
 * The original GLUE TSV files (`<Task>/train.tsv`, `dev.tsv`, `test.tsv`; MNLI `dev_matched.tsv` …), read the way
 * Hugging Face's `glue.py` reads them: columns by header name, CoLA by position (its train and dev files have no
 * header: `source, label, star, sentence`), `idx` = the row's position in the file, test files without a label
 * column get label -1. MNLI and SNLI take the label from the last field, because their dev files list several
 * annotator labels and LM-BFF's copies mix 11- and 15-field rows under one header.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { labelToId, type TaskSpec } from '../registry.ts';
import type { SourceSplit, TaskRow } from '../types.ts';
import { dataError } from './text.ts';
import { readTsvRecords, type TsvRecord } from './tsv.ts';
import type { ReadResult } from './rows.ts';

interface GlueColumns {
  /** Row column → header name. */
  named: Record<string, string>;
  /** Header name of the label column. */
  label: string;
  /** CoLA's headerless layout: number of fields, text positions and label position. */
  positional?: { fields: number; text: Record<string, number>; label: number };
  /** MNLI/SNLI: the label is the last field, and rows may have more fields than the header. */
  labelFromLast?: boolean;
}

const NLI: GlueColumns = { named: { premise: 'sentence1', hypothesis: 'sentence2' }, label: 'gold_label', labelFromLast: true };
const PAIR: GlueColumns = { named: { sentence1: 'sentence1', sentence2: 'sentence2' }, label: 'label' };

/** GLUE TSV columns per task (Hugging Face `glue.py`'s `text_features` and `label_column`). */
export const GLUE_TSV_COLUMNS: Readonly<Record<string, GlueColumns>> = {
  cola: { named: { sentence: 'sentence' }, label: 'label', positional: { fields: 4, text: { sentence: 3 }, label: 1 } },
  sst2: { named: { sentence: 'sentence' }, label: 'label' },
  mrpc: { named: { sentence1: '#1 String', sentence2: '#2 String' }, label: 'Quality' },
  qqp: { named: { question1: 'question1', question2: 'question2' }, label: 'is_duplicate' },
  stsb: { named: { sentence1: 'sentence1', sentence2: 'sentence2' }, label: 'score' },
  mnli: NLI,
  snli: NLI,
  qnli: { named: { question: 'question', sentence: 'sentence' }, label: 'label' },
  rte: PAIR,
  wnli: PAIR,
};

const TEST_SPLITS: readonly SourceSplit[] = ['test', 'test_matched', 'test_mismatched'];

/**
 * Reads one GLUE TSV file of `task` into Hugging Face rows (`{sentence1, sentence2, label, idx}` for RTE).
 *
 * @example
 * const { rows } = readGlueTsv('datasets/sample/RTE/train.tsv', getTask('rte'), 'train');
 * rows[0]; // { sentence1: '…', sentence2: '…', idx: 0, label: 0 }
 */
export function readGlueTsv(file: string, task: TaskSpec, split: SourceSplit): ReadResult {
  const spec = GLUE_TSV_COLUMNS[task.name];
  if (!spec) throw dataError(file, undefined, `${task.name} cannot be read from a GLUE TSV file`);
  const records = readTsvRecords(file);
  const first = records[0] as TsvRecord;
  const firstNames = first.fields.map((f) => f.trim());
  const textNames = Object.values(spec.named);
  const hasHeader = !spec.positional || textNames.every((n) => firstNames.includes(n));
  const rows: TaskRow[] = [];
  const origins: string[] = [];
  if (!hasHeader && spec.positional) {
    const pos = spec.positional;
    for (const rec of records) {
      if (rec.fields.length !== pos.fields) {
        throw dataError(file, rec.line, `row has ${rec.fields.length} fields, expected ${pos.fields} (${task.name} without a header: source, label, star, sentence)`);
      }
      const row: TaskRow = {};
      for (const [col, i] of Object.entries(pos.text)) row[col] = rec.fields[i] as string;
      row.idx = rows.length;
      row.label = labelToId(task, rec.fields[pos.label], `${file}:${rec.line}`);
      rows.push(row);
      origins.push(`${file}:${rec.line}`);
    }
    return { rows, origins };
  }
  const header = firstNames;
  const index = new Map<string, number>();
  header.forEach((h, i) => {
    if (!index.has(h)) index.set(h, i);
  });
  for (const name of textNames) {
    if (!index.has(name)) throw dataError(file, first.line, `missing column "${name}" (the header has ${header.join(', ')})`);
  }
  if (records.length < 2) throw dataError(file, first.line, `a header and no rows (the file holds no examples)`);
  const labelAt = index.get(spec.label);
  if (labelAt === undefined && !TEST_SPLITS.includes(split)) {
    throw dataError(file, first.line, `missing column "${spec.label}" (the header has ${header.join(', ')})`);
  }
  for (const rec of records.slice(1)) {
    const n = rec.fields.length;
    if (n < header.length || (n > header.length && !spec.labelFromLast)) {
      throw dataError(file, rec.line, `row has ${n} fields, the header has ${header.length}`);
    }
    const row: TaskRow = {};
    for (const [col, name] of Object.entries(spec.named)) row[col] = rec.fields[index.get(name) as number] as string;
    row.idx = rows.length;
    if (labelAt === undefined) row.label = -1;
    else {
      const raw = spec.labelFromLast ? rec.fields[n - 1] : rec.fields[labelAt];
      row.label = labelToId(task, raw, `${file}:${rec.line}`);
    }
    rows.push(row);
    origins.push(`${file}:${rec.line}`);
  }
  return { rows, origins };
}

/**
 * The original Microsoft paraphrase corpus files (`msr_paraphrase_train.txt`, `msr_paraphrase_test.txt`), the
 * source of GLUE's MRPC. Train is the full 4,076-row file unless `mrpc_dev_ids.tsv` (GLUE's list of dev pairs) sits
 * beside it, in which case it is cut into `train` and `validation` as Hugging Face's `glue.py` does; `test` is the
 * labelled test file.
 *
 * @example
 * const { rows } = readMrpcMsr('../shared/data/glue-full/MRPC', getTask('mrpc'), 'test');
 * rows.length; // 1725
 */
export function readMrpcMsr(folder: string, task: TaskSpec, split: SourceSplit): ReadResult {
  if (split === 'test') return readGlueTsv(join(folder, 'msr_paraphrase_test.txt'), task, 'train');
  const trainFile = join(folder, 'msr_paraphrase_train.txt');
  const all = readGlueTsv(trainFile, task, 'train');
  const idsFile = join(folder, 'mrpc_dev_ids.tsv');
  if (!existsSync(idsFile)) {
    if (split === 'train') return all;
    throw dataError(folder, undefined, `no ${split} split: msr_paraphrase_train.txt is cut into train and validation only with mrpc_dev_ids.tsv beside it`);
  }
  const dev = new Set(readTsvRecords(idsFile).map((r) => `${r.fields[0]}\t${r.fields[1]}`));
  const records = readTsvRecords(trainFile);
  const header = (records[0] as TsvRecord).fields.map((f) => f.trim());
  const id1 = header.indexOf('#1 ID');
  const id2 = header.indexOf('#2 ID');
  if (id1 < 0 || id2 < 0) throw dataError(trainFile, 1, `missing column "#1 ID" or "#2 ID" (the header has ${header.join(', ')})`);
  const out: ReadResult = { rows: [], origins: [] };
  records.slice(1).forEach((rec, i) => {
    const inDev = dev.has(`${rec.fields[id1]}\t${rec.fields[id2]}`);
    if (inDev === (split === 'validation')) {
      out.rows.push(all.rows[i] as TaskRow);
      out.origins.push(all.origins[i] as string);
    }
  });
  return out;
}
