/**
 * The real GLUE / SuperGLUE copies in ../shared/data: every file loads with the row count its README gives;
 * every task found there loads, splits and formats; a few rows per task match source and target strings written
 * here by hand from DEPT.md's template table (and the raw lines of the files); the split agrees with the torch
 * reference indices in ../shared/fixtures.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { expect, it } from 'vitest';
import { describeShared, sharedPath } from '../../../test/helpers/shared.ts';
import {
  TASKS,
  findTaskData,
  formatExamples,
  getTask,
  kshotSample,
  loadDeptDataset,
  loadTaskData,
  readGlueTsv,
  readPretrainJson,
  readSuperGlueJsonl,
  splitTaskData,
  tableRows,
  type SourceSplit,
} from '../src/index.ts';

const DATA = sharedPath('data');

function walk(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((n) => {
      const p = join(dir, n);
      return statSync(p).isDirectory() ? walk(p) : [p];
    });
}

const FOLDER_TASK: Record<string, string> = {
  CoLA: 'cola',
  'SST-2': 'sst2',
  MRPC: 'mrpc',
  QQP: 'qqp',
  'STS-B': 'stsb',
  MNLI: 'mnli',
  QNLI: 'qnli',
  RTE: 'rte',
  SNLI: 'snli',
  BoolQ: 'superglue-boolq',
  CB: 'superglue-cb',
  COPA: 'superglue-copa',
  WSC: 'superglue-wsc.fixed',
};

/** Row counts, from ../shared/data/README.md (LM-BFF: 16 per class; test.tsv = the full GLUE dev set). */
function expectedRows(rel: string): number {
  const parts = rel.split('/');
  const [coll, folder, a, b] = parts as [string, string, string, string?];
  if (coll === 'superglue-fewglue') {
    if (a === 'train.jsonl' || a === 'dev32.jsonl') return 32;
    return ({ BoolQ: 3270, CB: 56, COPA: 100, RTE: 277, WSC: 104 } as Record<string, number>)[folder]!;
  }
  if (coll === 'glue-kshot') {
    const name = b as string;
    const classes = folder === 'MNLI' || folder === 'SNLI' ? 3 : 2;
    if (name === 'train.tsv' || name === 'dev.tsv' || name === 'dev_matched.tsv') return 16 * classes;
    return ({ CoLA: 1043, MRPC: 408, QNLI: 5463, RTE: 277, 'SST-2': 872, 'STS-B': 1500 } as Record<string, number>)[folder]!;
  }
  if (coll === 'glue-pretrain') {
    const [train, dev] = ({
      MNLI: [8999, 1000],
      QQP: [8999, 1000],
      QNLI: [8999, 1000],
      SNLI: [8999, 1000],
      'SST-2': [6227, 692],
      CoLA: [7695, 856],
      MRPC: [3300, 367],
      RTE: [2240, 249],
      'STS-B': [5173, 575],
    } as Record<string, [number, number]>)[folder]!;
    return a.startsWith('train') ? train : dev;
  }
  if (coll === 'glue-full') {
    return ({
      'STS-B/train.tsv': 5749,
      'STS-B/dev.tsv': 1500,
      'STS-B/test.tsv': 1379,
      'MRPC/msr_paraphrase_train.txt': 4076,
      'MRPC/msr_paraphrase_test.txt': 1725,
    } as Record<string, number>)[`${folder}/${a}`]!;
  }
  throw new Error(`no expected count for ${rel}`);
}

const DOCS = new Set(['README.md', 'glue-full/STS-B/LICENSE.txt', 'glue-full/STS-B/readme.txt']);

function splitOfName(name: string): SourceSplit {
  if (name.startsWith('train') || name.startsWith('msr_paraphrase_train')) return 'train';
  if (name.startsWith('test') || name.startsWith('msr_paraphrase_test')) return 'test';
  if (name === 'dev32.jsonl') return 'dev32';
  return 'validation';
}

