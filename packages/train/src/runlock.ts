/**
 * A run folder's lock: `.lock` holds the PID of the process that writes the folder, when it took the lock, and who
 * that process is (Linux: boot id and start ticks; see `writerAlive` in @dept/core). A second process refuses
 * with a message naming the holder; a lock whose process is gone (killed, rebooted, its PID now someone else's) is
 * taken over.
 *
 * The lock file appears complete or not at all (its content is written to a temporary file that is then
 * hard-linked to `.lock`, which fails when a lock exists), and a stale lock is taken over by renaming it aside
 * first, so two processes that find the same stale lock cannot both win. A `.lock` that is not a dept lock is
 * refused, never removed.
 */
import { closeSync, linkSync, openSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { DeptError, ensureFolder, environmentError, processIdentity, removeEmptyFolders, tempSiblingPath, writerAlive } from '@dept/core';

/** What `.lock` records. */
export interface LockHolder {
  pid: number;
  /** When the lock was taken (ISO 8601). */
  started?: string;
  boot_id?: string | null;
  start_ticks?: number | null;
}

/** What a `.lock` file holds: a holder, `'empty'` (torn by a kill on a file system without hard links), `'foreign'`. */
type LockContent = LockHolder | 'empty' | 'foreign';

/** The lock's content, or null when the file is gone. */
function readLock(path: string): LockContent | null {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw environmentError(error, path, 'read the lock') ?? error;
  }
  if (text.trim() === '') return 'empty';
  try {
    const value = JSON.parse(text) as unknown;
    if (value !== null && typeof value === 'object' && Number.isInteger((value as LockHolder).pid)) return value as LockHolder;
  } catch {
    // not JSON: someone else's file
  }
  return 'foreign';
}

/** True when `content` names another process that is still running. */
function liveOther(content: LockContent | null): content is LockHolder {
  if (content === null || typeof content === 'string' || content.pid === process.pid) return false;
  return writerAlive(content, content.started === undefined ? undefined : Date.parse(content.started));
}

function inUse(dir: string, path: string, holder: LockHolder): DeptError {
  return new DeptError(`${dir}: in use by process ${holder.pid} (since ${holder.started ?? 'unknown'}); lock file ${path}`);
}

function foreign(path: string): DeptError {
  return new DeptError(`${path}: exists and is not a dept lock (expected {"pid": ...}); refusing to replace it: remove it or choose another folder`);
}

/**
 * Creates `path` holding `content` only if it does not exist (whole or not at all: a temporary file hard-linked into
 * place); false when it exists. Leaves no temporary behind.
 *
 * @example
 * if (!createExclusive('runs/fs/.shards/slurm-array.json', text)) console.log('recorded by another process first');
 */
export function createExclusive(path: string, content: string): boolean {
  const tmp = tempSiblingPath(path, 'tmp');
  try {
    writeFileSync(tmp, content, { flag: 'wx' });
    try {
      linkSync(tmp, path);
      return true;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') return false;
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') throw error;
    }
    // A file system without hard links: exclusive create, then write (a reader may briefly see it empty).
    let fd: number;
    try {
      fd = openSync(path, 'wx');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw e;
    }
    try {
      writeSync(fd, content);
    } catch (e) {
      closeSync(fd);
      rmSync(path, { force: true });
      throw e;
    }
    closeSync(fd);
    return true;
  } catch (error) {
    throw environmentError(error, path, 'write the lock') ?? error;
  } finally {
    rmSync(tmp, { force: true });
  }
}

/**
 * The live process holding `<dir>/.lock` (not this one), or null when there is none or its process is gone.
 *
 * @example
 * lockHolder('runs/grid')?.pid; // 4242 while another dept runs the grid
 */
export function lockHolder(dir: string): LockHolder | null {
  let content: LockContent | null;
  try {
    content = readLock(join(dir, '.lock'));
  } catch {
    return null;
  }
  return liveOther(content) ? content : null;
}

/**
 * Takes the lock of `dir` (created if needed) and returns a release function. When the lock cannot be taken,
 * folders this call made are removed again.
 *
 * @example
 * const release = acquireRunLock('runs/rte');
 * try { ... } finally { release(); }
 */
export function acquireRunLock(dir: string): () => void {
  const created = ensureFolder(dir, 'a run folder');
  try {
    return takeLock(dir);
  } catch (error) {
    removeEmptyFolders(dir, created);
    throw error;
  }
}

/** The release functions of the locks this process holds now. */
const HELD = new Set<() => void>();

/**
 * Releases every lock this process holds (a signal handler's last act before it exits: the `finally` blocks that
 * release them normally do not run then).
 *
 * @example
 * process.on('SIGTERM', () => { releaseHeldLocks(); process.exit(143); });
 */
export function releaseHeldLocks(): void {
  for (const release of [...HELD]) release();
}

function takeLock(dir: string): () => void {
  const path = join(dir, '.lock');
  const content = JSON.stringify({ ...processIdentity(), started: new Date().toISOString() });
  for (let attempt = 0; attempt < 5; attempt++) {
    if (createExclusive(path, content)) {
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        HELD.delete(release);
        const now = readLock(path);
        if (now !== null && typeof now !== 'string' && now.pid === process.pid) rmSync(path, { force: true });
      };
      HELD.add(release);
      return release;
    }
    const holder = readLock(path);
    if (holder === null) continue; // released this instant: try again
    if (holder === 'foreign') throw foreign(path);
    if (liveOther(holder)) throw inUse(dir, path, holder);
    // Stale (its process is gone): move it aside; only one taker can move a given file.
    const aside = tempSiblingPath(path, 'trash');
    try {
      renameSync(path, aside);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue; // someone else took it over first
      throw environmentError(error, path, 'take over the stale lock') ?? error;
    }
    const moved = readLock(aside);
    if (moved === 'foreign' || liveOther(moved)) {
      // Another taker replaced the stale lock with its own (or a foreign file appeared) between our read and our
      // rename: put it back.
      try {
        linkSync(aside, path);
      } catch {
        // the folder has a new lock already; the holder below is still the one to name
      }
      rmSync(aside, { force: true });
      throw moved === 'foreign' ? foreign(path) : inUse(dir, path, moved as LockHolder);
    }
    rmSync(aside, { force: true });
  }
  throw new DeptError(`${dir}: could not take the lock ${path}`);
}
