/**
 * read → split → k-shot → format on the invented sample under datasets/sample (always present) and on small
 * folders written here.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../../test/helpers/shared.ts';
import { dataChoiceNote, formatExamples, kshotSample, kshotShortfall, loadDeptDataset, loadTaskData, neededSources, getTask, splitTaskData, subsample, tableRows } from '../src/index.ts';

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

describe('rows labelled -1 (unlabelled) are left out of every part, with a note naming the file and the count (issue 15)', () => {
  let dir: string;
  const lines = (n: number, label: (i: number) => string) => Array.from({ length: n }, (_, i) => `${i}\tA${i} is here.\tB${i} is there.\t${label(i)}`);
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'dept-unlabelled-'));
    mkdirSync(join(dir, 'RTE'));
    // train: rows 3 and 7 unlabelled; validation: rows 0..3 unlabelled (they land in dev or test by randperm)
    writeFileSync(join(dir, 'RTE', 'train.tsv'), ['index\tsentence1\tsentence2\tlabel', ...lines(12, (i) => (i === 3 || i === 7 ? '-1' : String(i % 2)))].join('\n'));
    writeFileSync(join(dir, 'RTE', 'dev.tsv'), ['index\tsentence1\tsentence2\tlabel', ...lines(10, (i) => (i < 4 ? '-1' : String(i % 2)))].join('\n'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('full data: train, dev and test hold only labelled rows; the split keeps DePT\'s row numbers', async () => {
    const ds = await loadDeptDataset('rte', { dataDir: dir });
    const unlabelledDev = ds.plan.dev.indices.filter((i) => i < 4).length;
    const unlabelledTest = 4 - unlabelledDev;
    expect(ds.train.map((e) => e.row)).toEqual([0, 1, 2, 4, 5, 6, 8, 9, 10, 11]);
    expect(ds.dev.map((e) => e.row)).toEqual(ds.plan.dev.indices.filter((i) => i >= 4));
    expect(ds.test.map((e) => e.row)).toEqual(ds.plan.test.indices.filter((i) => i >= 4));
    expect([...ds.train, ...ds.dev, ...ds.test].every((e) => e.label !== -1 && e.target !== '-1')).toBe(true);
    const trainFile = join(dir, 'RTE', 'train.tsv');
    const devFile = join(dir, 'RTE', 'dev.tsv');
    expect(ds.notes).toEqual([
      `${trainFile}: 2 of the 12 rows of the train part are labelled -1 (unlabelled); they are left out, not trained on`,
      ...(unlabelledDev > 0 ? [`${devFile}: ${unlabelledDev} of the 5 rows of the dev part ${unlabelledDev === 1 ? 'is' : 'are'} labelled -1 (unlabelled); ${unlabelledDev === 1 ? 'it is' : 'they are'} left out, not scored`] : []),
      ...(unlabelledTest > 0 ? [`${devFile}: ${unlabelledTest} of the 5 rows of the test part ${unlabelledTest === 1 ? 'is' : 'are'} labelled -1 (unlabelled); ${unlabelledTest === 1 ? 'it is' : 'they are'} left out, not scored`] : []),
    ]);
  });

  it('k-shot samples draw from the labelled rows (both samplers), not refuse the split', async () => {
    const data = await loadTaskData('rte', { dataDir: dir });
    for (const sampler of ['dept', 'balanced'] as const) {
      // k = 10 takes every labelled row: an unlabelled one would have been met on the way
      const sample = kshotSample(data, splitTaskData(data), { k: 10, seed: 3, sampler });
      expect([...sample.indices].sort((a, b) => a - b)).toEqual([0, 1, 2, 4, 5, 6, 8, 9, 10, 11]);
      expect(sample.unlabelled).toEqual({ part: 'train', count: 2, of: 12, files: [join(dir, 'RTE', 'train.tsv')] });
    }
  });
});

describe('which folder: the layouts that hold a task, the seed\'s own LM-BFF folder, and what is recorded (issue 16)', () => {
  let dir: string;
  let nodev: string;
  const rte = (n: number, tag: string) => ['index\tsentence1\tsentence2\tlabel', ...Array.from({ length: n }, (_, i) => `${i}\t${tag} ${i} is here.\tIt is ${tag}.\t${i % 2}`)].join('\n');
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'dept-choice-'));
    nodev = mkdtempSync(join(tmpdir(), 'dept-choice-nodev-'));
    const w = (rel: string, text: string, root = dir) => {
      mkdirSync(join(root, rel, '..'), { recursive: true });
      writeFileSync(join(root, rel), text);
    };
    w('glue/RTE/train.tsv', rte(12, 'full'));
    w('glue/RTE/dev.tsv', rte(8, 'fulldev'));
    for (const seed of [13, 21]) {
      w(`glue-kshot/RTE/16-${seed}/train.tsv`, rte(6, `shot${seed}`));
      w(`glue-kshot/RTE/16-${seed}/dev.tsv`, rte(4, `dev${seed}`));
      w(`glue-kshot/RTE/16-${seed}/test.tsv`, rte(4, `test${seed}`));
    }
    // A GLUE folder without dev.tsv cannot be split the DePT way.
    w('glue/RTE/train.tsv', rte(12, 'full'), nodev);
    for (const f of ['train', 'dev', 'test']) w(`glue-kshot/RTE/16-13/${f}.tsv`, rte(4, `nodev${f}`), nodev);
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(nodev, { recursive: true, force: true });
  });

  it('takes the first folder by layout priority, records it relative to the data folder, and says so in one line', async () => {
    const ds = await loadDeptDataset('rte', { dataDir: dir, seed: 21 });
    expect(ds.data.choice).toEqual({
      data_dir: dir, folder: 'glue/RTE', layout: 'glue-tsv', subset: null, reason: 'priority',
      candidates: [{ folder: 'glue/RTE', layout: 'glue-tsv' }, { folder: 'glue-kshot/RTE/16-21', layout: 'lmbff-kshot' }],
    });
    expect(ds.notes).toEqual([
      'rte: 2 folders hold it; using glue/RTE (glue-tsv), the first by layout priority (glue-tsv, lmbff-kshot); also glue-kshot/RTE/16-21 (lmbff-kshot); choose with --layout, --subset (data.layout, data.subset)',
    ]);
    expect(dataChoiceNote('rte', (await loadTaskData('rte', { dataDir: dir, layout: 'glue-tsv' })).choice)).toBeNull();
  });

  it('in LM-BFF k-shot folders, the seed picks its own <k>-<seed> folder; --subset wins; no seed takes the first', async () => {
    const seeded = await loadDeptDataset('rte', { dataDir: dir, layout: 'lmbff-kshot', seed: 21 });
    expect(seeded.data.choice).toMatchObject({ folder: 'glue-kshot/RTE/16-21', layout: 'lmbff-kshot', subset: '16-21', reason: 'asked' });
    expect(seeded.train.every((e) => e.source.includes('shot21'))).toBe(true);
    expect(seeded.notes).toEqual([]);
    const asked = await loadTaskData('rte', { dataDir: dir, layout: 'lmbff-kshot', seed: 21, subset: '16-13' });
    expect(asked.choice.folder).toBe('glue-kshot/RTE/16-13');
    const unseeded = await loadTaskData('rte', { dataDir: dir, layout: 'lmbff-kshot' });
    expect(unseeded.choice.subset).toBe('16-13');
    await expect(loadDeptDataset('rte', { dataDir: dir, layout: 'lmbff-kshot', seed: 7 }))
      .rejects.toThrow('glue-kshot/RTE: no LM-BFF k-shot folder for seed 7 (found 16-13, 16-21); use a seed among 13, 21, or choose the folder with --subset (data.subset)');
  });

  it('passes over a folder DePT\'s split cannot use, and says why the next one was taken', async () => {
    const ds = await loadDeptDataset('rte', { dataDir: nodev, seed: 13 });
    expect(ds.data.choice).toMatchObject({ folder: 'glue-kshot/RTE/16-13', layout: 'lmbff-kshot', reason: 'splittable' });
    expect(ds.notes[0]).toBe('rte: 2 folders hold it; using glue-kshot/RTE/16-13 (lmbff-kshot), the first by layout priority (glue-tsv, lmbff-kshot) whose files DePT\'s split can use; also glue/RTE (glue-tsv); choose with --layout, --subset (data.layout, data.subset)');
  });

  it('a seeded subsample keeps the input order and is the same for the same seed', () => {
    const items = Array.from({ length: 20 }, (_, i) => i);
    const a = subsample(items, 5, 42);
    expect(a).toHaveLength(5);
    expect(a).toEqual([...a].sort((x, y) => x - y));
    expect(subsample(items, 5, 42)).toEqual(a);
    expect(subsample(items, 5, 43)).not.toEqual(a);
    expect(subsample(items, 50, 42)).toEqual(items);
  });
});

describe('a k-shot sample of fewer than k rows is a warning that names the reason (issue 16)', () => {
  let dir: string;
  beforeAll(() => {
    // FewGLUE's CB in small: 8 entailment, 9 contradiction, 3 neutral training rows.
    dir = mkdtempSync(join(tmpdir(), 'dept-short-'));
    mkdirSync(join(dir, 'CB'));
    const labels = [...Array(8).fill('entailment'), ...Array(9).fill('contradiction'), ...Array(3).fill('neutral')] as string[];
    const row = (idx: number, label: string) => JSON.stringify({ premise: `Premise ${idx}.`, hypothesis: `hypothesis ${idx}`, label, idx });
    writeFileSync(join(dir, 'CB', 'train.jsonl'), `${labels.map((l, i) => row(i, l)).join('\n')}\n`);
    writeFileSync(join(dir, 'CB', 'val.jsonl'), `${['entailment', 'contradiction', 'neutral', 'entailment'].map((l, i) => row(100 + i, l)).join('\n')}\n`);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('CB k=16: a rare class under its quota of 5 (class availability), 13 rows', async () => {
    const ds = await loadDeptDataset('superglue-cb', { dataDir: dir, k: 16, seed: 13 });
    expect(ds.train).toHaveLength(13);
    expect(ds.kshot?.classCounts).toEqual({ 0: 5, 1: 5, 2: 3 });
    expect(ds.warnings).toEqual([
      'DePT\'s k-shot sampler returned 13 rows, not 16: class "2" has 3 rows in the train part, under its quota of k // 3 = 5; DePT\'s rule takes a row past a quota only once exactly k − 1 = 15 rows are in, and it stopped at 13',
    ]);
    expect((await loadDeptDataset('superglue-cb', { dataDir: dir, k: 6, seed: 13 })).warnings).toEqual([]);
  });

  it('the k − 1 rule alone: 3 classes of 10 at k = 32 stop at 30', () => {
    expect(kshotShortfall(32, { 0: 10, 1: 10, 2: 10 }, { 0: 115, 1: 119, 2: 16 }))
      .toBe('DePT\'s rule takes k // 3 = 10 rows per class and a row past a quota only once exactly k − 1 = 31 rows are in: 3 × 10 = 30 never reach 31');
    expect(kshotShortfall(16, { 0: 6, 1: 5, 2: 5 }, { 0: 115, 1: 119, 2: 16 })).toBeNull();
  });
});
