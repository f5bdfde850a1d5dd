/**
 * Files and folders written atomically: a temporary sibling in the same folder, fsync, rename, fsync the folder.
 * Readers see the old contents or the complete new ones, never a partial file.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, lstatSync, mkdirSync, openSync, readdirSync, readlinkSync, renameSync, rmdirSync, rmSync, statSync, writeSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { DeptError } from './errors.ts';
import { environmentError } from './fs-errors.ts';
import { processAlive, processStartedAt } from './process.ts';

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
    if (code === 'EISDIR' || (code === 'ENOTEMPTY' && isDir(path))) throw new DeptError(`${path}: is a folder; cannot write a file there`, { cause: error });
    throw environmentError(error, path, 'write') ?? error;
  }
  fsyncDir(dirname(path));
}

/**
 * Makes sure `dir` is a folder, creating it and its parents when absent. A file in the way, a read-only or full
 * file system are one-line `DeptError`s naming `dir` (`what` says what the folder is for, e.g. "a run folder").
 * Returns the first folder it created (to remove again if what follows fails), or null when `dir` existed.
 *
 * @example
 * ensureFolder('runs/rte', 'a run folder');
 */
export function ensureFolder(dir: string, what = 'a folder'): string | null {
  if (existsSync(dir)) {
    if (!isDir(dir)) throw new DeptError(`${dir}: exists and is not a folder (expected ${what})`);
    return null;
  }
  try {
    return mkdirSync(dir, { recursive: true }) ?? null;
  } catch (error) {
    // The deepest part that exists: a file there is the user's mistake; else the error of making its child is the
    // real cause (a recursive mkdir on a read-only file system reports ENOENT).
    let up = resolve(dir);
    while (!existsSync(up) && dirname(up) !== up) up = dirname(up);
    if (!isDir(up)) throw new DeptError(`${dir}: cannot make ${what}: ${up} is a file, not a folder`, { cause: error });
    let cause: unknown = error;
    const child = resolve(dir).slice(up.length).split(/[\\/]/).find((p) => p !== '');
    if (child !== undefined) {
      try {
        mkdirSync(join(up, child));
        rmdirSync(join(up, child)); // it could be made after all: give the first error
      } catch (e) {
        cause = e;
      }
    }
    throw environmentError(cause, dir, `make ${what}`) ?? error;
  }
}

/**
 * Removes the folders `ensureFolder` made (from `dir` up to `created`) when they are empty, so a command that fails
 * right after making its output folder leaves nothing behind.
 *
 * @example
 * const made = ensureFolder(out); try { ... } catch (e) { removeEmptyFolders(out, made); throw e; }
 */
export function removeEmptyFolders(dir: string, created: string | null): void {
  if (created === null) return;
  const stop = resolve(created);
  for (let d = resolve(dir); ; d = dirname(d)) {
    try {
      rmdirSync(d);
    } catch {
      return; // not empty, or already gone
    }
    if (d === stop || dirname(d) === d) return;
  }
}

/** The parts of a temporary sibling's name: `.<name>.<tag>-<pid>-<hex>`. */
const TEMP_NAME = /^\.(.+)\.(tmp|old|trash)-(\d+)-[0-9a-f]{8}$/;

/**
 * What a temporary sibling name says (the target's name, the tag and the writer's PID), or null when `name` is
 * not one of ours.
 *
 * @example
 * parseTempName('.results.json.tmp-4242-9f3a01bc'); // { target: 'results.json', tag: 'tmp', pid: 4242 }
 */
export function parseTempName(name: string): { target: string; tag: 'tmp' | 'old' | 'trash'; pid: number } | null {
  const m = TEMP_NAME.exec(name);
  return m ? { target: m[1] as string, tag: m[2] as 'tmp' | 'old' | 'trash', pid: Number(m[3]) } : null;
}

/**
 * True when the writer of a temporary at `path` (PID `pid`) is gone: its PID is not running, or is running a
 * process that started after the file was last changed (the PID was reused, e.g. after a reboot). Our own
 * leftovers count as gone: no caller of this runs while this process writes in the same folder.
 *
 * @example
 * temporaryWriterGone('runs/rte/.results.json.tmp-4242-9f3a01bc', 4242); // true once process 4242 has exited
 */
