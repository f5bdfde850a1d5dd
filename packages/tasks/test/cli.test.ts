/**
 * `dept data …` run as a user runs it: `node packages/cli/bin/dept.mjs`, the result on stdout (a table, or JSON with
 * `--json`), notes and errors on stderr, exit status 2 for bad input.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../../test/helpers/shared.ts';

function dept(args: string[], env: Record<string, string> = {}) {
  const res = spawnSync(process.execPath, [join(REPO_ROOT, 'packages/cli/bin/dept.mjs'), ...args], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    env: { ...process.env, DEPT_DATA: '', ...env },
    timeout: 120_000,
  });
  return { status: res.status, stdout: res.stdout, stderr: res.stderr };
}

const SAMPLE = 'datasets/sample';

let bad: string;
beforeAll(() => {
  bad = mkdtempSync(join(tmpdir(), 'dept-cli-'));
  mkdirSync(join(bad, 'RTE'));
  writeFileSync(join(bad, 'RTE', 'train.tsv'), 'index\tsentence1\tsentence2\tlabel\n0\tA.\tB.\tentailment\n1\tC.\tD.\tperhaps\n');
  writeFileSync(join(bad, 'RTE', 'dev.tsv'), 'index\tsentence1\tsentence2\tlabel\n0\tA.\tB.\tentailment\n');
});
afterAll(() => rmSync(bad, { recursive: true, force: true }));

describe('dept data split', () => {
  it('--json prints {train, dev, test} with source and indices on stdout', () => {
    const r = dept(['data', 'split', '--task', 'rte', '--data-dir', SAMPLE, '--json']);
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout) as Record<string, { source: string; indices: number[] }>;
    expect(Object.keys(out)).toEqual(['train', 'dev', 'test']);
    expect(out.train).toEqual({ source: 'train', indices: Array.from({ length: 40 }, (_, i) => i) });
    expect(out.dev!.source).toBe('validation');
    expect(out.test!.source).toBe('validation');
    expect(out.dev!.indices.length + out.test!.indices.length).toBe(30);
    expect(r.stderr).toBe('');
  });

  it('accepts the Hugging Face name and $DEPT_DATA, and prints a table on stdout without --json', () => {
    const r = dept(['data', 'split', '--task', 'super_glue/cb'], { DEPT_DATA: SAMPLE });
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('superglue-cb (super_glue/cb): CB [superglue-jsonl]');
    expect(r.stdout).toMatch(/train\s+train\s+40/);
    expect(r.stdout).toMatch(/dev\s+validation\s+15/);
  });

  it('a bad task name exits 2 with a one-line message', () => {
    const r = dept(['data', 'split', '--task', 'glue/rtx', '--data-dir', SAMPLE, '--json']);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('dept: error: unknown task "glue/rtx"');
  });

  it('bad data exits 2 naming the file and line', () => {
    const r = dept(['data', 'split', '--task', 'rte', '--data-dir', bad, '--json']);
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe(`dept: error: ${join(bad, 'RTE', 'train.tsv')}:3: unknown label "perhaps" for rte (expected entailment, not_entailment or an id 0..1)`);
  });
});

describe('dept data kshot', () => {
  it('--json prints {indices, class_counts}', () => {
    const r = dept(['data', 'kshot', '--task', 'superglue-cb', '--k', '16', '--seed', '13', '--data-dir', SAMPLE, '--json']);
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout) as { indices: number[]; class_counts: Record<string, number> };
    expect(Object.keys(out)).toEqual(['indices', 'class_counts']);
    expect(out.indices.length).toBe(16);
    expect(new Set(out.indices).size).toBe(16);
    expect(out.indices.every((i) => Number.isInteger(i) && i >= 0 && i < 40)).toBe(true);
    expect(Object.keys(out.class_counts)).toEqual(['0', '1', '2']);
    expect(Object.values(out.class_counts).reduce((a, b) => a + b, 0)).toBe(16);
  });

  it('--sampler balanced; bad numbers and samplers exit 2', () => {
    const r = dept(['data', 'kshot', '--task', 'rte', '--k', '8', '--seed', '1', '--sampler', 'balanced', '--data-dir', SAMPLE, '--json']);
    expect(r.status).toBe(0);
    expect((JSON.parse(r.stdout) as { class_counts: unknown }).class_counts).toEqual({ '0': 4, '1': 4 });
    const k = dept(['data', 'kshot', '--task', 'rte', '--k', 'many', '--data-dir', SAMPLE]);
    expect(k.status).toBe(2);
    expect(k.stderr).toContain('--k must be an integer, got "many"');
    const s = dept(['data', 'kshot', '--task', 'rte', '--k', '4', '--sampler', 'random', '--data-dir', SAMPLE]);
    expect(s.status).toBe(2);
    expect(s.stderr).toContain('--sampler must be dept or balanced');
  });
});

describe('dept data list', () => {
  it('--json lists every task with the folders, layouts and row counts found', () => {
    const r = dept(['data', 'list', '--data-dir', 'datasets', '--json']);
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout) as { tasks: { task: string; found: { folder: string; layout: string; rows: Record<string, number> }[] }[] };
    const rte = out.tasks.find((t) => t.task === 'rte')!;
    expect(rte.found).toEqual([{ folder: 'sample/RTE', layout: 'glue-tsv', rows: { train: 40, validation: 30 } }]);
    const cb = out.tasks.find((t) => t.task === 'superglue-cb')!;
    expect(cb.found).toEqual([{ folder: 'sample/CB', layout: 'superglue-jsonl', rows: { train: 40, validation: 30 } }]);
    expect(out.tasks.find((t) => t.task === 'superglue-rte')!.found).toEqual([]);
    expect(out.tasks.length).toBeGreaterThanOrEqual(18);
  });
});
