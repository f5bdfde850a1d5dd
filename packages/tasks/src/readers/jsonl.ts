/**
 * JSON Lines: one JSON value per line, blank lines skipped. A line that does not parse is an error naming the file
 * and the line.
 */
import { scanJson } from '@dept/core';
import { dataError, readText, splitLines } from './text.ts';

/** One parsed line and its 1-based line number. */
export interface JsonlRecord {
  value: unknown;
  line: number;
}

/**
 * Parses every non-blank line of a `.jsonl` file.
 *
 * @example
 * const records = readJsonl('datasets/sample/CB/train.jsonl');
 * records[0].value; // { premise: '…', hypothesis: '…', label: 'entailment', idx: 0 }
 */
export function readJsonl(file: string): JsonlRecord[] {
  const out: JsonlRecord[] = [];
  for (const l of splitLines(readText(file))) {
    if (l.text.trim() === '') continue;
    try {
      out.push({ value: JSON.parse(l.text) as unknown, line: l.line });
    } catch {
      // V8's message quotes the line; the scanner's says where and what was expected, and quotes nothing.
      const { problem } = scanJson(l.text);
      throw dataError(file, l.line, `invalid JSON${problem ? ` (column ${problem.column}: ${problem.message})` : ''}`);
    }
  }
  return out;
}

/**
 * True when `v` is a plain JSON object.
 *
 * @example
 * isObject({ a: 1 }); // true
 * isObject([1]);      // false
 */
export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
