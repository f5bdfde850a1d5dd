/**
 * The wasm backend with two threads (packages/tensor/src/wasm-threads.ts) in real child processes: it reports two
 * threads, computes bit-identical results to one thread, exits by itself, leaves no temporary files, and a bad
 * thread count is a one-line error with exit status 2.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from './helpers/shared.ts';

const PROBE = join(REPO_ROOT, 'test', 'helpers', 'threads-probe.mjs');
const CLI = join(REPO_ROOT, 'packages', 'cli', 'bin', 'dept.mjs');
const tmp = mkdtempSync(join(tmpdir(), 'dept-threads-test-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function probeWith(env: Record<string, string>): { status: number | null; stderr: string } {
  const res = spawnSync(process.execPath, [PROBE], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 60_000, env: { ...process.env, DEPT_BACKEND: 'wasm', ...env } });
  return { status: res.status, stderr: res.stderr };
}

function probe(threads: string): { status: number | null; result: { backend: string; threads: number; description: string; sha256: string } | null; tmpLeft: string[]; stderr: string } {
  const own = mkdtempSync(join(tmp, `t${threads}-`));
  // A hung process (live worker threads) is killed after 60 s and shows as status null.
  const res = spawnSync(process.execPath, [PROBE], {
    cwd: REPO_ROOT, encoding: 'utf8', timeout: 60_000,
    env: { ...process.env, DEPT_BACKEND: 'wasm', DEPT_WASM_THREADS: threads, TMPDIR: own },
  });
  const line = res.stdout.trim().split('\n').pop() ?? '';
  return { status: res.status, result: line.startsWith('{') ? JSON.parse(line) : null, tmpLeft: readdirSync(own).filter((f) => f.startsWith('dept-wasm-threads-')), stderr: res.stderr };
}

describe('wasm backend threads', () => {
  it('two threads: reported, bit-identical to one thread, the process exits by itself and leaves no files', () => {
    const one = probe('1');
    const two = probe('2');
    expect(one.status, one.stderr).toBe(0);
    expect(two.status, two.stderr).toBe(0);
    expect(one.result).toMatchObject({ backend: 'wasm', threads: 1, description: expect.stringContaining('1 thread') });
    expect(two.result).toMatchObject({ backend: 'wasm', threads: 2, description: expect.stringContaining('2 threads') });
    expect(two.result!.sha256).toBe(one.result!.sha256);
    expect(two.tmpLeft).toEqual([]);
  });

  it('a bad thread count is one line naming the flag or variable, exit status 2', () => {
    const cli = (args: string[], env: Record<string, string> = {}) => spawnSync(process.execPath, [CLI, ...args], {
      cwd: REPO_ROOT, encoding: 'utf8', timeout: 60_000, env: { ...process.env, DEPT_BACKEND: 'wasm', ...env },
    });
    const flag = cli(['--threads', 'two', 'data', 'list']);
    expect(flag.status).toBe(2);
    expect(flag.stderr.trim()).toBe('dept: error: --threads is "two", expected an integer');
    const zero = cli(['--threads', '0', 'data', 'list']);
    expect(zero.status).toBe(2);
    expect(zero.stderr.trim()).toBe('dept: error: --threads is 0, expected at least 1');
    const env = probeWith({ DEPT_WASM_THREADS: 'two' });
    expect(env.status).toBe(2);
    expect(env.stderr.trim()).toBe('DEPT_WASM_THREADS is "two", expected an integer ≥ 1');
  });
});
