/**
 * Files and folders written atomically: a temporary sibling in the same folder, fsync, rename, fsync the folder.
 * Readers see the old contents or the complete new ones, never a partial file.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { DeptError } from './errors.ts';

/** True when `path` is a file (links followed); false when it is anything else or absent. */
export function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** True when `path` is a folder (links followed); false when it is anything else or absent. */
export function isDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** A fresh name for a temporary sibling of `path` (same folder, so `rename` stays atomic). */
export function tempSiblingPath(path: string, tag = 'tmp'): string {
  return join(dirname(path), `.${basename(path)}.${tag}-${process.pid}-${randomBytes(4).toString('hex')}`);
}

/** fsync a folder so a rename inside it is durable; platforms that cannot open folders are skipped. */
export function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // Windows and some file systems refuse to open or fsync a folder; the rename is still atomic there.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * Writes `data` to `path` so that readers see either the old file or the complete new one, never a partial
 * file: the bytes go to a temporary file in the same folder, which is fsynced and renamed over `path`, and the
 * folder is fsynced. The folder must exist.
 *
 * @example
 * writeFileAtomic('runs/a/results.json', JSON.stringify({ accuracy: 0.9 }));
 */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  const tmp = tempSiblingPath(path);
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'wx', 0o644);
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, Math.min(bytes.length - off, 1 << 30));
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, path);
  } catch (error) {
    if (fd !== undefined) closeSync(fd);
    rmSync(tmp, { force: true });
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new DeptError(`${path}: cannot write, folder ${dirname(path)} does not exist`, { cause: error });
    if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
      throw new DeptError(`${path}: cannot write (${code}: permission denied or read-only file system)`, { cause: error });
    }
    throw error;
  }
  fsyncDir(dirname(path));
}

/**
 * Serialises `value` as JSON and writes it atomically, with a trailing newline. With `sortKeys` (default false)
 * object keys are written in sorted order at every level, as Python's `json.dumps(sort_keys=True)` does.
 *
 * @example
 * writeJsonAtomic('bank/adapter_config.json', config, 2, { sortKeys: true });
 */
export function writeJsonAtomic(path: string, value: unknown, indent = 2, opts: { sortKeys?: boolean } = {}): void {
  const v = opts.sortKeys ? sortKeysDeep(value) : value;
  writeFileAtomic(path, `${JSON.stringify(v, null, indent)}\n`);
}

/** A copy of `value` whose objects have their keys in sorted order (arrays keep their order). */
export function sortKeysDeep(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeysDeep);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) out[k] = sortKeysDeep((value as Record<string, unknown>)[k]);
    return out;
  }
  return value;
}

/**
 * Writes a folder atomically: `fill(tmp)` writes the files into a fresh temporary sibling folder, which then
 * replaces `dir` by rename (readers see the old folder or the new one, never a mix). An existing `dir` is
 * replaced only when every entry in it is listed in `replaceable`; otherwise nothing is touched and a
 * `DeptError` names the foreign files. Parent folders are created.
 *
 * @example
 * writeFolderAtomic('out/bank', (tmp) => writeJsonAtomic(join(tmp, 'adapter_config.json'), cfg), ['adapter_config.json']);
 */
export function writeFolderAtomic(dir: string, fill: (tmpDir: string) => void, replaceable: Iterable<string>): void {
  const target = resolve(dir);
  const allowed = new Set(replaceable);
  if (existsSync(target)) {
    if (!statSync(target).isDirectory()) throw new DeptError(`${dir}: exists and is a file; refusing to replace it with a folder`);
    const others = readdirSync(target).filter((f) => !allowed.has(f));
    if (others.length > 0) {
      throw new DeptError(
        `${dir}: exists and holds files other than a bank (${others.slice(0, 3).join(', ')}${others.length > 3 ? ', ...' : ''}); refusing to replace it`,
      );
    }
  }
  mkdirSync(dirname(target), { recursive: true });
  const tmp = tempSiblingPath(target, 'tmp');
  let old: string | null = null;
  try {
    mkdirSync(tmp);
    fill(tmp);
    if (existsSync(target)) {
      old = tempSiblingPath(target, 'old');
      renameSync(target, old);
    }
    renameSync(tmp, target);
  } catch (error) {
    if (old !== null && !existsSync(target)) renameSync(old, target);
    rmSync(tmp, { recursive: true, force: true });
    throw error;
  }
  if (old !== null) rmSync(old, { recursive: true, force: true });
  fsyncDir(dirname(target));
}
