/**
 * Rows to label with a trained prompt, from wherever a user has them: a file in any format the readers take (GLUE
 * TSV, SuperGLUE JSONL, Hugging Face Parquet or JSON Lines), one split of a data folder in any layout, or lines of
 * text (a JSON object with the task's Hugging Face field names, or, for tasks with one field, the plain text).
 * Labels are optional everywhere: a row without one gets -1, as unlabelled test rows do.
 */
import { isDir } from '@dept/core';
import { loadTaskData, tableRows } from './dataset.ts';
import { looksLikeHfRow } from './layout.ts';
import { readGlueTsv } from './readers/glue.ts';
import { hfRow, readHfJsonl, readHfParquet } from './readers/hf.ts';
import { isObject, readJsonl } from './readers/jsonl.ts';
import type { ReadResult } from './readers/rows.ts';
import { readSuperGlueJsonl } from './readers/superglue.ts';
import { dataError, readText, splitLines } from './readers/text.ts';
import { getTask, type TaskSpec } from './registry.ts';
import { SOURCE_SPLITS, type SourceSplit } from './types.ts';

/**
 * The fields a row of `task` must have (its Hugging Face columns without `idx`, labels and answers).
 *
 * @example
 * inputFields(getTask('superglue-cb')); // ['premise', 'hypothesis']
 */
export function inputFields(task: TaskSpec): string[] {
  return task.columns.filter((c) => !['idx', 'label', 'answers', 'entity_spans'].includes(c));
}

/**
 * The rows of a file or a data folder. A file is read by its extension: `.tsv` (GLUE TSV), `.parquet`, `.jsonl` /
 * `.json` (an original SuperGLUE file, or a Hugging Face export, told apart by its first row), `.txt` (lines as
 * {@link rowsFromLines} reads them). A folder is searched as `--data-dir` is, and `split` (default `test`) of the
 * folder that holds the task is read.
 *
 * @example
 * const { rows } = await readInputRows('datasets/sample/CB/val.jsonl', getTask('superglue-cb'));
 * rows[0]; // { premise: '…', hypothesis: '…', idx: 0, label: 1 }
 */
export async function readInputRows(path: string, task: TaskSpec | string, opts: { split?: SourceSplit } = {}): Promise<ReadResult> {
  const spec = typeof task === 'string' ? getTask(task) : task;
  if (isDir(path)) {
    const split = opts.split ?? 'test';
    const data = await loadTaskData(spec.name, { dataDir: path });
    const table = data.tables[split];
    if (!table) {
      const have = SOURCE_SPLITS.filter((s) => data.tables[s]);
      throw dataError(data.match.folder, undefined, `no ${split} split for ${spec.name} (${data.match.layout} layout; it has ${have.join(', ')}); choose one with --split`);
    }
    return { rows: tableRows(table), origins: data.origins[split] ?? [] };
  }
  const lower = path.toLowerCase();
  if (lower.endsWith('.parquet')) return readHfParquet(path, spec, 'test');
  if (lower.endsWith('.tsv')) return readGlueTsv(path, spec, 'test');
  if (lower.endsWith('.jsonl') || lower.endsWith('.json')) {
    const first = readJsonl(path)[0]?.value;
    const original = spec.family === 'super_glue' && !looksLikeHfRow(isObject(first) ? first : null);
    return original ? readSuperGlueJsonl(path, spec, 'test') : readHfJsonl(path, spec, 'test');
  }
  if (lower.endsWith('.txt')) return rowsFromLines(readText(path), spec, path);
  throw dataError(path, undefined, 'not a file dept reads rows from: expected .tsv, .jsonl, .json, .parquet or .txt, or a data folder');
}

/**
 * Rows from text, one a line (blank lines skipped): a JSON object with the task's field names
 * (`{"premise": "…", "hypothesis": "…"}` for CB, labels optional), or, for a task with one field (CoLA, SST-2), the
 * plain text of that field. Errors name `where` and the line.
 *
 * @example
 * rowsFromLines('a gorgeous, witty film\n', getTask('sst2')).rows;  // [{ sentence: 'a gorgeous, witty film', idx: 0, label: -1 }]
 * rowsFromLines('{"premise": "P.", "hypothesis": "H"}', getTask('superglue-cb')).rows[0].hypothesis; // 'H'
 */
export function rowsFromLines(text: string, task: TaskSpec | string, where = 'stdin'): ReadResult {
  const spec = typeof task === 'string' ? getTask(task) : task;
  const fields = inputFields(spec);
  const out: ReadResult = { rows: [], origins: [] };
  for (const l of splitLines(text.replace(/^\uFEFF/, ''))) {
    if (l.text.trim() === '') continue;
    const at = `${where}:${l.line}`;
    let raw: Record<string, unknown>;
    if (l.text.trimStart().startsWith('{')) {
      let value: unknown;
      try {
        value = JSON.parse(l.text) as unknown;
      } catch (error) {
        throw dataError(where, l.line, `invalid JSON (${(error as Error).message.split('\n')[0]})`);
      }
      if (!isObject(value)) throw dataError(where, l.line, 'expected a JSON object');
      raw = value;
    } else if (fields.length === 1) {
      raw = { [fields[0] as string]: l.text };
    } else {
      const example = `{${fields.map((f) => `"${f}": …`).join(', ')}}`;
      throw dataError(where, l.line, `a plain text line, but ${spec.name} takes ${fields.join(', ')}: give one JSON object a line, e.g. ${example}`);
    }
    out.rows.push(hfRow(spec, raw, at, 'test', out.rows.length));
    out.origins.push(at);
  }
  if (out.rows.length === 0) throw dataError(where, undefined, `no rows (expected one ${fields.length === 1 ? `${fields[0]} text or JSON object` : 'JSON object'} a line)`);
  return out;
}
