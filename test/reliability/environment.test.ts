/**
 * Errors of the environment are not bugs (issue 15): on a real full disk (a small tmpfs filled up) and a real
 * read-only file system (a tmpfs remounted read-only), every command that writes exits with status 2 and one line
 * naming the path and the cause, nothing already written is lost, and no temporary is left behind (no 0-byte
 * `.lock.tmp-*`, no `.<out>.tmp-*` folder). A training run that meets a full disk at any point continues, once
 * there is space again, to the same bank and metrics as a run that never did.
 *
 * Mounting needs root (or CAP_SYS_ADMIN) on Linux; elsewhere these tests are skipped with a message saying so.
 * Root ignores file permissions, which is why read-only is a read-only mount and not chmod.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, openSync, closeSync, readFileSync, readdirSync, rmSync, statSync, truncateSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { presetConfig, writeRandomT5 } from '@dept/t5';
import { checkpointPath } from '@dept/train';
import { HostileCounter, expectRefusal, listFiles, put, remove, runDept, tempDir, type DeptRun } from './helpers.ts';
import { bankBytes, checkRunFolder, isTemporary, stableResults } from './runs.ts';

const hostile = new HostileCounter('full and read-only disks');
const root = tempDir('environment');
const full = join(root, 'full');
const ro = join(root, 'ro');
const outside = join(root, 'outside');
const model = join(outside, 'model');
const PAGE = 4096;

/** Mounts the two small tmpfs; returns why not when this machine does not allow it. */
function mountAll(): string | null {
  try {
    for (const d of [full, ro]) {
      mkdirSync(d, { recursive: true });
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', d], { stdio: 'pipe' });
    }
    return null;
  } catch (error) {
    return (error as Error).message.split('\n')[0] ?? 'mount failed';
  }
}

const cannotMount = process.platform === 'linux' ? mountAll() : `not Linux (${process.platform})`;
if (cannotMount !== null) console.log(`reliability (full and read-only disks): SKIPPED: cannot mount a tmpfs here (${cannotMount}); run as root on Linux to check full and read-only disks`);

function unmount(dir: string): void {
  for (const args of [[dir], ['-l', dir]]) {
    try {
      execFileSync('umount', args, { stdio: 'pipe' });
      return;
    } catch {
      // busy for an instant: try the lazy unmount
    }
  }
}

const trainArgs = (out: string, ...extra: string[]) => [
  'train', '--task', 'superglue-cb', '--data-dir', 'datasets/sample', '--model', model, '--k', '4', '--seed', '1',
  '--m', '2', '--r', '1', '--max-length', '16', '--max-steps', '4', '--eval-steps', '2', '--save-steps', '1', '--predict', 'score',
  '--out', out, ...extra,
];
const gridArgs = (out: string) => [
  'fewshot', '--task', 'superglue-cb', '--data-dir', 'datasets/sample', '--model', model, '--k', '4', '--seeds', '1',
  '--m', '2', '--r', '1', '--max-length', '16', '--max-steps', '2', '--eval-steps', '2', '--predict', 'score', '--json', '--out', out,
];
const pretrainArgs = (out: string) => ['pretrain', '--sources', 'superglue-cb', '--data-dir', 'datasets/sample', '--model', model,
  '--max-steps', '1', '--max-train-examples', '4', '--max-eval-examples', '4', '--out', out];
const batch = join(outside, 'batch.json');

/** Every file and folder name under `dir` that a writer leaves only while it writes. */
function temporariesUnder(dir: string): string[] {
  const found: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (isTemporary(name) || /\.tmp-/.test(name)) found.push(path);
    if (statSync(path).isDirectory()) found.push(...temporariesUnder(path));
  }
  return found;
}

