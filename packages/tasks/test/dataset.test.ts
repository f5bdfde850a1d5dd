/**
 * read → split → k-shot → format on the invented sample under datasets/sample (always present) and on small
 * folders written here.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../../test/helpers/shared.ts';
import { formatExamples, kshotSample, loadDeptDataset, loadTaskData, neededSources, getTask, splitTaskData, tableRows } from '../src/index.ts';

const SAMPLE = join(REPO_ROOT, 'datasets', 'sample');

describe('the quickstart sample', () => {
  it('RTE (GLUE TSV) and CB (SuperGLUE JSONL) load as arquero tables with Hugging Face columns', async () => {
    const rte = await loadTaskData('glue/rte', { dataDir: SAMPLE });
    expect(rte.match.layout).toBe('glue-tsv');
    expect(rte.tables.train!.numRows()).toBe(40);
    expect(rte.tables.validation!.numRows()).toBe(30);
    expect(rte.tables.train!.columnNames()).toEqual(['sentence1', 'sentence2', 'idx', 'label']);
    expect(tableRows(rte.tables.train!)[0]).toEqual({
      sentence1: 'The bakery on Mill Street opened a second shop near the station last spring.',
      sentence2: 'The bakery has more than one shop.',
      idx: 0,
      label: 0,
    });
    const cb = await loadTaskData('super_glue/cb', { dataDir: SAMPLE });
    expect(cb.match.layout).toBe('superglue-jsonl');
    expect(cb.tables.validation!.numRows()).toBe(30);
    expect(tableRows(cb.tables.train!)[2]).toEqual({
      premise: "Harry wondered whether the shop would still be open. It was nearly eight o'clock.",
      hypothesis: 'the shop would still be open',
      idx: 2,
      label: 2,
    });
  });

  it("splits a small task the DePT way: dev = randperm(N, 42)[:N//2] of validation, test the rest", async () => {
    const data = await loadTaskData('rte', { dataDir: SAMPLE });
    const plan = splitTaskData(data);
    expect(plan.train).toEqual({ source: 'train', indices: Array.from({ length: 40 }, (_, i) => i) });
    expect(plan.dev.source).toBe('validation');
    expect(plan.test.source).toBe('validation');
    expect(plan.dev.indices.length).toBe(15);
    expect(plan.test.indices.length).toBe(15);
    expect([...plan.dev.indices, ...plan.test.indices].sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, i) => i));
    expect(plan.dev.indices).not.toEqual([...plan.dev.indices].sort((a, b) => a - b));
  });

  it('formats examples that point back to their row', async () => {
    const data = await loadTaskData('superglue-cb', { dataDir: SAMPLE });
    const [ex] = formatExamples(data, { source: 'validation', indices: [1] });
    expect(ex).toEqual({
      task: 'superglue-cb',
      source: "premise: I don't think the soup needs more salt. It tastes fine to me. hypothesis: the soup needs more salt",
      target: '1',
      label: 1,
      split: 'validation',
      row: 1,
    });
  });

  it('loadDeptDataset: k-shot train, full dev and test, optional prefix', async () => {
    const ds = await loadDeptDataset('rte', { dataDir: SAMPLE, k: 8, seed: 13 });
    expect(ds.train.length).toBe(8);
    expect(ds.kshot?.indices.length).toBe(8);
    expect(ds.train.map((e) => e.row)).toEqual(ds.kshot?.indices);
    expect(ds.dev.length).toBe(15);
    expect(ds.test.length).toBe(15);
    expect(ds.dev.every((e) => e.source.startsWith('sentence1: ') && e.source.includes(' sentence2: '))).toBe(true);
    const pre = await loadDeptDataset('rte', { dataDir: SAMPLE, addPrefix: true });
    expect(pre.train[0]!.source).toBe(
      'rte sentence1: The bakery on Mill Street opened a second shop near the station last spring. sentence2: The bakery has more than one shop.',
    );
    expect(pre.train.length).toBe(40);
  });

  it('k-shot: DePT sampler is deterministic per seed; balanced gives exactly k per class', async () => {
    const data = await loadTaskData('superglue-cb', { dataDir: SAMPLE });
    const plan = splitTaskData(data);
    const a = kshotSample(data, plan, { k: 16, seed: 13 });
    const b = kshotSample(data, plan, { k: 16, seed: 13 });
    const c = kshotSample(data, plan, { k: 16, seed: 14 });
    expect(a).toEqual(b);
    expect(a.indices).not.toEqual(c.indices);
    expect(a.indices.length).toBe(16);
    expect(Object.keys(a.classCounts)).toEqual(['0', '1', '2']);
    // C=3, k=16: quotas of 5 plus one more row of any class
    expect(Object.values(a.classCounts).reduce((x, y) => x + y, 0)).toBe(16);
    const rows = tableRows(data.tables.train!);
    const counts: Record<string, number> = { '0': 0, '1': 0, '2': 0 };
    for (const i of a.indices) counts[String(rows[i]!.label)]! += 1;
    expect(counts).toEqual(a.classCounts);
    const bal = kshotSample(data, plan, { k: 12, seed: 1, sampler: 'balanced' });
    expect(bal.classCounts).toEqual({ '0': 4, '1': 4, '2': 4 });
  });
});

describe('split rules and sources', () => {
  it('neededSources follows the DePT rule', () => {
    expect(neededSources(getTask('superglue-cb'), 'superglue-jsonl')).toEqual(['train', 'validation']);
    expect(neededSources(getTask('sst2'), 'glue-tsv')).toEqual(['train', 'validation']);
    expect(neededSources(getTask('snli'), 'hf-parquet')).toEqual(['train', 'test']);
    expect(neededSources(getTask('mnli'), 'glue-tsv')).toEqual(['train', 'validation_mismatched', 'validation_matched']);
    expect(neededSources(getTask('mnli'), 'lmbff-kshot')).toEqual(['train', 'validation']);
  });
});

describe('tasks without a real copy: MultiRC and ReCoRD from small files', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'dept-dataset-'));
    const w = (rel: string, text: string) => {
      mkdirSync(join(dir, rel, '..'), { recursive: true });
      writeFileSync(join(dir, rel), text);
    };
    const mrc = (idx: number) =>
      JSON.stringify({ idx, passage: { text: `Para ${idx}.<br>More.`, questions: [{ idx: idx * 10, question: `Q${idx}?`, answers: [{ idx: 0, text: 'yes', label: 1 }, { idx: 1, text: 'no', label: 0 }] }] } });
    w('MultiRC/train.jsonl', `${[0, 1, 2].map(mrc).join('\n')}\n`);
    w('MultiRC/val.jsonl', `${[3, 4].map(mrc).join('\n')}\n`);
    const rec = (idx: number, answers: string[]) =>
      JSON.stringify({ idx, passage: { text: 'Anna met Ben.\n@highlight\nThey talked', entities: [{ start: 0, end: 3 }, { start: 9, end: 11 }] }, qas: [{ idx, query: '@placeholder smiled.', answers: answers.map((t) => ({ start: 0, end: 3, text: t })) }] });
    w('ReCoRD/train.jsonl', `${rec(0, ['Anna'])}\n${rec(1, ['Anna', 'Ben'])}\n`);
    w('ReCoRD/val.jsonl', `${rec(2, ['Ben'])}\n`);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('MultiRC: flattened rows, markup removed, the question id as group', async () => {
    const data = await loadTaskData('superglue-multirc', { dataDir: dir });
    expect(data.tables.train!.numRows()).toBe(6);
    const [ex] = formatExamples(data, { source: 'validation', indices: [1] });
    expect(ex).toEqual({ task: 'superglue-multirc', source: 'question: Q3? answer: no paragraph: Para 3. More.', target: '0', label: 0, split: 'validation', row: 1, group: 30 });
  });

  it('ReCoRD: one example per answer, and no k-shot by class', async () => {
    const ds = await loadDeptDataset('superglue-record', { dataDir: dir });
    // large-list rule on 2 train rows: dev = perm[:1000] takes them all, test = validation
    expect(ds.plan.dev.source).toBe('train');
    expect(ds.dev.length).toBe(3);
    expect(ds.test).toEqual([
      {
        task: 'superglue-record',
        source: 'record query: @placeholder smiled. entities: Anna, Ben passage: Anna met Ben. They talked',
        target: 'Ben',
        split: 'validation',
        row: 0,
        answers: ['Ben'],
      },
    ]);
    const data = await loadTaskData('superglue-record', { dataDir: dir });
    expect(() => kshotSample(data, splitTaskData(data), { k: 4, seed: 1 })).toThrow(/superglue-record has no classes/);
  });
});