export function temporaryWriterGone(path: string, pid: number): boolean {
  if (pid === process.pid) return true;
  if (!processAlive(pid)) return true;
  let changed: number;
  try {
    changed = lstatSync(path).mtimeMs;
  } catch {
    return true;
  }
  const started = processStartedAt(pid);
  return started !== null && started > changed + 2000;
}

/**
 * Removes what killed writers left in `dir`: the temporary siblings of atomic writes (`.<name>.tmp-<pid>-<hex>`,
 * `.<name>.old-<pid>-<hex>`, `.<name>.trash-<pid>-<hex>`) whose writer is gone (a live writer's are left alone;
 * see {@link temporaryWriterGone}). `only` limits it to the temporaries of one name. An `.old` folder whose target
 * is missing is the previous version caught between two renames: it is put back rather than removed. Returns the
 * names removed or put back.
 *
 * @example
 * removeStaleTemporaries('runs/rte'); // ['.results.json.tmp-4242-9f3a01bc']
 */
export function removeStaleTemporaries(dir: string, only?: string): string[] {
  if (!isDir(dir)) return [];
  const done: string[] = [];
  for (const name of readdirSync(dir)) {
    const t = parseTempName(name);
    if (t === null || (only !== undefined && t.target !== only)) continue;
    const path = join(dir, name);
    if (!temporaryWriterGone(path, t.pid)) continue;
    if (t.tag === 'old' && !existsSync(join(dir, t.target))) renameSync(path, join(dir, t.target));
    else rmSync(path, { recursive: true, force: true });
    done.push(name);
  }
  return done;
}

/**
 * Refuses a symbolic link on the way from `root` down to `root/rel` (`rel` itself included), so nothing written
 * under `root` lands outside it. `root` itself may be a link. Missing parts are fine (they will be made).
 *
 * @example
 * assertNoLinksBelow('runs/grid', 'rte/k16/seed13'); // throws when runs/grid/rte is a symbolic link
 */
export function assertNoLinksBelow(root: string, rel: string): void {
  let at = root;
  for (const part of rel.split(/[\\/]+/).filter((p) => p !== '' && p !== '.')) {
    at = join(at, part);
    let isLink: boolean;
    try {
      isLink = lstatSync(at).isSymbolicLink();
    } catch {
      return; // absent from here down
    }
    if (isLink) {
      let target = '?';
      try {
        target = readlinkSync(at);
      } catch {
        // unreadable link: still refused
      }
      throw new DeptError(`${at}: is a symbolic link (to ${target}); dept writes only into real folders inside ${root}, so nothing lands outside it: replace the link with a folder`);
    }
  }
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
 * `DeptError` names the foreign files. Parent folders are created. The temporaries of a killed earlier writer of
 * `dir` are cleaned first; on any failure the temporary folder is removed.
 *
 * @example
 * writeFolderAtomic('out/bank', (tmp) => writeJsonAtomic(join(tmp, 'adapter_config.json'), cfg), ['adapter_config.json']);
 */
export function writeFolderAtomic(dir: string, fill: (tmpDir: string) => void, replaceable: Iterable<string>): void {
  const target = resolve(dir);
  const allowed = new Set(replaceable);
  // Leftovers of a killed writer of this folder (its writer gone): removed, or the previous version put back.
  removeStaleTemporaries(dirname(target), basename(target));
  if (existsSync(target)) {
    if (!statSync(target).isDirectory()) throw new DeptError(`${dir}: exists and is a file; refusing to replace it with a folder`);
    const others = readdirSync(target).filter((f) => !allowed.has(f));
    if (others.length > 0) {
      throw new DeptError(
        `${dir}: exists and holds files other than a bank (${others.slice(0, 3).join(', ')}${others.length > 3 ? ', ...' : ''}); refusing to replace it`,
      );
    }
  }
  const made = ensureFolder(dirname(target));
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
    removeEmptyFolders(dirname(target), made);
    // A full or read-only disk inside `fill` names the folder asked for, not the temporary one.
    throw environmentError(error, dir, 'write') ?? error;
  }
  if (old !== null) rmSync(old, { recursive: true, force: true });
  fsyncDir(dirname(target));
}
