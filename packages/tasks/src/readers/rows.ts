/**
 * What every reader returns: rows in the Hugging Face column layout, with the file and line each came from.
 */
import type { TaskRow } from '../types.ts';

/** Rows read from one or more files of one split. */
export interface ReadResult {
  rows: TaskRow[];
  /** `file:line` of each row (for a Parquet file, `file#row`), for messages. */
  origins: string[];
}

/** An empty {@link ReadResult}. */
export function emptyResult(): ReadResult {
  return { rows: [], origins: [] };
}

/**
 * Appends `b` to `a` (shards of one split).
 *
 * @example
 * const all = concatResults(concatResults(emptyResult(), part1), part2);
 */
export function concatResults(a: ReadResult, b: ReadResult): ReadResult {
  return { rows: [...a.rows, ...b.rows], origins: [...a.origins, ...b.origins] };
}