describeShared('every file under ../shared/data', () => {
  it('loads with the row count the README gives', () => {
    const files = walk(DATA).map((p) => relative(DATA, p));
    expect(files.length).toBeGreaterThan(150);
    let loaded = 0;
    for (const rel of files) {
      if (DOCS.has(rel)) continue;
      const parts = rel.split('/');
      const coll = parts[0] as string;
      const name = parts.at(-1) as string;
      const folder = parts[1] as string;
      const task = getTask(coll === 'superglue-fewglue' && folder === 'RTE' ? 'superglue-rte' : (FOLDER_TASK[folder] as string));
      const split = splitOfName(name);
      const p = join(DATA, rel);
      let rows: number;
      if (name.endsWith('.jsonl')) rows = readSuperGlueJsonl(p, task, split).rows.length;
      else if (name.endsWith('.json')) rows = readPretrainJson(p, task).rows.length;
      else rows = readGlueTsv(p, task, split).rows.length;
      expect(rows, rel).toBe(expectedRows(rel));
      loaded++;
    }
    expect(loaded).toBe(files.length - DOCS.size);
  });
});

describeShared('tasks found in ../shared/data', () => {
  it('finds the folders and layouts of each task', async () => {
    const where = async (t: string) => (await findTaskData(t, DATA)).map((m) => `${m.layout} ${relative(DATA, m.folder)}`);
    expect(await where('rte')).toEqual(['pretrain-json glue-pretrain/RTE', 'lmbff-kshot glue-kshot/RTE']);
    expect(await where('superglue-rte')).toEqual(['superglue-jsonl superglue-fewglue/RTE']);
    expect(await where('super_glue/cb')).toEqual(['superglue-jsonl superglue-fewglue/CB']);
    expect(await where('stsb')).toEqual(['glue-tsv glue-full/STS-B', 'pretrain-json glue-pretrain/STS-B', 'lmbff-kshot glue-kshot/STS-B']);
    expect(await where('mrpc')).toEqual(['pretrain-json glue-pretrain/MRPC', 'mrpc-msr glue-full/MRPC', 'lmbff-kshot glue-kshot/MRPC']);
    expect(await where('cola')).toEqual(['glue-tsv glue-pretrain/CoLA', 'pretrain-json glue-pretrain/CoLA', 'lmbff-kshot glue-kshot/CoLA']);
    expect(await where('superglue-multirc')).toEqual([]);
  });

  it('every task with data loads, splits (DePT rule) and formats', async () => {
    const withData: string[] = [];
    for (const task of TASKS) {
      if ((await findTaskData(task.name, DATA)).length === 0) continue;
      withData.push(task.name);
      const ds = await loadDeptDataset(task.name, { dataDir: DATA });
      expect(ds.train.length, task.name).toBeGreaterThan(0);
      expect(ds.dev.length, task.name).toBeGreaterThan(0);
      for (const ex of [...ds.train.slice(0, 3), ...ds.dev.slice(0, 3), ...ds.test.slice(0, 3)]) {
        expect(ex.task).toBe(task.name);
        expect(ex.source.length).toBeGreaterThan(10);
        if (task.labelKind === 'class') expect(ex.target).toMatch(/^\d$/);
        if (task.labelKind === 'score') expect(ex.target).toMatch(/^\d\.\d$/);
      }
      // dev and test of a small task are a partition of the validation rows
      if (ds.plan.dev.source === ds.plan.test.source && ds.data.match.layout !== 'lmbff-kshot') {
        const n = ds.data.tables[ds.plan.dev.source as SourceSplit]!.numRows();
        const all = [...ds.plan.dev.indices, ...ds.plan.test.indices].sort((a, b) => a - b);
        expect(all).toEqual(Array.from({ length: n }, (_, i) => i));
      }
    }
    expect(withData).toEqual(['cola', 'sst2', 'mrpc', 'qqp', 'stsb', 'mnli', 'qnli', 'rte', 'superglue-boolq', 'superglue-cb', 'superglue-copa', 'superglue-wsc.fixed', 'superglue-rte', 'snli']);
  });

  it("DePT's dev/test match the torch reference indices of ../shared/fixtures", async () => {
    const fixture = JSON.parse(readFileSync(sharedPath('fixtures', 'rng', 'split_cases.json'), 'utf8')) as {
      small: { task: string; n_validation: number; dev: number[]; test: number[] }[];
    };
    const cases: [string, string][] = [
      ['superglue-cb', 'superglue-cb'],
      ['superglue-copa', 'superglue-copa'],
      ['superglue-wsc.fixed', 'superglue-wsc.fixed'],
      ['superglue-rte', 'superglue-rte'],
      ['stsb', 'stsb'],
    ];
    for (const [task, key] of cases) {
      const ref = fixture.small.find((c) => c.task === key)!;
      const data = await loadTaskData(task, { dataDir: DATA });
      expect(data.tables.validation!.numRows(), task).toBe(ref.n_validation);
      const plan = splitTaskData(data);
      expect(plan.dev, task).toEqual({ source: 'validation', indices: ref.dev });
      expect(plan.test, task).toEqual({ source: 'validation', indices: ref.test });
      expect(plan.train.indices, task).toEqual(Array.from({ length: data.tables.train!.numRows() }, (_, i) => i));
    }
  });

  it('a large-list task: dev is 1000 train rows, test is the validation file in order', async () => {
    const data = await loadTaskData('qnli', { dataDir: DATA, requireSplittable: true });
    expect(data.match.layout).toBe('pretrain-json');
    const plan = splitTaskData(data);
    expect(plan.dev.source).toBe('train');
    expect(plan.dev.indices.length).toBe(1000);
    expect(plan.train.indices.length).toBe(7999);
    expect(plan.test).toEqual({ source: 'validation', indices: Array.from({ length: 1000 }, (_, i) => i) });
    expect(new Set([...plan.train.indices, ...plan.dev.indices]).size).toBe(8999);
  });

  it('MNLI skips the glue_pretrain folder (no matched/mismatched dev) and uses an LM-BFF folder as is', async () => {
    const data = await loadTaskData('glue/mnli', { dataDir: DATA, requireSplittable: true });
    expect(data.match.layout).toBe('lmbff-kshot');
    expect(splitTaskData(data)).toEqual({
      train: { source: 'train', indices: Array.from({ length: 48 }, (_, i) => i) },
      dev: { source: 'validation', indices: Array.from({ length: 48 }, (_, i) => i) },
      test: { source: 'test', indices: [] },
    });
    await expect(loadTaskData('mnli', { dataDir: DATA, layout: 'pretrain-json' }).then(splitTaskData)).rejects.toThrow(/no validation_mismatched split/);
  });

  it('k-shot samples of real train sets have the JSON shape and k rows', async () => {
    const data = await loadTaskData('superglue-boolq', { dataDir: DATA });
    const plan = splitTaskData(data);
    const s = kshotSample(data, plan, { k: 16, seed: 42 });
    expect(s.indices.length).toBe(16);
    expect(Object.keys(s.classCounts).sort()).toEqual(['0', '1']);
    expect(s.classCounts['0']! + s.classCounts['1']!).toBe(16);
    const b = kshotSample(data, plan, { k: 16, seed: 42, sampler: 'balanced' });
    expect(b.classCounts).toEqual({ '0': 8, '1': 8 });
  });

  it('FewGLUE CB, k 16, seed 13: 13 rows (3 neutral rows in its 32), said in one warning', async () => {
    const ds = await loadDeptDataset('superglue-cb', { dataDir: sharedPath('data', 'superglue-fewglue'), k: 16, seed: 13 });
    expect(ds.train).toHaveLength(13);
    expect(ds.warnings).toEqual(['DePT\'s k-shot sampler returned 13 rows, not 16: class "2" has 3 rows in the train part, under its quota of k // 3 = 5; DePT\'s rule takes a row past a quota only once exactly k − 1 = 15 rows are in, and it stopped at 13']);
  });

  it('sst2 in ../shared/data: glue-pretrain/SST-2 by layout priority, said in a note; the seed\'s own LM-BFF folder when asked for', async () => {
    const ds = await loadDeptDataset('sst2', { dataDir: DATA, k: 16, seed: 21 });
    expect(ds.data.choice).toMatchObject({ folder: 'glue-pretrain/SST-2', layout: 'glue-tsv', reason: 'priority' });
    expect(ds.notes[0]).toMatch(/^sst2: 3 folders hold it; using glue-pretrain\/SST-2 \(glue-tsv\), the first by layout priority/);
    const kshot = await loadDeptDataset('sst2', { dataDir: DATA, layout: 'lmbff-kshot', k: 16, seed: 21 });
    expect(kshot.data.choice).toMatchObject({ folder: 'glue-kshot/SST-2/16-21', subset: '16-21' });
  });
});

