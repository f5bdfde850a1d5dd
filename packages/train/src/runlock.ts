/**
 * A run folder's lock: `.lock` holds the PID and start time of the process that writes the folder. A second
 * process refuses with a message naming the holder; a lock whose PID is no longer alive is taken over.
 *
 * The lock file appears complete or not at all (its content is written to a temporary file that is then
 * hard-linked to `.lock`, which fails when a lock exists), and a stale lock is taken over by renaming it aside
 * first, so two processes that find the same stale lock cannot both win.
 */
import { closeSync, linkSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { DeptError, tempSiblingPath } from '@dept/core';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

interface Holder {
  pid?: number;
  started?: string;
}

/** The lock's content, `{}` for garbage, or null when the file is gone. */
function readHolder(path: string): Holder | null {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  try {
    const value = JSON.parse(text) as unknown;
    return value !== null && typeof value === 'object' ? (value as Holder) : {};
  } catch {
    return {};
  }
}

/** True when `holder` names another process that is still running. */
function liveOther(holder: Holder | null): holder is Holder & { pid: number } {
  return holder !== null && typeof holder.pid === 'number' && holder.pid !== process.pid && alive(holder.pid);
}

function inUse(dir: string, path: string, holder: Holder & { pid: number }): DeptError {
  return new DeptError(`${dir}: in use by process ${holder.pid} (since ${holder.started ?? 'unknown'}); lock file ${path}`);
}

/**
 * Creates `path` holding `content` only if it does not exist (whole or not at all: a temporary file hard-linked into
 * place); false when it exists.
 *
 * @example
 * if (!createExclusive('runs/fs/.shards/slurm-array.json', text)) console.log('recorded by another process first');
 */
export function createExclusive(path: string, content: string): boolean {
  const tmp = tempSiblingPath(path, 'tmp');
  writeFileSync(tmp, content, { flag: 'wx' });
  try {
    linkSync(tmp, path);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') throw error;
    // A file system without hard links: exclusive create, then write (a reader may briefly see it empty).
    let fd: number;
    try {
      fd = openSync(path, 'wx');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw e;
    }
    writeSync(fd, content);
    closeSync(fd);
    return true;
  } finally {
    rmSync(tmp, { force: true });
  }
}

/**
 * Takes the lock of `dir` (created if needed) and returns a release function.
 *
 * @example
 * const release = acquireRunLock('runs/rte');
 * try { ... } finally { release(); }
 */
export function acquireRunLock(dir: string): () => void {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, '.lock');
  const content = JSON.stringify({ pid: process.pid, started: new Date().toISOString() });
  for (let attempt = 0; attempt < 5; attempt++) {
    if (createExclusive(path, content)) {
      let released = false;
      return () => {
        if (released) return;
        released = true;
        if (readHolder(path)?.pid === process.pid) rmSync(path, { force: true });
      };
    }
    const holder = readHolder(path);
    if (holder === null) continue; // released this instant: try again
    if (liveOther(holder)) throw inUse(dir, path, holder);
    // Stale (its process is gone, or the file is garbage): move it aside; only one taker can move a given file.
    const aside = tempSiblingPath(path, 'old');
    try {
      renameSync(path, aside);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue; // someone else took it over first
      throw error;
    }
    const moved = readHolder(aside);
    if (liveOther(moved)) {
      // Another taker replaced the stale lock with its own between our read and our rename: put it back.
      try {
        linkSync(aside, path);
      } catch {
        // the folder has a new lock already; the holder below is still the one to name
      }
      rmSync(aside, { force: true });
      throw inUse(dir, path, moved);
    }
    rmSync(aside, { force: true });
  }
  throw new DeptError(`${dir}: could not take the lock ${path}`);
}
