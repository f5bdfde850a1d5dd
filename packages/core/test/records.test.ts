/**
 * What dept wrote in a folder (`.dept.json`), the leftovers of killed writers, links inside output folders, and
 * errno errors as one-line DeptErrors.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isDeptError } from '../src/errors.ts';
import { assertNoLinksBelow, ensureFolder, removeStaleTemporaries, writeFolderAtomic } from '../src/files.ts';
import { environmentError } from '../src/fs-errors.ts';
import { claimEntries, readFolderRecord, removeRecordedEntries } from '../src/records.ts';

const tmp = mkdtempSync(join(tmpdir(), 'dept-records-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let n = 0;
const fresh = () => join(tmp, `d${n++}`);
const put = (path: string, text = 'x') => {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, text);
};
const deadPid = () => Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout);

describe('folder records', () => {
  it('records the names claimed, and removes only those', () => {
    const dir = fresh();
    claimEntries(dir, 'run', ['bank', 'results.json']);
    put(join(dir, 'bank', 'adapter_config.json'));
    put(join(dir, 'results.json'));
    put(join(dir, 'thesis.tex'), 'mine');
    expect(readFolderRecord(dir)).toEqual({ written_by: 'dept', kind: 'run', entries: ['bank', 'results.json'] });
    expect(removeRecordedEntries(dir, readFolderRecord(dir)!)).toEqual(['bank', 'results.json']);
    expect(readdirSync(dir).sort()).toEqual(['.dept.json', 'thesis.tex']);
  });

  it('refuses a name that exists and is not recorded, and changes nothing', () => {
    const dir = fresh();
    put(join(dir, 'results.json'), 'mine');
    expect(() => claimEntries(dir, 'run', ['bank', 'results.json'])).toThrow(`${join(dir, 'results.json')}: exists and was not written by dept`);
    expect(readdirSync(dir)).toEqual(['results.json']);
    claimEntries(dir, 'run', ['results.json'], { adopt: ['results.json'] }); // a folder of an older dept
    expect(readFolderRecord(dir)?.entries).toEqual(['results.json']);
  });

  it('a new folder must be empty; a folder of another kind is refused; a .dept.json of someone else is refused', () => {
    const dir = fresh();
    put(join(dir, 'notes.md'));
    expect(() => claimEntries(dir, 'grid', ['grid.json'], { newFolder: true, what: 'a grid folder' })).toThrow(`${dir}: is not empty (notes.md) and was not made by dept; a grid folder must be new`);
    const grid = fresh();
    claimEntries(grid, 'grid', ['grid.json'], { newFolder: true });
    put(join(grid, 'notes.md')); // added later by you: still a dept grid
    claimEntries(grid, 'grid', ['grid.json', 'rte'], { newFolder: true });
    expect(() => claimEntries(grid, 'run', ['bank'])).toThrow(`${grid}: is a dept grid folder (.dept.json), not a run folder`);
    const other = fresh();
    put(join(other, '.dept.json'), '{"my": "settings"}');
    expect(() => claimEntries(other, 'run', ['bank'])).toThrow('not a dept folder record');
  });
});

describe('leftovers of killed writers', () => {
  it('removes those whose writer is gone, keeps a live writer\'s, and puts back a previous version caught between two renames', () => {
    const dir = fresh();
    const dead = deadPid();
    put(join(dir, `.results.json.tmp-${dead}-0123abcd`));
    put(join(dir, `.bank.old-${dead}-89abcdef`, 'adapter_config.json'), 'previous');
    put(join(dir, `.checkpoint.trash-${dead}-00000000`, 'state.json'));
    const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      put(join(dir, `.metrics.jsonl.tmp-${sleeper.pid}-11111111`), 'live');
      // a file older than the process with that PID: written by an earlier process that had the PID
      const reused = join(dir, `.grid.json.tmp-${sleeper.pid}-22222222`);
      put(reused);
      utimesSync(reused, new Date('2001-01-01'), new Date('2001-01-01'));
      put(join(dir, 'notes.tmp-1-abcdefab'), 'not a temporary name of ours');
      expect(removeStaleTemporaries(dir).sort()).toEqual([`.bank.old-${dead}-89abcdef`, `.checkpoint.trash-${dead}-00000000`, `.grid.json.tmp-${sleeper.pid}-22222222`, `.results.json.tmp-${dead}-0123abcd`]);
      expect(readdirSync(dir).sort()).toEqual([`.metrics.jsonl.tmp-${sleeper.pid}-11111111`, 'bank', 'notes.tmp-1-abcdefab']);
      expect(readFileSync(join(dir, 'bank', 'adapter_config.json'), 'utf8')).toBe('previous');
    } finally {
      sleeper.kill();
    }
  });

  it('writeFolderAtomic removes the temporary folder of a killed earlier write of the same folder', () => {
    const dir = fresh();
    put(join(dir, `.bank.tmp-${deadPid()}-0123abcd`, 'adapter_model.safetensors'), 'half');
    writeFolderAtomic(join(dir, 'bank'), (t) => writeFileSync(join(t, 'a'), '1'), ['a']);
    expect(readdirSync(dir)).toEqual(['bank']);
  });
});

describe('links and folders', () => {
  it('refuses a symbolic link below the root, not the root itself', () => {
    const real = fresh();
    mkdirSync(join(real, 'elsewhere'), { recursive: true });
    const root = fresh();
    mkdirSync(root);
    symlinkSync(join(real, 'elsewhere'), join(root, 'rte'));
    expect(() => assertNoLinksBelow(root, 'rte/k4/seed1')).toThrow(`${join(root, 'rte')}: is a symbolic link (to ${join(real, 'elsewhere')})`);
    const linkedRoot = fresh();
    symlinkSync(real, linkedRoot);
    expect(() => assertNoLinksBelow(linkedRoot, 'elsewhere/k4')).not.toThrow();
    expect(() => assertNoLinksBelow(root, 'absent/k4')).not.toThrow();
  });

  it('ensureFolder: a file in the way is named; folders it made are returned', () => {
    const file = join(fresh(), 'f');
    put(file);
    expect(() => ensureFolder(file, 'a run folder')).toThrow(`${file}: exists and is not a folder (expected a run folder)`);
    expect(() => ensureFolder(join(file, 'run'), 'a run folder')).toThrow(`${join(file, 'run')}: cannot make a run folder: ${file} is a file, not a folder`);
    const dir = fresh();
    expect(ensureFolder(join(dir, 'a', 'b'))).toBe(dir);
    expect(existsSync(join(dir, 'a', 'b'))).toBe(true);
    expect(ensureFolder(join(dir, 'a', 'b'))).toBeNull();
  });
});

describe('errno errors of the environment', () => {
  it('name the path and the cause; other errors are not translated', () => {
    const enospc = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', syscall: 'write' });
    const e = environmentError(enospc, 'runs/a/results.json', 'write');
    expect(isDeptError(e)).toBe(true);
    expect(e?.message).toBe('runs/a/results.json: cannot write: no space left on the device (ENOSPC)');
    const erofs = Object.assign(new Error('x'), { code: 'EROFS', path: '/mnt/ro/run', syscall: 'mkdir' });
    expect(environmentError(erofs)?.message).toBe('/mnt/ro/run: cannot mkdir: the file system is read-only (EROFS)');
    expect(environmentError(new Error('x', { cause: erofs }), 'runs/b')?.message).toBe('runs/b: cannot mkdir: the file system is read-only (EROFS)');
    expect(environmentError(new TypeError('undefined is not a function'))).toBeNull();
    expect(environmentError(Object.assign(new Error('x'), { code: 'ENOENT' }))).toBeNull();
  });
});
