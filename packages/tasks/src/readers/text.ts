/**
 * Reading text files the way Python's `open(..., encoding="utf-8")` with universal newlines does: a UTF-8
 * byte-order mark is dropped, and `\r\n`, `\r` and `\n` all end a line. Every problem becomes a one-line
 * {@link DeptError} that names the file and the line.
 */
import { closeSync, existsSync, fstatSync, readFileSync } from 'node:fs';
import { DeptError, openRegularFile } from '@dept/core';

/** One physical line and its 1-based number. */
export interface NumberedLine {
  text: string;
  line: number;
}

/**
 * The text of a file without its byte-order mark. Throws when the file is missing, is not a regular file (a FIFO, a
 * device, a folder), is too large to read as one string, or holds nothing but white space.
 *
 * @example
 * const text = readText('datasets/sample/RTE/train.tsv');
 */
export function readText(file: string): string {
  if (!existsSync(file)) throw new DeptError(`${file}: file not found`);
  // Refused before a byte is read: a FIFO or a device (never opened the blocking way), then a file too large.
  const fd = openRegularFile(file, 'a data file');
  let bytes: Buffer;
  try {
    const size = fstatSync(fd).size;
    if (size > MAX_TEXT_BYTES) throw new DeptError(`${file}: is ${size} bytes, more than the ${MAX_TEXT_BYTES} bytes a text file can be read in one piece; split it into smaller files`);
    bytes = readFileSync(fd);
  } finally {
    closeSync(fd);
  }
  let text: string;
  try {
    text = strictUtf8.decode(bytes);
  } catch {
    // As Python's open(..., encoding="utf-8") does, refuse bytes that are not UTF-8 instead of replacing them.
    const at = firstInvalidUtf8(bytes);
    const line = (bytes.subarray(0, at).toString('utf8').match(/\r\n|\r|\n/g)?.length ?? 0) + 1;
    throw new DeptError(`${file}:${line}: not valid UTF-8 (byte 0x${(bytes[at] ?? 0).toString(16)} at offset ${at}); re-save the file as UTF-8`);
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (text.trim() === '') throw new DeptError(`${file}:1: empty file`);
  return text;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** The largest text file read in one piece (V8's longest string is about 512 MiB of characters). */
const MAX_TEXT_BYTES = 0x1fffffe8;

/** Offset of the first byte that makes `bytes` invalid UTF-8 (binary search on prefixes decoded in stream mode). */
function firstInvalidUtf8(bytes: Uint8Array): number {
  let lo = 0; // a prefix of this length decodes (possibly ending inside a character)
  let hi = bytes.length; // a prefix of this length fails
  while (hi - lo > 1) {
    const mid = (lo + hi) >>> 1;
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(0, mid), { stream: true });
      lo = mid;
    } catch {
      hi = mid;
    }
  }
  return lo;
}

/**
 * Splits text into numbered lines on `\r\n`, `\r` or `\n`. A final line ending does not make an extra line.
 *
 * @example
 * splitLines('a\r\nb\n'); // [{ text: 'a', line: 1 }, { text: 'b', line: 2 }]
 */
export function splitLines(text: string): NumberedLine[] {
  const parts = text.split(/\r\n|\r|\n/);
  if (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
  return parts.map((t, i) => ({ text: t, line: i + 1 }));
}

/**
 * `file:line: problem`, the one-line error format of every reader.
 *
 * @example
 * throw dataError('train.tsv', 7, 'row has 3 fields, the header has 4');
 */
export function dataError(file: string, line: number | undefined, problem: string): DeptError {
  return new DeptError(line === undefined ? `${file}: ${problem}` : `${file}:${line}: ${problem}`);
}
