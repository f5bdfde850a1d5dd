/**
 * The ground floor stays light: `@dept/core`, `@dept/hub` and `@dept/tasks` (data knows no tensors) never load tfjs,
 * and neither do `dept --help`, `dept data list`, `dept data kshot` and `dept report` (a report needs no tensors). Each check runs a fresh Node process with a
 * module hook that records every module it resolves (test/helpers/record-loads.mjs); loading `@dept/tensor` the same
 * way is the control that shows the recorder sees tfjs when it is loaded.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from './helpers/shared.ts';

const tmp = mkdtempSync(join(tmpdir(), 'dept-ground-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let runs = 0;

/** Runs node with the load recorder and tsx; returns the module URLs it resolved. */
function loadsOf(args: string[]): string[] {
  const file = join(tmp, `loads-${runs++}.txt`);
  const res = spawnSync(process.execPath, ['--import', './test/helpers/record-loads.mjs', '--import', 'tsx', ...args], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    env: { ...process.env, DEPT_RECORD_LOADS: file },
  });
  expect(res.status, res.stderr).toBe(0);
  return readFileSync(file, 'utf8').split('\n').filter(Boolean);
}

const tfjs = (urls: string[]) => urls.filter((u) => u.includes('/node_modules/@tensorflow/'));
const script = (code: string) => ['--input-type=module', '-e', code];
const dept = (...args: string[]) => ['packages/cli/bin/dept.mjs', ...args];

describe('no tfjs on the ground floor', () => {
  it('the recorder sees tfjs when @dept/tensor is imported (control)', () => {
    const urls = loadsOf(script("await import('@dept/tensor');"));
    expect(tfjs(urls).length).toBeGreaterThan(0);
  });

  it('@dept/core, @dept/hub and @dept/tasks load and work without tfjs', () => {
    const urls = loadsOf(script([
      "const core = await import('@dept/core'); const tasks = await import('@dept/tasks'); await import('@dept/hub');",
      "const rng = new core.Rng(1); rng.next();",
      "if (tasks.getTask('rte').name !== 'rte') throw new Error('tasks did not load');",
    ].join(' ')));
    expect(urls.some((u) => u.includes('/packages/tasks/src/'))).toBe(true);
    expect(urls.some((u) => u.includes('/packages/tensor/'))).toBe(false);
    expect(tfjs(urls)).toEqual([]);
  });

  it('dept --help, dept data list and dept data kshot do not load tfjs', () => {
    const data = join(REPO_ROOT, 'datasets');
    for (const args of [dept('--help'), dept('data', 'list', '--data-dir', data), dept('data', 'kshot', '--task', 'superglue-cb', '--data-dir', data, '--k', '4', '--seed', '13', '--json')]) {
      const urls = loadsOf(args);
      expect(urls.some((u) => u.includes('/packages/cli/src/main.ts')), args.join(' ')).toBe(true);
      expect(tfjs(urls), args.join(' ')).toEqual([]);
    }
  });

  it('dept report aggregates a grid folder without loading tfjs', () => {
    const grid = join(tmp, 'grid');
    const cell = join(grid, 'superglue-cb', 'k4', 'seed13');
    mkdirSync(cell, { recursive: true });
    writeFileSync(join(cell, 'results.json'), JSON.stringify({
      dev: { accuracy: 50 }, test: { accuracy: 60, f1_multiclass: 40 }, selected_step: 2, selection_metric: 'accuracy', max_steps: 2,
      wall_seconds: 1, backend: 'cpu', predict: 'score', random_weights: true, train_examples: 4, dev_examples: 2, test_examples: 2,
    }));
    const urls = loadsOf(dept('report', grid));
    expect(urls.some((u) => u.includes('/packages/fewshot/src/report.ts'))).toBe(true);
    expect(existsSync(join(grid, 'report.png'))).toBe(true);
    expect(tfjs(urls)).toEqual([]);
  });
});
