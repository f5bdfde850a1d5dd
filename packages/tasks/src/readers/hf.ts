/**
 * Hugging Face `datasets` exports: Parquet (the hub's `nyu-mll/glue`, `aps/super_glue` files, or
 * `Dataset.to_parquet`) and JSON Lines (`Dataset.to_json`). Columns already have the Hugging Face names and labels
 * are ClassLabel ids; Parquet int64 values arrive as BigInt and become numbers here.
 */
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet';
import { checkRegularFile } from '@dept/core';
import { labelToId, type TaskSpec } from '../registry.ts';
import type { RowValue, SourceSplit, TaskRow } from '../types.ts';
import { isObject, readJsonl } from './jsonl.ts';
import type { ReadResult } from './rows.ts';
import { dataError } from './text.ts';

/**
 * Deeply converts BigInt to number (int64 columns), typed arrays to plain arrays and `Date`s to ISO strings.
 *
 * @example
 * plainValue({ label: 1n, idx: { paragraph: 0n } }); // { label: 1, idx: { paragraph: 0 } }
 */
export function plainValue(v: unknown): RowValue {
  if (typeof v === 'bigint') return Number(v);
  if (v === undefined || v === null) return null;
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  if (v instanceof Date) return v.toISOString();
  if (Array.isArray(v) || ArrayBuffer.isView(v)) return Array.from(v as ArrayLike<unknown>, plainValue);
  if (typeof v === 'object') {
    const out: Record<string, RowValue> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) out[k] = plainValue(x);
    return out;
  }
  return String(v);
}

/**
 * Checks one Hugging Face row of `task` and puts it into canonical form (label id checked, STS-B score as
 * float32, SciTail's `gold_label` string turned into an id, ReCoRD `answers` defaulting to []).
 *
 * @example
 * hfRow(getTask('rte'), { sentence1: 'A', sentence2: 'B', label: 0n, idx: 3n }, 'train.parquet#0', 'train');
 * // { sentence1: 'A', sentence2: 'B', idx: 3, label: 0 }
 */
export function hfRow(task: TaskSpec, raw: Record<string, unknown>, where: string, split: SourceSplit, position = 0): TaskRow {
  const o = plainValue(raw) as Record<string, RowValue>;
  const row: TaskRow = {};
  const fail = (problem: string): Error => {
    const m = /^(.*):(\d+)$/.exec(where);
    return m ? dataError(m[1] as string, Number(m[2]), problem) : dataError(where, undefined, problem);
  };
  for (const col of task.columns) {
    if (col === 'label' || col === 'idx' || col === 'answers' || col === 'entity_spans') continue;
    const v = o[col];
    if (v === undefined || v === null) throw fail(`missing column "${col}" (the row has ${Object.keys(o).join(', ')})`);
    row[col] = v;
  }
  if (task.columns.includes('idx')) row.idx = o.idx ?? position;
  if (task.labelKind === 'answers') {
    row.entity_spans = o.entity_spans ?? [];
    row.answers = Array.isArray(o.answers) ? o.answers.map(String) : [];
    return row;
  }
  const label = o.label ?? (task.name === 'scitail' ? o.gold_label : undefined);
  if (label === undefined || label === null) {
    if (!split.startsWith('test')) throw fail('missing column "label"');
    row.label = -1;
  } else row.label = labelToId(task, label, where);
  return row;
}

/**
 * Reads a Parquet file of `task` with hyparquet.
 *
 * @example
 * const { rows } = await readHfParquet('glue/rte/train-00000-of-00001.parquet', getTask('rte'), 'train');
 */
export async function readHfParquet(file: string, task: TaskSpec, split: SourceSplit): Promise<ReadResult> {
  checkRegularFile(file, 'a Parquet file'); // hyparquet opens it itself; a FIFO would block that open
  let objects: Record<string, unknown>[];
  try {
    objects = (await parquetReadObjects({ file: await asyncBufferFromFile(file) })) as Record<string, unknown>[];
  } catch (error) {
    throw dataError(file, undefined, `not a readable Parquet file (${(error as Error).message})`);
  }
  const out: ReadResult = { rows: [], origins: [] };
  objects.forEach((o, i) => {
    out.rows.push(hfRow(task, o, `${file}#${i}`, split, i));
    out.origins.push(`${file}#${i}`);
  });
  return out;
}

/**
 * Reads a JSON Lines export (`Dataset.to_json`) of `task`.
 *
 * @example
 * const { rows } = readHfJsonl('super_glue/cb/validation.jsonl', getTask('superglue-cb'), 'validation');
 */
export function readHfJsonl(file: string, task: TaskSpec, split: SourceSplit): ReadResult {
  const out: ReadResult = { rows: [], origins: [] };
  for (const rec of readJsonl(file)) {
    if (!isObject(rec.value)) throw dataError(file, rec.line, 'expected a JSON object');
    out.rows.push(hfRow(task, rec.value, `${file}:${rec.line}`, split, out.rows.length));
    out.origins.push(`${file}:${rec.line}`);
  }
  return out;
}
