/**
 * Rows to label (`dept predict`): every file kind `readInputRows` takes (GLUE TSV, an original SuperGLUE JSONL and a
 * Hugging Face JSONL told apart by the first row, Parquet, plain text, a data folder's split), unlabelled rows, and
 * the one-line refusals of `rowsFromLines` and of files it cannot read.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parquetWriteFile } from 'hyparquet-writer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getTask, inputFields, readInputRows, rowsFromLines } from '../src/index.ts';

const SAMPLE = resolve(import.meta.dirname, '..', '..', '..', 'datasets', 'sample');
let dir: string;
const file = (name: string, text: string): string => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'dept-input-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('readInputRows', () => {
  it('reads a GLUE TSV with or without labels', async () => {
    const labelled = await readInputRows(join(SAMPLE, 'RTE', 'dev.tsv'), 'rte');
    expect(labelled.rows).toHaveLength(30);
    expect(labelled.rows[0]).toMatchObject({ sentence1: 'The garden centre sells plants, seeds and tools, and runs pruning classes on Saturdays.', sentence2: 'The garden centre offers classes.', label: 0 });
    const bare = await readInputRows(file('rte.tsv', 'index\tsentence1\tsentence2\n0\tA dog ran.\tAn animal ran.\n'), getTask('rte'));
    expect(bare.rows).toEqual([{ sentence1: 'A dog ran.', sentence2: 'An animal ran.', idx: 0, label: -1 }]);
  });

  it('tells an original SuperGLUE JSONL (label names) from a Hugging Face export (label ids) by its first row', async () => {
    const original = await readInputRows(join(SAMPLE, 'CB', 'val.jsonl'), 'superglue-cb');
    expect(original.rows).toHaveLength(30);
    expect(original.rows[0]).toMatchObject({ hypothesis: 'the map was upside down', label: 0 }); // "entailment"
    const hf = await readInputRows(file('cb.jsonl', '{"premise": "P.", "hypothesis": "H", "idx": 7, "label": 2}\n{"premise": "Q.", "hypothesis": "I"}\n'), 'superglue-cb');
    expect(hf.rows).toEqual([{ premise: 'P.', hypothesis: 'H', idx: 7, label: 2 }, { premise: 'Q.', hypothesis: 'I', idx: 1, label: -1 }]);
    // WSC: the original nests the spans under "target"; the export has them flat.
    const wscRow = { text: 'Bob paid Al because he was kind .', span1_index: 0, span1_text: 'Bob', span2_index: 4, span2_text: 'he' };
    const fromOriginal = await readInputRows(file('wsc-val.jsonl', `${JSON.stringify({ text: wscRow.text, target: { ...wscRow, text: undefined }, idx: 0, label: true })}\n`), 'superglue-wsc.fixed');
    const fromExport = await readInputRows(file('wsc-hf.jsonl', `${JSON.stringify({ ...wscRow, idx: 0, label: 1 })}\n`), 'superglue-wsc.fixed');
    expect(fromOriginal.rows).toEqual([{ ...wscRow, idx: 0, label: 1 }]);
    expect(fromExport.rows).toEqual(fromOriginal.rows);
  });

  it('reads Parquet, plain text, and a split of a data folder', async () => {
    const pq = join(dir, 'sst2.parquet');
    await parquetWriteFile({ filename: pq, columnData: [{ name: 'sentence', data: ['good film', 'bad film'], type: 'STRING' }] });
    expect((await readInputRows(pq, 'sst2')).rows).toEqual([{ sentence: 'good film', idx: 0, label: -1 }, { sentence: 'bad film', idx: 1, label: -1 }]);
    expect((await readInputRows(file('lines.txt', 'one\n\ntwo\n'), 'sst2')).rows.map((r) => r.sentence)).toEqual(['one', 'two']);
    const folder = await readInputRows(SAMPLE, 'superglue-cb', { split: 'validation' });
    expect(folder.rows).toHaveLength(30);
    await expect(readInputRows(SAMPLE, 'superglue-cb')).rejects.toThrow(/no test split for superglue-cb \(superglue-jsonl layout; it has train, validation\); choose one with --split/);
  });

  it('refuses a file of another kind in one line', async () => {
    await expect(readInputRows(file('rows.csv', 'a,b\n'), 'rte')).rejects.toThrow(/rows\.csv: not a file dept reads rows from: expected \.tsv, \.jsonl, \.json, \.parquet or \.txt, or a data folder$/);
  });
});

describe('rowsFromLines', () => {
  it('takes JSON objects with the task fields, and plain text only for one-field tasks', () => {
    expect(inputFields(getTask('superglue-cb'))).toEqual(['premise', 'hypothesis']);
    expect(inputFields(getTask('sst2'))).toEqual(['sentence']);
    expect(rowsFromLines('\uFEFFa gorgeous, witty film\r\n', 'sst2').rows).toEqual([{ sentence: 'a gorgeous, witty film', idx: 0, label: -1 }]);
    expect(rowsFromLines('{"sentence": "{not json"}\n', 'sst2').rows[0]?.sentence).toBe('{not json');
    expect(() => rowsFromLines('a sentence\n', 'rte')).toThrow('stdin:1: a plain text line, but rte takes sentence1, sentence2: give one JSON object a line, e.g. {"sentence1": …, "sentence2": …}');
    expect(() => rowsFromLines('{"sentence1": "x"}\n', 'rte', 'rows.txt')).toThrow(/^rows\.txt:1: missing column "sentence2"/);
    expect(() => rowsFromLines('\n{"sentence1": \n', 'rte')).toThrow(/^stdin:2: invalid JSON/);
    expect(() => rowsFromLines('[1, 2]\n', 'sst2')).not.toThrow(); // plain text that happens to look like JSON
    expect(() => rowsFromLines('{"sentence": "a", "label": "maybe"}\n', 'sst2')).toThrow(/stdin:1: unknown label "maybe" for sst2/);
    expect(() => rowsFromLines('\n \n', 'sst2')).toThrow('stdin: no rows (expected one sentence text or JSON object a line)');
  });
});