/** Formats rows `rows` of a file loaded through the layout the test names. */
async function formatted(task: string, dataDir: string, split: SourceSplit, rows: number[], layout?: string) {
  const data = await loadTaskData(task, { dataDir: sharedPath('data', ...dataDir.split('/')), ...(layout ? { layout: layout as never } : {}) });
  return formatExamples(data, { source: split, indices: rows }).map((e) => ({ source: e.source, target: e.target }));
}

describeShared('formatted rows of the real data, checked against strings written by hand', () => {
  it('GLUE (LM-BFF k-shot TSV)', async () => {
    expect(await formatted('cola', 'glue-kshot/CoLA', 'train', [0])).toEqual([
      { source: "sentence: Bill seems to be obnoxious, but I don't think that Sam tends.", target: '0' },
    ]);
    expect(await formatted('sst2', 'glue-kshot/SST-2', 'train', [0])).toEqual([
      { source: 'sentence: nothing happens , and it happens to flat characters .', target: '0' },
    ]);
    expect(await formatted('qqp', 'glue-kshot/QQP', 'train', [0])).toEqual([
      { source: 'question1: Can I develope mobile apps with c++? question2: How can I develop mobile apps with C++?', target: '1' },
    ]);
    expect(await formatted('stsb', 'glue-kshot/STS-B', 'train', [0, 1])).toEqual([
      { source: 'sentence1: sheep standing in afield. sentence2: A sheep grazing in a field.', target: '3.2' },
      {
        source:
          'sentence1: She said he persisted and she eventually allowed him to fix her bike while she sat in the front seat of his car. sentence2: She said she eventually allowed him to fix her bike while she sat in his car, and they chatted.',
        target: '3.9',
      },
    ]);
    expect(await formatted('qnli', 'glue-kshot/QNLI', 'train', [1])).toEqual([
      {
        source:
          'question: Bees can detect what kind of light? sentence: Some insects such as bees can perceive ultraviolet wavelengths, or detect polarized light, while the antennae of male moths can detect the pheromones of female moths over distances of many kilometers.',
        target: '0',
      },
    ]);
    expect(await formatted('rte', 'glue-kshot/RTE', 'train', [0])).toEqual([
      {
        source:
          "sentence1: Reagan was seriously wounded by a bullet fired by John Hinckley Jr. in an attempted assassination, but made a remarkably speedy recovery. sentence2: Reagan survived an attempted assassin's bullets.",
        target: '0',
      },
    ]);
  });

  it('GLUE k-shot folders of other seeds, MNLI and SNLI (label in the last field)', async () => {
    const mrpc = await loadTaskData('mrpc', { dataDir: sharedPath('data', 'glue-kshot', 'MRPC'), subset: '16-42' });
    expect(formatExamples(mrpc, { source: 'train', indices: [0] }).map((e) => [e.source, e.target])).toEqual([
      [
        'sentence1: Tibco has used the Rendezvous name since 1994 for several of its technology products , according to the Palo Alto , California company . sentence2: Tibco has used the Rendezvous name since 1994 for several of its technology products , it said .',
        '1',
      ],
    ]);
    const mnli = await loadTaskData('mnli', { dataDir: sharedPath('data', 'glue-kshot', 'MNLI'), subset: '16-42' });
    expect(formatExamples(mnli, { source: 'train', indices: [0] }).map((e) => [e.source, e.target])).toEqual([["premise: That's all right. hypothesis: That's fine.", '0']]);
    const snli = await loadTaskData('snli', { dataDir: sharedPath('data', 'glue-kshot', 'SNLI'), subset: '16-42' });
    expect(formatExamples(snli, { source: 'train', indices: [0] }).map((e) => [e.source, e.target])).toEqual([
      ['premise: A group of young boys in blue swimming suits attempt to jump into a pool to their swimming instructors. hypothesis:  The boys are playing in the grass.', '2'],
    ]);
  });

  it('GLUE full STS-B, MRPC originals and glue_pretrain JSON', async () => {
    expect(await formatted('stsb', 'glue-full/STS-B', 'validation', [0])).toEqual([
      { source: 'sentence1: A man with a hard hat is dancing. sentence2: A man wearing a hard hat is dancing.', target: '5.0' },
    ]);
    expect(await formatted('stsb', 'glue-full/STS-B', 'test', [0])).toEqual([
      { source: 'sentence1: A girl is styling her hair. sentence2: A girl is brushing her hair.', target: '-1.0' },
    ]);
    expect(await formatted('mrpc', 'glue-full/MRPC', 'test', [0])).toEqual([
      {
        source:
          "sentence1: PCCW's chief operating officer, Mike Butcher, and Alex Arena, the chief financial officer, will report directly to Mr So. sentence2: Current Chief Operating Officer Mike Butcher and Group Chief Financial Officer Alex Arena will report to So.",
        target: '1',
      },
    ]);
    expect(await formatted('rte', 'glue-pretrain/RTE', 'validation', [0])).toEqual([
      {
        source: 'sentence1: September 26 - Trial against former Italian Prime Minister Giulio Andreotti, accused of Mafia connections, begins. sentence2: Andreotti collaborates with the Mafia.',
        target: '1',
      },
    ]);
    expect(await formatted('stsb', 'glue-pretrain/STS-B', 'validation', [0])).toEqual([
      {
        source: "sentence1: How wind farm developers 'use camera tricks to make turbines look smaller than they really are' sentence2: Wind farm developers using 'tricks' to make turbines look smaller",
        target: '4.4',
      },
    ]);
    expect(await formatted('cola', 'glue-pretrain/CoLA', 'train', [0], 'glue-tsv')).toEqual([{ source: 'sentence: John took Bill to be a fool.', target: '1' }]);
    expect(await formatted('cola', 'glue-pretrain/CoLA', 'train', [0], 'pretrain-json')).toEqual([{ source: 'sentence: John took Bill to be a fool.', target: '1' }]);
  });

  it('SuperGLUE (FewGLUE JSONL)', async () => {
    expect(await formatted('superglue-cb', 'superglue-fewglue/CB', 'validation', [1])).toEqual([
      { source: "premise: ``Who knows? The point is, do we go with it or not?'' Do we assume there is a shipment? hypothesis: there is a shipment", target: '2' },
    ]);
    expect(await formatted('superglue-copa', 'superglue-fewglue/COPA', 'validation', [0])).toEqual([
      { source: 'premise: The man turned on the faucet. choice1: The toilet filled with water. choice2: Water flowed from the spout.', target: '1' },
    ]);
    expect(await formatted('superglue-rte', 'superglue-fewglue/RTE', 'validation', [0])).toEqual([
      {
        source: 'premise: Dana Reeve, the widow of the actor Christopher Reeve, has died of lung cancer at age 44, according to the Christopher Reeve Foundation. hypothesis: Christopher Reeve had an accident.',
        target: '1',
      },
    ]);
    const boolq = await formatted('superglue-boolq', 'superglue-fewglue/BoolQ', 'train', [0]);
    expect(boolq[0]!.source.startsWith('question: is ghost in the shell based on the anime passage: Ghost in the Shell -- Animation studio Production I.G has produced')).toBe(true);
    expect(boolq[0]!.target).toBe('0');
  });

  it('SuperGLUE WSC: spans marked, wsc.fixed repairs applied', async () => {
    expect(await formatted('superglue-wsc.fixed', 'superglue-fewglue/WSC', 'dev32', [1])).toEqual([
      { source: "text: * Bob * paid for Charlie 's college education, but now Charlie acts as though it never happened. # He # is very hurt.", target: '1' },
    ]);
    expect(await formatted('superglue-wsc.fixed', 'superglue-fewglue/WSC', 'validation', [5])).toEqual([
      { source: 'text: The large ball crashed right through * the table * because # it # was made of styrofoam.', target: '1' },
    ]);
    const data = await loadTaskData('superglue-wsc.fixed', { dataDir: sharedPath('data', 'superglue-fewglue', 'WSC') });
    const at = tableRows(data.tables.train!).findIndex((r) => r.idx === 16);
    expect(at).toBeGreaterThanOrEqual(0);
    expect(formatExamples(data, { source: 'train', indices: [at] })[0]!.source).toBe(
      'text: The city councilmen refused * the demonstrators * a permit because # they # advocated violence.',
    );
  });

  it('the task-name prefix', async () => {
    const ds = await loadDeptDataset('super_glue/copa', { dataDir: sharedPath('data', 'superglue-fewglue'), addPrefix: true });
    expect(ds.test.every((e) => e.source.startsWith('superglue-copa premise: '))).toBe(true);
  });
});
