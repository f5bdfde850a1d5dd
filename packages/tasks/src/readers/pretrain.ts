/**
 * The PowerfulPromptFT `glue_pretrain` JSON (`train.json`, `dev.json`): one object keyed by row number,
 * `{"0": {"text_a": …, "text_b": … | null, "label": "entailment" | "1" | "4.4"}}`. `text_a`/`text_b` become the
 * task's two text columns; the label is a label name, an id or (STS-B) a score.
 */
import { scanJson } from '@dept/core';
import { labelToId, type TaskSpec } from '../registry.ts';
import type { TaskRow } from '../types.ts';
import { isObject } from './jsonl.ts';
import type { ReadResult } from './rows.ts';
import { dataError, readText } from './text.ts';

/**
 * Reads one `glue_pretrain` JSON file of `task`.
 *
 * @example
 * const { rows } = readPretrainJson('../shared/data/glue-pretrain/RTE/dev.json', getTask('rte'));
 * rows.length; // 249
 */
export function readPretrainJson(file: string, task: TaskSpec): ReadResult {
  const text = readText(file);
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    // V8's message quotes the text; the scanner's says where and what was expected, and quotes nothing.
    const { problem } = scanJson(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
    throw dataError(file, problem?.line, `invalid JSON${problem ? ` (column ${problem.column}: ${problem.message})` : ''}`);
  }
  if (!isObject(data)) throw dataError(file, 1, 'expected a JSON object keyed by row number ({"0": {"text_a", "text_b", "label"}})');
  if (task.textColumns.length > 2) throw dataError(file, undefined, `${task.name} cannot be read from text_a/text_b JSON`);
  const lineOf = (key: string): number | undefined => {
    const m = new RegExp(`^\\s*"${key.replace(/[^\w]/g, '\\$&')}"\\s*:`, 'm').exec(text);
    return m ? text.slice(0, m.index).split(/\r\n|\r|\n/).length : undefined;
  };
  const out: ReadResult = { rows: [], origins: [] };
  for (const [key, entry] of Object.entries(data)) {
    const fail = (problem: string): Error => dataError(file, lineOf(key), `row "${key}": ${problem}`);
    if (!isObject(entry)) throw fail('expected an object with text_a, text_b, label');
    const row: TaskRow = {};
    const [colA, colB] = task.textColumns;
    if (typeof entry.text_a !== 'string') throw fail('missing field "text_a"');
    row[colA as string] = entry.text_a;
    if (colB !== undefined) {
      if (typeof entry.text_b !== 'string') throw fail('missing field "text_b"');
      row[colB] = entry.text_b;
    }
    if (task.columns.includes('idx')) row.idx = out.rows.length;
    if (entry.label === undefined || entry.label === null) throw fail('missing field "label"');
    try {
      row.label = labelToId(task, entry.label, '');
    } catch {
      // Find the line only when there is an error to report (scanning per row would be quadratic).
      const line = lineOf(key);
      row.label = labelToId(task, entry.label, line === undefined ? `${file} row "${key}"` : `${file}:${line}`);
    }
    out.rows.push(row);
    out.origins.push(`${file}#${key}`);
  }
  return out;
}
