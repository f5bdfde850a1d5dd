/**
 * Helpers of the reliability suite: run `dept` in-process (cheap: `main(argv)` with stderr/stdout captured) or as a
 * real process (exit status, stack traces, SIGKILL), count the hostile inputs tried, and make small files.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, vi } from 'vitest';
import { main } from '../../packages/cli/src/main.ts';
import { REPO_ROOT } from '../helpers/shared.ts';

/** The `dept` entry point. */
export const DEPT_BIN = join(REPO_ROOT, 'packages/cli/bin/dept.mjs');

/** What one `dept` call printed and returned. */
export interface DeptRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `main(argv)` in this process, capturing what it writes to stdout and stderr.
 *
 * @example
 * const r = await runDept(['bank', 'inspect', 'nope']);
 */
export async function runDept(argv: string[]): Promise<DeptRun> {
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    return true;
  });
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    return true;
  });
  try {
    const status = await main(argv);
    return { status, stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

/** Runs `dept` as a child process and waits for it (synchronously). */
export function spawnDeptSync(args: string[], opts: { cwd?: string; timeoutMs?: number; env?: Record<string, string> } = {}): DeptRun {
  const res = spawnSync(process.execPath, [DEPT_BIN, ...args], {
    cwd: opts.cwd ?? REPO_ROOT,
    encoding: 'utf8',
    env: { ...process.env, DEPT_DATA: '', CI: '1', ...opts.env },
    timeout: opts.timeoutMs ?? 120_000,
  });
  return { status: res.status, stdout: res.stdout, stderr: res.stderr };
}

/** A running `dept` child with its output so far. */
export interface DeptChild {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the exit status (null when killed) and the signal. */
  exited: Promise<{ status: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves when stderr matches `re` (or rejects when the process exits first). */
  waitFor: (re: RegExp) => Promise<void>;
}

/**
 * Waits until the child's backend is up, then SIGKILLs it after a random delay in [0, windowSeconds) s drawn from
 * `rng`; resolves with whether the kill landed (else the status it exited with by itself), the signal and the delay in ms.
 */
export async function killAtRandom(child: DeptChild, rng: { uniform(lo: number, hi: number): number }, windowSeconds: number): Promise<{ killed: boolean; status: number | null; signal: NodeJS.Signals | null; delay: number }> {
  await child.waitFor(/dept: backend /).catch(() => undefined);
  const delay = rng.uniform(0, windowSeconds) * 1000;
  const timer = setTimeout(() => child.child.kill('SIGKILL'), delay);
  const { status, signal } = await child.exited;
  clearTimeout(timer);
  return { killed: signal === 'SIGKILL', status, signal, delay };
}

/** Starts `dept` as a child process. */
export function spawnDept(args: string[], opts: { cwd?: string } = {}): DeptChild {
  const child = spawn(process.execPath, [DEPT_BIN, ...args], {
    cwd: opts.cwd ?? REPO_ROOT,
    env: { ...process.env, DEPT_DATA: '', CI: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const waiters: { re: RegExp; resolve: () => void; reject: (e: Error) => void }[] = [];
  const check = () => {
    for (const w of [...waiters]) {
      if (w.re.test(err)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  };
  child.stdout?.on('data', (b: Buffer) => (out += b.toString('utf8')));
  child.stderr?.on('data', (b: Buffer) => {
    err += b.toString('utf8');
    check();
  });
  const exited = new Promise<{ status: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('close', (status, signal) => {
      for (const w of waiters.splice(0)) w.reject(new Error(`dept exited (status ${status}, signal ${signal}) before stderr matched ${w.re}:\n${err}`));
      resolve({ status, signal });
    });
  });
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitFor: (re) =>
      new Promise<void>((resolve, reject) => {
        if (re.test(err)) resolve();
        else if (child.exitCode !== null || child.signalCode !== null) reject(new Error(`dept already exited before stderr matched ${re}:\n${err}`));
        else waiters.push({ re, resolve, reject });
      }),
  };
}

/**
 * Asserts a refusal: exit status 2, exactly one `dept: error:` line that contains every `expected` piece, no stack
 * trace and nothing on stdout.
 */
export function expectRefusal(r: DeptRun, ...expected: (string | RegExp)[]): string {
  const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
  const errors = lines.filter((l) => l.startsWith('dept: error: '));
  expect(r.status, `exit status; stderr was:\n${r.stderr}`).toBe(2);
  expect(errors, `one "dept: error:" line; stderr was:\n${r.stderr}`).toHaveLength(1);
  expect(lines.some((l) => /^\s+at /.test(l)), `no stack trace; stderr was:\n${r.stderr}`).toBe(false);
  expect(r.stderr).not.toContain('internal error');
  expect(r.stdout).toBe('');
  const line = errors[0] as string;
  expect(line.length, 'the message stays short').toBeLessThan(1200);
  for (const piece of expected) {
    if (typeof piece === 'string') expect(line).toContain(piece);
    else expect(line).toMatch(piece);
  }
  return line;
}

/** Counts hostile inputs per suite and prints the total when the file ends. */
export class HostileCounter {
  private n = 0;
  constructor(private readonly label: string) {}
  /** Counts one more hostile input (returns it, for chaining inside calls). */
  add<T>(value: T, count = 1): T {
    this.n += count;
    return value;
  }
  get count(): number {
    return this.n;
  }
  /**
   * Prints this file's count, and adds it to a tally shared by the suite's files (they run in separate workers of
   * one vitest process); the file that finishes last also prints the suite's total.
   */
  print(): void {
    console.log(`reliability (${this.label}): ${this.n} hostile inputs tried`);
    const files = readdirSync(join(REPO_ROOT, 'test', 'reliability')).filter((f) => f.endsWith('.test.ts')).length;
    for (const old of readdirSync(tmpdir()).filter((f) => /^dept-reliability-tally-\d+\.jsonl$/.test(f))) {
      const pid = Number(/\d+/.exec(old)![0]);
      if (pid !== process.ppid && !isAlive(pid)) rmSync(join(tmpdir(), old), { force: true }); // from runs of a few files
    }
    const tally = join(tmpdir(), `dept-reliability-tally-${process.ppid}.jsonl`);
    appendFileSync(tally, `${JSON.stringify({ label: this.label, n: this.n })}\n`);
    const entries = readFileSync(tally, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { label: string; n: number });
    if (entries.length >= files) {
      console.log(`reliability: ${entries.reduce((a, e) => a + e.n, 0)} hostile inputs tried in total (${entries.map((e) => `${e.label} ${e.n}`).join(', ')})`);
      rmSync(tally, { force: true });
    }
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A fresh temporary folder. */
export function tempDir(tag: string): string {
  return mkdtempSync(join(tmpdir(), `dept-rel-${tag}-`));
}

/** Writes a file, creating its folder. */
export function put(path: string, data: string | Uint8Array): string {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, data);
  return path;
}

/** Removes a folder (tests clean up after themselves). */
export function remove(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** Every file under `dir` (relative paths, sorted). */
export function listFiles(dir: string, prefix = ''): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const rel = prefix ? `${prefix}/${name}` : name;
    const full = join(dir, name);
    if (statSync(full).isDirectory()) out.push(...listFiles(full, rel));
    else out.push(rel);
  }
  return out.sort();
}

/** A raw safetensors file from a header object (or text) and data bytes (no validation: for hostile files). */
export function rawSafetensors(header: unknown, data: Uint8Array = new Uint8Array(0), opts: { lengthOverride?: bigint } = {}): Uint8Array {
  const text = typeof header === 'string' ? header : JSON.stringify(header);
  const h = Buffer.from(text, 'utf8');
  const out = Buffer.alloc(8 + h.length + data.length);
  out.writeBigUInt64LE(opts.lengthOverride ?? BigInt(h.length), 0);
  h.copy(out, 8);
  Buffer.from(data).copy(out, 8 + h.length);
  return new Uint8Array(out);
}
