/**
 * A run folder's lock: `.lock` holds the PID and start time of the process that writes the folder. A second
 * process refuses with a message naming the holder; a lock whose PID is no longer alive is taken over.
 */
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { DeptError } from '@dept/tensor';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
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
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, JSON.stringify({ pid: process.pid, started: new Date().toISOString() }));
      closeSync(fd);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        try {
          const holder = JSON.parse(readFileSync(path, 'utf8')) as { pid?: number };
          if (holder.pid === process.pid) rmSync(path, { force: true });
        } catch {
          // already gone
        }
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      let holder: { pid?: number; started?: string } = {};
      try {
        holder = JSON.parse(readFileSync(path, 'utf8')) as typeof holder;
      } catch {
        // A lock being written this instant, or garbage: treat garbage older than a moment as stale below.
      }
      if (typeof holder.pid === 'number' && holder.pid !== process.pid && alive(holder.pid)) {
        throw new DeptError(`${dir}: in use by process ${holder.pid} (since ${holder.started ?? 'unknown'}); lock file ${path}`);
      }
      rmSync(path, { force: true }); // stale: its process is gone
    }
  }
  throw new DeptError(`${dir}: could not take the lock ${path}`);
}
