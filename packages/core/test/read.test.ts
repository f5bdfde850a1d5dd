import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DeptError } from '../src/errors.ts';
import { readJsonFile } from '../src/json.ts';
import { checkRegularFile, readRegularFile } from '../src/read.ts';

const tmp = mkdtempSync(join(tmpdir(), 'dept-read-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A FIFO nobody writes to: opening it for reading the ordinary way blocks this process for ever. */
function fifo(name: string): string {
  const p = join(tmp, name);
  execFileSync('mkfifo', [p]);
  return p;
}

describe('reading regular files only', () => {
  it('reads a regular file', () => {
    const p = join(tmp, 'a.txt');
    writeFileSync(p, 'hello');
    expect(readRegularFile(p).toString('utf8')).toBe('hello');
    expect(() => checkRegularFile(p)).not.toThrow();
  });

  it('refuses a FIFO without blocking on it, naming the path and what it is', () => {
    const p = fifo('model.safetensors');
    expect(() => readRegularFile(p, 'a .safetensors file')).toThrow(new DeptError(`${p}: is a FIFO (named pipe), expected a .safetensors file`));
    expect(() => checkRegularFile(p, 'a Parquet file')).toThrow(`${p}: is a FIFO (named pipe), expected a Parquet file`);
  });

  it('refuses a character device and a folder', () => {
    expect(() => readRegularFile('/dev/zero')).toThrow('/dev/zero: is a character device, expected a regular file');
    const d = join(tmp, 'dir');
    mkdirSync(d);
    expect(() => readRegularFile(d, 'a JSON file')).toThrow(`${d}: is a folder, expected a JSON file`);
  });

  it('passes a missing file on as ENOENT (the caller words it); checkRegularFile ignores it', () => {
    expect(() => readRegularFile(join(tmp, 'nope'))).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    expect(() => checkRegularFile(join(tmp, 'nope'))).not.toThrow();
  });

  it('readJsonFile refuses a FIFO as config.json', () => {
    const p = fifo('config.json');
    expect(() => readJsonFile(p, 'a model config')).toThrow(`${p}: is a FIFO (named pipe), expected a JSON file (a model config)`);
  });
});
