/**
 * Reading files that must be regular files. A FIFO, a device or a socket where a model, data or config file belongs
 * is refused before a byte is read: opening a FIFO for reading blocks until a writer appears, and `/dev/zero`
 * never ends. Files are opened with `O_NONBLOCK` and checked with `fstat` on the open descriptor, so nothing can
 * be swapped in between the check and the read.
 */
import { closeSync, constants, fstatSync, openSync, readFileSync, statSync, type Stats } from 'node:fs';
import { DeptError } from './errors.ts';

/** What a non-regular file is, in words ("a FIFO (named pipe)", "a folder", ...). */
function kindOf(st: Stats): string {
  if (st.isDirectory()) return 'a folder';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

function refusal(path: string, st: Stats, expected: string): DeptError {
  return new DeptError(`${path}: is ${kindOf(st)}, expected ${expected}`);
}

/**
 * Throws a one-line `DeptError` when `path` exists and is not a regular file (links followed); does nothing when
 * it is a regular file or absent (the caller reports a missing file its own way). For readers that open the file
 * themselves; {@link readRegularFile} is race-free and preferred.
 *
 * @example
 * checkRegularFile('data/train.parquet', 'a Parquet file');
 */
export function checkRegularFile(path: string, expected = 'a regular file'): void {
  const st = statSync(path, { throwIfNoEntry: false });
  if (st && !st.isFile()) throw refusal(path, st, expected);
}

/**
 * Opens `path` for reading without blocking (`O_NONBLOCK`) and returns the descriptor once `fstat` shows a
 * regular file; otherwise closes it and throws a one-line `DeptError` (`<path>: is a FIFO (named pipe), expected
 * <expected>`). Errors of the open itself (`ENOENT`, `EACCES`, ...) are thrown as they are, for the caller to word.
 *
 * @example
 * const fd = openRegularFile('model.safetensors', 'a .safetensors file');
 */
export function openRegularFile(path: string, expected = 'a regular file'): number {
  const fd = openSync(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  let ok = false;
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw refusal(path, st, expected);
    ok = true;
    return fd;
  } finally {
    if (!ok) closeSync(fd);
  }
}

/**
 * The bytes of a regular file (see {@link openRegularFile} for what is refused and which errors pass through).
 *
 * @example
 * const text = readRegularFile('model/config.json', 'a JSON file').toString('utf8');
 */
export function readRegularFile(path: string, expected = 'a regular file'): Buffer {
  const fd = openRegularFile(path, expected);
  try {
    return readFileSync(fd);
  } finally {
    closeSync(fd);
  }
}
