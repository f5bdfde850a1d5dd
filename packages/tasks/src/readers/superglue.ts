/**
 * The original SuperGLUE JSONL files (`train.jsonl`, `val.jsonl`, `test.jsonl`), turned into the rows Hugging
 * Face's `super_glue.py` yields: string and boolean labels become ClassLabel ids, WSC's nested `target` is
 * flattened (and, for `wsc.fixed`, repaired with `_fix_wst`), MultiRC gives one row per answer option and ReCoRD
 * one row per query, with the entity texts cut from the passage (inclusive end) as a sorted unique list.
 */
import { labelToId, type TaskSpec } from '../registry.ts';
import type { RowValue, SourceSplit, TaskRow } from '../types.ts';
import { isObject, readJsonl } from './jsonl.ts';
import type { ReadResult } from './rows.ts';
import { dataError } from './text.ts';

const INT_COLUMNS = new Set(['span1_index', 'span2_index', 'start1', 'start2', 'end1', 'end2']);

/**
 * Reads one SuperGLUE JSONL file of `task` into Hugging Face rows.
 *
 * @example
 * const { rows } = readSuperGlueJsonl('datasets/sample/CB/val.jsonl', getTask('superglue-cb'), 'validation');
 * rows[0]; // { premise: '…', hypothesis: '…', idx: 0, label: 1 }
 */
export function readSuperGlueJsonl(file: string, task: TaskSpec, split: SourceSplit): ReadResult {
  const out: ReadResult = { rows: [], origins: [] };
  for (const rec of readJsonl(file)) {
    const where = `${file}:${rec.line}`;
    const o = rec.value;
    if (!isObject(o)) throw dataError(file, rec.line, 'expected a JSON object');
    const push = (row: TaskRow): void => {
      out.rows.push(row);
      out.origins.push(where);
    };
    switch (task.name) {
      case 'superglue-multirc':
        for (const row of multircRows(o, where, task, split)) push(row);
        break;
      case 'superglue-record':
        for (const row of recordRows(o, where)) push(row);
        break;
      default: {
        const src = task.name === 'superglue-wsc.fixed' && isObject(o.target) ? { ...o, ...o.target } : o;
        const row: TaskRow = {};
        for (const col of task.columns) {
          if (col === 'idx' || col === 'label') continue;
          row[col] = field(src, col, where, INT_COLUMNS.has(col) ? 'number' : 'string');
        }
        if (task.name === 'superglue-wsc.fixed') fixWst(row);
        row.idx = typeof o.idx === 'number' ? o.idx : out.rows.length;
        row.label = labelOf(task, o, where, split);
        push(row);
      }
    }
  }
  return out;
}

function labelOf(task: TaskSpec, o: Record<string, unknown>, where: string, split: SourceSplit): number {
  if (!('label' in o)) {
    if (split === 'test') return -1;
    throw dataErrorAt(where, 'missing field "label"');
  }
  return labelToId(task, o.label, where);
}

function field(o: Record<string, unknown>, name: string, where: string, kind: 'string' | 'number'): string | number {
  const v = o[name];
  if (v === undefined || v === null) throw dataErrorAt(where, `missing field "${name}"`);
  if (kind === 'number') {
    if (typeof v !== 'number' || !Number.isInteger(v)) throw dataErrorAt(where, `field "${name}" should be an integer, got ${JSON.stringify(v)}`);
    return v;
  }
  if (typeof v !== 'string') throw dataErrorAt(where, `field "${name}" should be text, got ${JSON.stringify(v)}`);
  return v;
}

function dataErrorAt(where: string, problem: string): Error {
  const m = /^(.*):(\d+)$/.exec(where);
  return m ? dataError(m[1] as string, Number(m[2]), problem) : dataError(where, undefined, problem);
}

/**
 * Hugging Face's `_fix_wst` (super_glue `wsc.fixed`): a span text that is not a substring of the text gets the case
 * of the word at its index, loses trailing dots and newlines. Changes `row` in place.
 *
 * @example
 * const row = { text: 'They met the mayor .', span1_index: 2, span1_text: 'The mayor', span2_index: 0, span2_text: 'They' };
 * fixWst(row); row.span1_text; // 'the mayor'
 */