/** Every file under `dir` with its bytes. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of listFiles(dir)) out[f] = readFileSync(join(dir, f)).toString('base64');
  return out;
}

/** Empties the full-disk tmpfs but for `keep`, then fills it until only `pages` pages are free. */
function fillLeaving(pages: number, keep: readonly string[] = []): void {
  for (const name of readdirSync(full)) if (!keep.includes(name)) rmSync(join(full, name), { recursive: true, force: true });
  const fd = openSync(join(full, 'fill'), 'w');
  const chunk = Buffer.alloc(64 * 1024, 1);
  for (const size of [chunk.length, PAGE, 1]) {
    try {
      for (;;) writeSync(fd, chunk, 0, size);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
    }
  }
  closeSync(fd);
  const size = statSync(join(full, 'fill')).size;
  truncateSync(join(full, 'fill'), Math.max(0, (Math.floor(size / PAGE) - pages) * PAGE));
}

/** A refusal for an environment error: one line, status 2, naming `path` and the cause. */
function expectEnvironment(r: DeptRun, path: string, cause: 'ENOSPC' | 'EROFS'): void {
  hostile.add(path);
  const text = cause === 'ENOSPC' ? 'no space left on the device (ENOSPC)' : 'the file system is read-only (EROFS)';
  expectRefusal(r, path, text);
}

let reference: { bank: Buffer; results: unknown } | null = null;

beforeAll(async () => {
  if (cannotMount !== null) return;
  writeRandomT5(model, presetConfig('tiny-relu'), { seed: 0, sampleTexts: [readFileSync('datasets/sample/CB/train.jsonl', 'utf8')] });
  const run = join(outside, 'run');
  const r = await runDept(trainArgs(run));
  expect(r.status, r.stderr).toBe(0);
  reference = { bank: bankBytes(run), results: stableResults(run) };
  expect((await runDept(gridArgs(join(outside, 'grid')))).status).toBe(0);
  put(batch, JSON.stringify({ input_ids: [[5, 6, 7, 1, ...new Array<number>(12).fill(0)]], attention_mask: [[1, 1, 1, 1, ...new Array<number>(12).fill(0)]], labels: [[8, 1]] }));
  // The read-only disk holds a finished run, a finished grid and a bank; then it is remounted read-only.
  cpSync(run, join(ro, 'run'), { recursive: true });
  cpSync(join(outside, 'grid'), join(ro, 'grid'), { recursive: true });
  cpSync(join(run, 'bank'), join(ro, 'bank'), { recursive: true });
  execFileSync('mount', ['-o', 'remount,ro', ro], { stdio: 'pipe' });
});

afterAll(() => {
  hostile.print();
  if (cannotMount === null) {
    unmount(full);
    unmount(ro);
  }
  remove(root);
});

