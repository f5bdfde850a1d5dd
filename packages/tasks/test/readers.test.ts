/**
 * The readers on small files written by the tests: every layout, and every kind of bad data (empty file, missing
 * column, unknown label, ragged row, invalid JSON), plus byte-order marks and CRLF line ends.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parquetWriteFile } from 'hyparquet-writer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  detectLayouts,
  findTaskData,
  getTask,
  loadTaskData,
  readGlueTsv,
  readHfJsonl,
  readHfParquet,
  readJsonl,
  readMrpcMsr,
  readPretrainJson,
  readSciTail,
  readSuperGlueJsonl,
  splitTaskData,
  tableRows,
} from '../src/index.ts';

let dir: string;
const file = (rel: string, text: string): string => {
  const p = join(dir, rel);
  mkdirSync(join(p, '..'), { recursive: true });
  writeFileSync(p, text);
  return p;
};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'dept-readers-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('GLUE TSV', () => {
  it('reads columns by header name, with a byte-order mark and CRLF line ends', () => {
    const p = file('bom/RTE/train.tsv', '\uFEFFindex\tsentence1\tsentence2\tlabel\r\n0\tA cat sat.\tA cat.\tentailment\r\n1\tIt rained.\tIt was dry.\tnot_entailment\r\n');
    const { rows, origins } = readGlueTsv(p, getTask('rte'), 'train');
    expect(rows).toEqual([
      { sentence1: 'A cat sat.', sentence2: 'A cat.', idx: 0, label: 0 },
      { sentence1: 'It rained.', sentence2: 'It was dry.', idx: 1, label: 1 },
    ]);
    expect(origins).toEqual([`${p}:2`, `${p}:3`]);
  });

  it('keeps quotes as plain text (QUOTE_NONE) and skips blank lines', () => {
    const p = file('quotes/train.tsv', 'sentence\tlabel\n" it \'s a "wonderful" film\t1\n\nbad .\t0\n');
    const { rows } = readGlueTsv(p, getTask('sst2'), 'train');
    expect(rows.map((r) => r.sentence)).toEqual(['" it \'s a "wonderful" film', 'bad .']);
    expect(rows.map((r) => r.label)).toEqual([1, 0]);
  });

  it('reads CoLA without a header by position, and with a header by name', () => {
    const raw = file('cola/train.tsv', 'gj04\t1\t\tThe book fell.\nbc01\t0\t*\tBook the fell.\n');
    expect(readGlueTsv(raw, getTask('cola'), 'train').rows).toEqual([
      { sentence: 'The book fell.', idx: 0, label: 1 },
      { sentence: 'Book the fell.', idx: 1, label: 0 },
    ]);
    const headed = file('cola2/dev.tsv', 'sentence\tlabel\nThe book fell.\t1\n');
    expect(readGlueTsv(headed, getTask('cola'), 'validation').rows).toEqual([{ sentence: 'The book fell.', idx: 0, label: 1 }]);
    const bad = file('cola3/train.tsv', 'gj04\t1\tThe book fell.\n');
    expect(() => readGlueTsv(bad, getTask('cola'), 'train')).toThrow(`${bad}:1: row has 3 fields, expected 4`);
  });

  it('gives test files without a label column the label -1', () => {
    const p = file('test/test.tsv', 'index\tsentence1\tsentence2\n0\tA.\tB.\n');
    expect(readGlueTsv(p, getTask('rte'), 'test').rows).toEqual([{ sentence1: 'A.', sentence2: 'B.', idx: 0, label: -1 }]);
  });

  it('takes the MNLI label from the last field, even when a row has more fields than the header', () => {
    const header = 'index\tpromptID\tpairID\tgenre\ts1b\ts2b\ts1p\ts2p\tsentence1\tsentence2\tlabel1\tgold_label';
    const p = file('mnli/train.tsv', `${header}\n0\t1\t1e\tfiction\t(\t(\t(\t(\tP one.\tH one.\tneutral\tneutral\n1\t2\t2c\tfiction\t(\t(\t(\t(\tP two.\tH two.\tneutral\tcontradiction\tcontradiction\tneutral\tcontradiction\tcontradiction\n`);
    expect(readGlueTsv(p, getTask('mnli'), 'train').rows).toEqual([
      { premise: 'P one.', hypothesis: 'H one.', idx: 0, label: 1 },
      { premise: 'P two.', hypothesis: 'H two.', idx: 1, label: 2 },
    ]);
  });

  it('an empty file is an error naming the file and line 1', () => {
    const p = file('empty/train.tsv', '');
    expect(() => readGlueTsv(p, getTask('rte'), 'train')).toThrow(`${p}:1: empty file`);
    const blank = file('empty2/train.tsv', '\uFEFF\r\n\r\n');
    expect(() => readGlueTsv(blank, getTask('rte'), 'train')).toThrow(`${blank}:1: empty file`);
  });

  it('a missing column is an error naming the header line', () => {
    const p = file('missing/train.tsv', 'index\tsentence1\tlabel\n0\tA.\tentailment\n');
    expect(() => readGlueTsv(p, getTask('rte'), 'train')).toThrow(`${p}:1: missing column "sentence2" (the header has index, sentence1, label)`);
    const nolabel = file('missing/dev.tsv', 'index\tsentence1\tsentence2\n0\tA.\tB.\n');
    expect(() => readGlueTsv(nolabel, getTask('rte'), 'validation')).toThrow(`${nolabel}:1: missing column "label"`);
  });

  it('an unknown label is an error naming its line', () => {
    const p = file('unknown/train.tsv', 'index\tsentence1\tsentence2\tlabel\n0\tA.\tB.\tentailment\n1\tC.\tD.\tmaybe\n');
    expect(() => readGlueTsv(p, getTask('rte'), 'train')).toThrow(`${p}:3: unknown label "maybe" for rte (expected entailment, not_entailment or an id 0..1)`);
  });

  it('a ragged row is an error naming its line', () => {
    const p = file('ragged/train.tsv', 'index\tsentence1\tsentence2\tlabel\n0\tA.\tB.\tentailment\n1\tC. D.\tentailment\n');
    expect(() => readGlueTsv(p, getTask('rte'), 'train')).toThrow(`${p}:3: row has 3 fields, the header has 4`);
    const more = file('ragged/dev.tsv', 'index\tsentence1\tsentence2\tlabel\n0\tA.\tB.\tentailment\textra\n');
    expect(() => readGlueTsv(more, getTask('rte'), 'validation')).toThrow(`${more}:2: row has 5 fields, the header has 4`);
  });

  it('a bad STS-B score is an unknown label', () => {
    const p = file('stsb/train.tsv', 'index\tsentence1\tsentence2\tscore\n0\tA.\tB.\t3.2\n1\tC.\tD.\thigh\n');
    expect(() => readGlueTsv(p, getTask('stsb'), 'train')).toThrow(`${p}:3: unknown label "high" for stsb`);
  });
});

describe('MRPC originals', () => {
  it('reads msr_paraphrase_*.txt, and cuts validation from train with mrpc_dev_ids.tsv', () => {
    const head = '\uFEFFQuality\t#1 ID\t#2 ID\t#1 String\t#2 String\n';
    file('msr/MRPC/msr_paraphrase_train.txt', `${head}1\t10\t11\tA a .\tA b .\n0\t20\t21\tB a .\tB b .\n1\t30\t31\tC a .\tC b .\n`);
    file('msr/MRPC/msr_paraphrase_test.txt', `${head}1\t40\t41\tD a .\tD b .\n`);
    const folder = join(dir, 'msr/MRPC');
    const task = getTask('mrpc');
    expect(readMrpcMsr(folder, task, 'train').rows.length).toBe(3);
    expect(readMrpcMsr(folder, task, 'test').rows).toEqual([{ sentence1: 'D a .', sentence2: 'D b .', idx: 0, label: 1 }]);
    expect(() => readMrpcMsr(folder, task, 'validation')).toThrow(/mrpc_dev_ids\.tsv/);
    file('msr/MRPC/mrpc_dev_ids.tsv', '20\t21\n');
    expect(readMrpcMsr(folder, task, 'validation').rows).toEqual([{ sentence1: 'B a .', sentence2: 'B b .', idx: 1, label: 0 }]);
    expect(readMrpcMsr(folder, task, 'train').rows.map((r) => r.idx)).toEqual([0, 2]);
    expect(detectLayouts(folder)[0]?.layout).toBe('mrpc-msr');
  });
});

describe('JSON Lines and SuperGLUE', () => {
  it('an invalid JSON line is an error naming its line; CRLF and a BOM are fine', () => {
    const ok = file('jsonl/ok.jsonl', '\uFEFF{"a": 1}\r\n\r\n{"a": 2}\r\n');
    expect(readJsonl(ok).map((r) => [r.value, r.line])).toEqual([
      [{ a: 1 }, 1],
      [{ a: 2 }, 3],
    ]);
    const bad = file('jsonl/bad.jsonl', '{"a": 1}\n{"a": 2,}\n');
    expect(() => readJsonl(bad)).toThrow(`${bad}:2: invalid JSON`);
  });

  it('turns string and boolean labels into ids (CB order, BoolQ True = 1)', () => {
    const cb = file('sg/CB/val.jsonl', '{"premise": "P.", "hypothesis": "h", "label": "neutral", "idx": 4}\n{"premise": "Q.", "hypothesis": "i", "label": "contradiction", "idx": 5}\n');
    expect(readSuperGlueJsonl(cb, getTask('superglue-cb'), 'validation').rows).toEqual([
      { premise: 'P.', hypothesis: 'h', idx: 4, label: 2 },
      { premise: 'Q.', hypothesis: 'i', idx: 5, label: 1 },
    ]);
    const boolq = file('sg/BoolQ/train.jsonl', '{"question": "q", "passage": "p", "label": true, "idx": 0}\n{"question": "r", "passage": "s", "label": false, "idx": 1}\n');
    expect(readSuperGlueJsonl(boolq, getTask('superglue-boolq'), 'train').rows.map((r) => r.label)).toEqual([1, 0]);
  });

  it('names the line of a missing field or an unknown label; a test file may lack labels', () => {
    const p = file('sg/CB/train.jsonl', '{"premise": "P.", "hypothesis": "h", "label": "neutral", "idx": 0}\n{"premise": "P.", "label": "neutral", "idx": 1}\n');
    expect(() => readSuperGlueJsonl(p, getTask('superglue-cb'), 'train')).toThrow(`${p}:2: missing field "hypothesis"`);
    const q = file('sg/CB2/train.jsonl', '{"premise": "P.", "hypothesis": "h", "label": "maybe", "idx": 0}\n');
    expect(() => readSuperGlueJsonl(q, getTask('superglue-cb'), 'train')).toThrow(`${q}:1: unknown label "maybe" for superglue-cb`);
    const t = file('sg/CB/test.jsonl', '{"premise": "P.", "hypothesis": "h", "idx": 0}\n');
    expect(readSuperGlueJsonl(t, getTask('superglue-cb'), 'test').rows[0]?.label).toBe(-1);
    expect(() => readSuperGlueJsonl(t, getTask('superglue-cb'), 'train')).toThrow(`${t}:1: missing field "label"`);
  });

  it('flattens WSC\'s target and repairs spans as wsc.fixed does', () => {
    const p = file('sg/WSC/train.jsonl', '{"text": "The city councilmen refused the demonstrators a permit because they advocated violence.", "target": {"span2_index": 9, "span1_index": 4, "span1_text": "The demonstrators", "span2_text": "they"}, "idx": 16, "label": true}\n');
    expect(readSuperGlueJsonl(p, getTask('superglue-wsc.fixed'), 'train').rows).toEqual([
      {
        text: 'The city councilmen refused the demonstrators a permit because they advocated violence.',
        span1_index: 4,
        span2_index: 9,
        span1_text: 'the demonstrators',
        span2_text: 'they',
        idx: 16,
        label: 1,
      },
    ]);
  });

  it('gives MultiRC one row per answer option', () => {
    const line = JSON.stringify({
      idx: 7,
      passage: {
        text: 'Ada lived in Paris.',
        questions: [
          { idx: 2, question: 'Where did Ada live?', answers: [{ idx: 0, text: 'Paris', label: 1 }, { idx: 1, text: 'Rome', label: 0 }] },
          { idx: 3, question: 'Who lived in Paris?', answers: [{ idx: 2, text: 'Ada', label: 1 }] },
        ],
      },
    });
    const p = file('sg/MultiRC/val.jsonl', `${line}\n`);
    expect(readSuperGlueJsonl(p, getTask('superglue-multirc'), 'validation').rows).toEqual([
      { paragraph: 'Ada lived in Paris.', question: 'Where did Ada live?', answer: 'Paris', idx: { paragraph: 7, question: 2, answer: 0 }, label: 1 },
      { paragraph: 'Ada lived in Paris.', question: 'Where did Ada live?', answer: 'Rome', idx: { paragraph: 7, question: 2, answer: 1 }, label: 0 },
      { paragraph: 'Ada lived in Paris.', question: 'Who lived in Paris?', answer: 'Ada', idx: { paragraph: 7, question: 3, answer: 2 }, label: 1 },
    ]);
  });

  it('gives ReCoRD one row per query, entities cut with an inclusive end, sorted and unique', () => {
    // "Nantes" at 0..5, "Brest" at 11..15, "Nantes" again at 21..26
    const text = 'Nantes and Brest, then Nantes.';
    const line = JSON.stringify({
      idx: 3,
      passage: { text, entities: [{ start: 0, end: 5 }, { start: 11, end: 15 }, { start: 23, end: 28 }] },
      qas: [
        { idx: 9, query: '@placeholder is in Brittany.', answers: [{ start: 11, end: 15, text: 'Brest' }, { start: 0, end: 5, text: 'Nantes' }, { start: 23, end: 28, text: 'Nantes' }] },
      ],
    });
    const p = file('sg/ReCoRD/val.jsonl', `${line}\n`);
    const rows = readSuperGlueJsonl(p, getTask('superglue-record'), 'validation').rows;
    expect(rows.length).toBe(1);
    expect(rows[0]).toMatchObject({ passage: text, query: '@placeholder is in Brittany.', entities: ['Brest', 'Nantes'], answers: ['Brest', 'Nantes'], idx: { passage: 3, query: 9 } });
  });
});

describe('glue_pretrain JSON', () => {
  it('maps text_a/text_b to the task columns and reads string labels', () => {
    const p = file('pre/RTE/train.json', '{\n    "0": {\n        "text_a": "A.",\n        "text_b": "B.",\n        "label": "not_entailment"\n    },\n    "1": {\n        "text_a": "C.",\n        "text_b": "D.",\n        "label": "0"\n    }\n}\n');
    expect(readPretrainJson(p, getTask('rte')).rows).toEqual([
      { sentence1: 'A.', sentence2: 'B.', idx: 0, label: 1 },
      { sentence1: 'C.', sentence2: 'D.', idx: 1, label: 0 },
    ]);
    const cola = file('pre/CoLA/train.json', '{"0": {"text_a": "Hi.", "text_b": null, "label": "1"}}');
    expect(readPretrainJson(cola, getTask('cola')).rows).toEqual([{ sentence: 'Hi.', idx: 0, label: 1 }]);
  });

  it('names the line of an unknown label, a missing text_b, or a JSON syntax error', () => {
    const p = file('pre/bad/train.json', '{\n  "0": {"text_a": "A.", "text_b": "B.", "label": "entailment"},\n  "1": {"text_a": "C.", "text_b": "D.", "label": "yes"}\n}\n');
    expect(() => readPretrainJson(p, getTask('rte'))).toThrow(`${p}:3: unknown label "yes" for rte`);
    const q = file('pre/bad/dev.json', '{\n  "0": {"text_a": "A.", "text_b": null, "label": "entailment"}\n}\n');
    expect(() => readPretrainJson(q, getTask('rte'))).toThrow(`${q}:2: row "0": missing field "text_b"`);
    const r = file('pre/bad/test.json', '{\n  "0": {"text_a": "A.",\n  "text_b": "B." "label": "entailment"}\n}\n');
    expect(() => readPretrainJson(r, getTask('rte'))).toThrow(new RegExp(`^${r.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:3: invalid JSON`));
  });
});

describe('SciTail originals', () => {
  it('reads tsv_format (entails/neutral) and snli_format', () => {
    const tsv = file('SciTailV1.1/tsv_format/scitail_1.0_dev.tsv', 'Plants need light.\tLight is needed.\tentails\nCats purr.\tDogs bark.\tneutral\n');
    expect(readSciTail(tsv, getTask('scitail')).rows).toEqual([
      { sentence1: 'Plants need light.', sentence2: 'Light is needed.', label: 0 },
      { sentence1: 'Cats purr.', sentence2: 'Dogs bark.', label: 1 },
    ]);
    const txt = file('SciTailV1.1/snli_format/scitail_1.0_dev.txt', '{"sentence1": "A.", "sentence2": "B.", "gold_label": "neutral", "annotator_labels": ["neutral"]}\n');
    expect(readSciTail(txt, getTask('scitail')).rows).toEqual([{ sentence1: 'A.', sentence2: 'B.', label: 1 }]);
    expect(detectLayouts(join(dir, 'SciTailV1.1'))[0]?.layout).toBe('scitail-original');
  });
});

describe('Hugging Face exports', () => {
  it('reads Parquet written with int64 labels (BigInt) as numbers', async () => {
    const p = join(dir, 'hf/glue/rte/train-00000-of-00001.parquet');
    mkdirSync(join(p, '..'), { recursive: true });
    parquetWriteFile({
      filename: p,
      columnData: [
        { name: 'sentence1', data: ['A cat sat.', 'It rained.'], type: 'STRING' },
        { name: 'sentence2', data: ['A cat.', 'It was dry.'], type: 'STRING' },
        { name: 'label', data: [0n, 1n], type: 'INT64' },
        { name: 'idx', data: [0, 1], type: 'INT32' },
      ],
    });
    const { rows } = await readHfParquet(p, getTask('rte'), 'train');
    expect(rows).toEqual([
      { sentence1: 'A cat sat.', sentence2: 'A cat.', idx: 0, label: 0 },
      { sentence1: 'It rained.', sentence2: 'It was dry.', idx: 1, label: 1 },
    ]);
    expect(typeof rows[0]?.label).toBe('number');
  });

  it('refuses a Parquet row with an unknown label id or a missing column', async () => {
    const p = join(dir, 'hf/bad/train.parquet');
    mkdirSync(join(p, '..'), { recursive: true });
    parquetWriteFile({ filename: p, columnData: [{ name: 'premise', data: ['P.'], type: 'STRING' }, { name: 'hypothesis', data: ['h'], type: 'STRING' }, { name: 'label', data: [3n], type: 'INT64' }] });
    await expect(readHfParquet(p, getTask('superglue-cb'), 'train')).rejects.toThrow(`${p}#0: unknown label 3 for superglue-cb`);
    await expect(readHfParquet(p, getTask('rte'), 'train')).rejects.toThrow(`${p}#0: missing column "sentence1"`);
    const junk = file('hf/junk/train.parquet', 'not parquet at all');
    await expect(readHfParquet(junk, getTask('rte'), 'train')).rejects.toThrow(`${junk}: not a readable Parquet file`);
  });

  it('finds Parquet shards in the hub\'s <split>/0000.parquet layout and loads them through the folder', async () => {
    const shard = (split: string, n: number, premise: string[], labels: bigint[]) => {
      const p = join(dir, `hf2/super_glue/cb/${split}/000${n}.parquet`);
      mkdirSync(join(p, '..'), { recursive: true });
      parquetWriteFile({
        filename: p,
        columnData: [
          { name: 'premise', data: premise, type: 'STRING' },
          { name: 'hypothesis', data: premise.map((x) => `${x} h`), type: 'STRING' },
          { name: 'idx', data: premise.map((_, i) => i), type: 'INT32' },
          { name: 'label', data: labels, type: 'INT64' },
        ],
      });
    };
    shard('train', 0, ['A', 'B'], [0n, 1n]);
    shard('train', 1, ['C'], [2n]);
    shard('validation', 0, ['D', 'E'], [2n, 0n]);
    const data = await loadTaskData('super_glue/cb', { dataDir: join(dir, 'hf2') });
    expect(data.match.layout).toBe('hf-parquet');
    expect(tableRows(data.tables.train!).map((r) => [r.premise, r.label])).toEqual([['A', 0], ['B', 1], ['C', 2]]);
    expect(splitTaskData(data).dev.indices.length).toBe(1);
  });

  it('reads a JSON Lines export (integer labels, nested MultiRC idx)', () => {
    const p = file('hf/super_glue/multirc/validation.jsonl', '{"paragraph": "P", "question": "Q", "answer": "A", "idx": {"paragraph": 0, "question": 0, "answer": 0}, "label": 1}\n');
    expect(readHfJsonl(p, getTask('superglue-multirc'), 'validation').rows).toEqual([
      { paragraph: 'P', question: 'Q', answer: 'A', idx: { paragraph: 0, question: 0, answer: 0 }, label: 1 },
    ]);
  });
});

describe('layouts and folders', () => {
  it('detects each layout from the folder and finds tasks by common folder names', async () => {
    const root = join(dir, 'data');
    file('data/RTE/train.tsv', 'index\tsentence1\tsentence2\tlabel\n0\tA.\tB.\tentailment\n1\tC.\tD.\tnot_entailment\n');
    file('data/RTE/dev.tsv', 'index\tsentence1\tsentence2\tlabel\n0\tE.\tF.\tentailment\n1\tG.\tH.\tentailment\n2\tI.\tJ.\tnot_entailment\n');
    file('data/super_glue/cb/train.jsonl', '{"premise": "P.", "hypothesis": "h", "label": 0, "idx": 0}\n');
    file('data/super_glue/cb/validation.jsonl', '{"premise": "P.", "hypothesis": "h", "label": 2, "idx": 0}\n{"premise": "Q.", "hypothesis": "i", "label": 1, "idx": 1}\n');
    file('data/fewglue/RTE/train.jsonl', '{"premise": "P.", "hypothesis": "h", "label": "entailment", "idx": 0}\n');
    file('data/fewglue/RTE/val.jsonl', '{"premise": "P.", "hypothesis": "h", "label": "not_entailment", "idx": 0}\n');
    file('data/kshot/SST-2/16-13/train.tsv', 'sentence\tlabel\ngood .\t1\n');
    file('data/kshot/SST-2/16-13/dev.tsv', 'sentence\tlabel\nbad .\t0\n');
    file('data/kshot/SST-2/16-42/train.tsv', 'sentence\tlabel\nfine .\t1\nawful .\t0\n');
    file('data/kshot/SST-2/16-42/dev.tsv', 'sentence\tlabel\nbad .\t0\n');

    const rte = await findTaskData('glue/rte', root);
    expect(rte.map((m) => [m.layout, m.folder])).toEqual([['glue-tsv', join(root, 'RTE')]]);
    const sgRte = await findTaskData('super_glue/rte', root);
    expect(sgRte.map((m) => [m.layout, m.folder])).toEqual([['superglue-jsonl', join(root, 'fewglue/RTE')]]);
    const cb = await findTaskData('superglue-cb', root);
    expect(cb.map((m) => m.layout)).toEqual(['hf-jsonl']);
    expect(cb[0]?.files.validation).toEqual([join(root, 'super_glue/cb/validation.jsonl')]);
    const sst = await findTaskData('sst2', root);
    expect(sst[0]).toMatchObject({ layout: 'lmbff-kshot', subsets: ['16-13', '16-42'], subset: '16-13' });

    const data = await loadTaskData('sst2', { dataDir: root, subset: '16-42' });
    expect(tableRows(data.tables.train!).map((r) => r.sentence)).toEqual(['fine .', 'awful .']);
    expect(splitTaskData(data)).toEqual({
      train: { source: 'train', indices: [0, 1] },
      dev: { source: 'validation', indices: [0] },
      test: { source: 'test', indices: [] },
    });
    await expect(loadTaskData('sst2', { dataDir: root, subset: '16-7' })).rejects.toThrow(/no k-shot folder "16-7"/);
    await expect(loadTaskData('qqp', { dataDir: root })).rejects.toThrow(/no data for qqp under/);
  });

  it('a data directory that is itself a task folder works', async () => {
    const data = await loadTaskData('rte', { dataDir: join(dir, 'data/RTE') });
    expect(data.match.layout).toBe('glue-tsv');
    expect(data.tables.validation!.numRows()).toBe(3);
    expect(data.tables.validation!.columnNames()).toEqual(['sentence1', 'sentence2', 'idx', 'label']);
  });
});