export function fixWst(row: TaskRow): void {
  for (const k of ['span1', 'span2']) {
    const textKey = `${k}_text`;
    let text = String(row[textKey]);
    const index = Number(row[`${k}_index`]);
    const full = String(row.text);
    if (full.includes(text)) continue;
    if (text === 'Kamenev and Zinoviev' || text === 'Kamenev, Zinoviev, and Stalin') continue;
    // (`ex["text"].replace("theyscold", …)` in the original discards its result; only the index moves.)
    if (text.includes('theyscold')) row.span2_index = 10;
    const words = full.trim().split(/\s+/);
    const firstWord = words[index];
    if (firstWord === undefined || text === '') continue;
    const chars = Array.from(text);
    const c = Array.from(firstWord)[0] as string;
    const isLower = c.toLowerCase() === c && c.toUpperCase() !== c;
    chars[0] = isLower ? (chars[0] as string).toLowerCase() : (chars[0] as string).toUpperCase();
    text = chars.join('').replace(/\.+$/, '').split('\n').join(' ');
    row[textKey] = text;
  }
}

function multircRows(o: Record<string, unknown>, where: string, task: TaskSpec, split: SourceSplit): TaskRow[] {
  const passage = o.passage;
  if (!isObject(passage)) throw dataErrorAt(where, 'missing field "passage"');
  const text = field(passage, 'text', where, 'string');
  const questions = passage.questions;
  if (!Array.isArray(questions)) throw dataErrorAt(where, 'missing field "passage.questions"');
  const rows: TaskRow[] = [];
  for (const q of questions) {
    if (!isObject(q) || !Array.isArray(q.answers)) throw dataErrorAt(where, 'missing field "passage.questions[].answers"');
    const question = field(q, 'question', where, 'string');
    for (const a of q.answers) {
      if (!isObject(a)) throw dataErrorAt(where, 'expected an answer object');
      let label: number;
      if (a.label === undefined || a.label === null) {
        if (split !== 'test') throw dataErrorAt(where, 'missing field "label" in an answer');
        label = -1;
      } else label = labelToId(task, typeof a.label === 'number' ? a.label !== 0 : a.label, where);
      rows.push({
        paragraph: text,
        question,
        answer: field(a, 'text', where, 'string'),
        idx: { paragraph: num(o.idx), question: num(q.idx), answer: num(a.idx) },
        label,
      });
    }
  }
  return rows;
}

function num(v: unknown): number {
  return typeof v === 'number' ? v : -1;
}

function cpSlice(text: string, start: number, end: number): string {
  return /[\uD800-\uDFFF]/.test(text) ? Array.from(text).slice(start, end).join('') : text.slice(start, end);
}

/**
 * Compares strings by Unicode code point, as Python's `sorted` does.
 *
 * @example
 * ['b', 'a', 'B'].sort(codePointCompare); // ['B', 'a', 'b']
 */
export function codePointCompare(a: string, b: string): number {
  const A = Array.from(a);
  const B = Array.from(b);
  for (let i = 0; i < Math.min(A.length, B.length); i++) {
    const d = (A[i] as string).codePointAt(0)! - (B[i] as string).codePointAt(0)!;
    if (d !== 0) return d;
  }
  return A.length - B.length;
}

function recordRows(o: Record<string, unknown>, where: string): TaskRow[] {
  const passage = o.passage;
  if (!isObject(passage)) throw dataErrorAt(where, 'missing field "passage"');
  const text = field(passage, 'text', where, 'string') as string;
  const ents = Array.isArray(passage.entities) ? passage.entities : [];
  const spans: { text: string; start: number; end: number }[] = [];
  for (const e of ents) {
    if (!isObject(e) || typeof e.start !== 'number' || typeof e.end !== 'number') throw dataErrorAt(where, 'entity without start/end');
    spans.push({ text: cpSlice(text, e.start, e.end + 1), start: e.start, end: e.end + 1 });
  }
  spans.sort((a, b) => a.start - b.start);
  const entities = [...new Set(spans.map((s) => s.text))].sort(codePointCompare);
  const qas = o.qas;
  if (!Array.isArray(qas)) throw dataErrorAt(where, 'missing field "qas"');
  return qas.map((qa): TaskRow => {
    if (!isObject(qa)) throw dataErrorAt(where, 'expected a query object in "qas"');
    const answers = Array.isArray(qa.answers)
      ? [...new Set(qa.answers.map((a) => (isObject(a) ? String(a.text) : String(a))))].sort(codePointCompare)
      : [];
    return {
      passage: text,
      query: field(qa, 'query', where, 'string'),
      entities,
      entity_spans: spans as unknown as RowValue,
      idx: { passage: num(o.idx), query: num(qa.idx) },
      answers,
    };
  });
}
