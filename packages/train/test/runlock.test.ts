/**
 * Run folder locks: a lock names a process by PID and identity (Linux: boot id and start ticks), so a PID that now
 * belongs to another process (reused after a kill or a reboot) does not block the folder; a `.lock` that is not
 * ours is refused and left alone.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processIdentity, processStartedAt } from '@dept/core';
import { acquireRunLock, lockHolder } from '../src/runlock.ts';

const tmp = mkdtempSync(join(tmpdir(), 'dept-lock-'));
let sleeper: ChildProcess;
let pid: number;

beforeAll(async () => {
  // A live process that is not dept: the PID a stale lock might name after the PID was reused.
  sleeper = spawn('sleep', ['120'], { stdio: 'ignore' });
  pid = sleeper.pid as number;
  await new Promise((r) => setTimeout(r, 50));
});

afterAll(() => {
  sleeper.kill();
  rmSync(tmp, { recursive: true, force: true });
});

let n = 0;
function folderLockedBy(content: unknown): string {
  const dir = join(tmp, `run${n++}`);
  acquireRunLock(dir)(); // makes the folder
  writeFileSync(join(dir, '.lock'), typeof content === 'string' ? content : JSON.stringify(content));
  return dir;
}

const linux = process.platform === 'linux';

describe('which process holds a lock', () => {
  it('a live process with the recorded identity holds it: a second taker is refused, naming it', () => {
    const me = processIdentity(pid);
    const dir = folderLockedBy({ ...me, started: new Date().toISOString() });
    expect(() => acquireRunLock(dir)).toThrow(`${dir}: in use by process ${pid}`);
    expect(lockHolder(dir)?.pid).toBe(pid);
  });

  it.runIf(linux)('a live PID that started at another time (the PID was reused) holds nothing: the lock is taken over', () => {
    const me = processIdentity(pid);
    const dir = folderLockedBy({ ...me, start_ticks: (me.start_ticks as number) - 100, started: new Date().toISOString() });
    expect(lockHolder(dir)).toBeNull();
    const release = acquireRunLock(dir);
    expect(JSON.parse(readFileSync(join(dir, '.lock'), 'utf8')).pid).toBe(process.pid);
    release();
    expect(existsSync(join(dir, '.lock'))).toBe(false);
  });

  it.runIf(linux)('a lock written before a reboot (another boot id) holds nothing, whatever its PID is now', () => {
    const dir = folderLockedBy({ ...processIdentity(pid), boot_id: '00000000-0000-0000-0000-000000000000', started: new Date().toISOString() });
    expect(lockHolder(dir)).toBeNull();
    acquireRunLock(dir)();
  });

  it('a lock without an identity (older dept, other systems): a PID whose process started after the lock was written holds nothing', () => {
    expect(processStartedAt(pid)).not.toBeNull();
    const stale = folderLockedBy({ pid, started: '2001-01-01T00:00:00.000Z' });
    expect(lockHolder(stale)).toBeNull();
    acquireRunLock(stale)();
    // written after the process started: it may be that process's lock, so it holds
    const live = folderLockedBy({ pid, started: new Date(Date.now() + 60_000).toISOString() });
    expect(() => acquireRunLock(live)).toThrow(`in use by process ${pid}`);
  });

  it('a .lock that is not a dept lock is refused and left as it is; an empty one (a torn write) is taken over', () => {
    const dir = folderLockedBy('my editor holds this\n');
    expect(() => acquireRunLock(dir)).toThrow(`${join(dir, '.lock')}: exists and is not a dept lock`);
    expect(readFileSync(join(dir, '.lock'), 'utf8')).toBe('my editor holds this\n');
    const torn = folderLockedBy('');
    acquireRunLock(torn)();
    expect(readdirSync(torn)).toEqual([]);
  });
});
