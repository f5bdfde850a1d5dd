/**
 * datasets/boolq-sample: the readers load it (SuperGLUE JSONL layout), its rows are exactly the first rows of the
 * files it was cut from in ../shared/data (line for line, and as parsed rows), and DePT's split halves its 200
 * validation rows into dev and test.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { getTask, loadTaskData, readSuperGlueJsonl, splitTaskData, tableRows } from '@dept/tasks';
import { REPO_ROOT, describeShared, sharedPath } from '../helpers/shared.ts';

const DIR = join(REPO_ROOT, 'datasets', 'boolq-sample');
const lines = (p: string) => readFileSync(p, 'utf8').split('\n').filter((l) => l.trim() !== '');

describe('datasets/boolq-sample', () => {
  it('loads as superglue-boolq: 32 train rows, 200 validation rows, split 100 / 100', async () => {
    const data = await loadTaskData('super_glue/boolq', { dataDir: DIR });
    expect(data.match.layout).toBe('superglue-jsonl');
    expect(data.tables.train?.numRows()).toBe(32);
    expect(data.tables.validation?.numRows()).toBe(200);
    const rows = tableRows(data.tables.train!);
    expect(Object.keys(rows[0]!).sort()).toEqual(['idx', 'label', 'passage', 'question']);
    // FewGLUE's train.jsonl: 18 true, 14 false; the first 200 validation rows: 127 true, 73 false (counted with Python).
    expect(rows.filter((r) => r.label === 1).length).toBe(18);
    expect(tableRows(data.tables.validation!).filter((r) => r.label === 1).length).toBe(127);
    const plan = splitTaskData(data);
    expect(plan.dev.source).toBe('validation');
    expect(plan.dev.indices.length).toBe(100);
    expect(plan.test.indices.length).toBe(100);
    expect(new Set([...plan.dev.indices, ...plan.test.indices]).size).toBe(200);
  });

  it('carries its attribution and licence', () => {
    const readme = readFileSync(join(DIR, 'README.md'), 'utf8');
    expect(readme).toContain('Creative Commons Attribution-ShareAlike 3.0');
    expect(readme).toContain('BoolQ: Exploring the Surprising Difficulty of Natural Yes/No Questions');
  });
});

describeShared('datasets/boolq-sample against ../shared/data/superglue-fewglue/BoolQ', () => {
  it('train.jsonl is the FewGLUE file, val.jsonl its first 200 lines, byte for byte', () => {
    expect(readFileSync(join(DIR, 'BoolQ', 'train.jsonl'))).toEqual(readFileSync(sharedPath('data/superglue-fewglue/BoolQ/train.jsonl')));
    const source = lines(sharedPath('data/superglue-fewglue/BoolQ/val.jsonl'));
    expect(source.length).toBe(3270);
    expect(lines(join(DIR, 'BoolQ', 'val.jsonl'))).toEqual(source.slice(0, 200));
  });

  it('gives the same parsed rows as the source files', () => {
    const task = getTask('superglue-boolq');
    const mine = readSuperGlueJsonl(join(DIR, 'BoolQ', 'val.jsonl'), task, 'validation').rows;
    const theirs = readSuperGlueJsonl(sharedPath('data/superglue-fewglue/BoolQ/val.jsonl'), task, 'validation').rows.slice(0, 200);
    expect(mine).toEqual(theirs);
  });
});