describe.skipIf(cannotMount !== null)('a full disk', () => {
  const src = () => join(outside, 'run', 'bank');
  const cases: [string, (out: string) => string[], string][] = [
    ['dept model init', (out) => ['model', 'init', '--config', 'tiny-relu', '--out', out], 'model'],
    ['dept bank convert', (out) => ['bank', 'convert', src(), '--out', out], join('banks', 'bank')],
    ['dept train', (out) => trainArgs(out), 'run'],
    ['dept fewshot', (out) => gridArgs(out), 'grid'],
    ['dept pretrain', (out) => pretrainArgs(out), 'pretrain'],
    ['dept score', (out) => ['score', '--model', model, '--bank', src(), '--batch', batch, '--out', out], 'score.json'],
  ];
  for (const [name, args, out] of cases) {
    it(`${name}: one line naming the path, exit status 2, nothing left behind`, async () => {
      fillLeaving(0);
      const r = await runDept(args(join(full, out)));
      expectEnvironment(r, join(full, out), 'ENOSPC');
      expect(readdirSync(full)).toEqual(['fill']);
    });
  }

  it('dept report: the old report files are kept whole', async () => {
    fillLeaving(0);
    rmSync(join(full, 'fill'));
    cpSync(join(outside, 'grid'), join(full, 'grid'), { recursive: true });
    const before = snapshot(join(full, 'grid'));
    fillLeaving(0, ['grid']);
    expectEnvironment(await runDept(['report', join(full, 'grid')]), join(full, 'grid', 'results.json'), 'ENOSPC');
    expect(snapshot(join(full, 'grid'))).toEqual(before);
    expect(temporariesUnder(full)).toEqual([]);
  });

  it('dept train --resume: the checkpoint on the disk is kept whole', async () => {
    fillLeaving(0);
    rmSync(join(full, 'fill'));
    cpSync(join(outside, 'run'), join(full, 'run'), { recursive: true });
    rmSync(join(full, 'run', 'results.json'));
    const before = snapshot(join(full, 'run'));
    fillLeaving(0, ['run']);
    const r = await runDept(trainArgs(join(full, 'run'), '--resume'));
    expectRefusal(r, join(full, 'run'), 'no space left on the device (ENOSPC)');
    expect(snapshot(join(full, 'run'))).toEqual(before);
    expect(temporariesUnder(full)).toEqual([]);
  });

  it('a run that fills the disk at any point: no temporary left, every file whole, and it ends as if it never had', async () => {
    let failures = 0;
    for (const pages of [1, 2, 3, 4, 5, 6, 8, 10, 13, 16, 24]) {
      fillLeaving(pages);
      const out = join(full, 'run');
      const r = await runDept(trainArgs(out));
      hostile.add(pages);
      if (r.status !== 0) {
        failures += 1;
        expectRefusal(r, 'no space left on the device (ENOSPC)');
      }
      expect(temporariesUnder(full), `${pages} pages free`).toEqual([]);
      if (existsSync(out)) checkRunFolder(out);
      // Space again: the run continues (or starts) and ends with the uninterrupted run's bank and metrics.
      rmSync(join(full, 'fill'));
      if (!existsSync(join(out, 'results.json'))) {
        const again = await runDept(trainArgs(out, ...(checkpointPath(out) ? ['--resume'] : [])));
        expect(again.status, `${pages} pages free: ${again.stderr}`).toBe(0);
      }
      expect(bankBytes(out).equals(reference!.bank), `${pages} pages free: the same bank`).toBe(true);
      expect(stableResults(out)).toEqual(reference!.results);
    }
    expect(failures, 'the disk was full for some of the runs').toBeGreaterThan(3);
  });
});

describe.skipIf(cannotMount !== null)('a read-only file system', () => {
  const cases: [string, () => string[], string][] = [
    ['dept train into a new folder', () => trainArgs(join(ro, 'new-run')), join(ro, 'new-run')],
    ['dept train --overwrite of a finished run', () => trainArgs(join(ro, 'run'), '--overwrite'), join(ro, 'run', '.lock')],
    ['dept fewshot on a finished grid', () => gridArgs(join(ro, 'grid')), join(ro, 'grid')],
    ['dept report', () => ['report', join(ro, 'grid')], join(ro, 'grid', 'results.json')],
    ['dept bank convert', () => ['bank', 'convert', join(ro, 'bank'), '--out', join(ro, 'bank2')], join(ro, 'bank2')],
    ['dept model init', () => ['model', 'init', '--config', 'tiny-relu', '--out', join(ro, 'model')], join(ro, 'model')],
    ['dept score', () => ['score', '--model', model, '--bank', join(ro, 'bank'), '--batch', batch, '--out', join(ro, 'score.json')], join(ro, 'score.json')],
    ['dept pretrain', () => pretrainArgs(join(ro, 'pretrain')), join(ro, 'pretrain')],
  ];
  for (const [name, args, path] of cases) {
    it(`${name}: one line naming the path, exit status 2, nothing changed`, async () => {
      const before = snapshot(ro);
      expectEnvironment(await runDept(args()), path, 'EROFS');
      expect(snapshot(ro)).toEqual(before);
    });
  }
});
