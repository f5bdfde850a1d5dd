/**
 * Hostile data files fed to `dept data split|kshot` and `dept train` (in-process): each gives a clear error
 * naming the file and the line, never a silent wrong row (issue 8, item 3).
 */
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/shared.ts';
import { HostileCounter, expectRefusal, remove, runDept, tempDir } from './helpers.ts';

const hostile = new HostileCounter('data files');
let dir: string;
let n = 0;
const SAMPLE = join(REPO_ROOT, 'datasets', 'sample');

/** A copy of the sample data with `<task folder>/<file>` replaced (or edited). */
function dataWith(folder: 'CB' | 'RTE', file: string, content: string | Uint8Array | ((text: string) => string)): { dataDir: string; path: string } {
  const dataDir = join(dir, `d${n++}`);
  cpSync(join(SAMPLE, folder), join(dataDir, folder), { recursive: true });
  const path = join(dataDir, folder, file);
  const bytes = typeof content === 'function' ? content(readFileSync(path, 'utf8')) : content;
  writeFileSync(path, hostile.add(bytes));
  return { dataDir, path };
}

const split = (task: string, dataDir: string) => runDept(['data', 'split', '--task', task, '--data-dir', dataDir, '--json']);
const cbLines = (text: string) => text.split('\n').filter((l) => l.trim() !== '');

beforeAll(() => {
  dir = tempDir('data');
});

afterAll(() => {
  hostile.print();
  remove(dir);
});

describe('SuperGLUE JSON lines (CB)', () => {
  const cases: [string, string, string | Uint8Array | ((t: string) => string), (string | RegExp)[]][] = [
    ['an empty file', 'train.jsonl', '', [':1: empty file']],
    ['a file of blank lines', 'train.jsonl', '\n\n  \n', [':1: empty file']],
    ['an invalid JSON line', 'train.jsonl', (t) => { const l = cbLines(t); l[6] = '{"premise": "A", "hypothesis": "B", "label": "neutral"'; return l.join('\n'); }, ['train.jsonl:7: invalid JSON']],
    ['a line cut in the middle (a download that stopped)', 'val.jsonl', (t) => t.slice(0, Math.floor(t.length / 2)), [/val\.jsonl:\d+: invalid JSON/]],
    ['a line that is not an object', 'train.jsonl', (t) => { const l = cbLines(t); l[3] = '["premise", "hypothesis"]'; return l.join('\n'); }, ['train.jsonl:4: expected a JSON object']],
    ['a missing column', 'train.jsonl', (t) => { const l = cbLines(t); const o = JSON.parse(l[9]!); delete o.hypothesis; l[9] = JSON.stringify(o); return l.join('\n'); }, ['train.jsonl:10: missing field "hypothesis"']],
    ['a column of the wrong type', 'train.jsonl', (t) => { const l = cbLines(t); l[2] = JSON.stringify({ ...JSON.parse(l[2]!), premise: 42 }); return l.join('\n'); }, ['train.jsonl:3: field "premise" should be text, got 42']],
    ['a missing label', 'val.jsonl', (t) => { const l = cbLines(t); const o = JSON.parse(l[0]!); delete o.label; l[0] = JSON.stringify(o); return l.join('\n'); }, ['val.jsonl:1: missing field "label"']],
    ['an unknown label', 'train.jsonl', (t) => { const l = cbLines(t); l[4] = JSON.stringify({ ...JSON.parse(l[4]!), label: 'maybe' }); return l.join('\n'); }, ['train.jsonl:5: unknown label "maybe" for superglue-cb (expected entailment, contradiction, neutral or an id 0..2)']],
    ['a label id out of range', 'train.jsonl', (t) => { const l = cbLines(t); l[4] = JSON.stringify({ ...JSON.parse(l[4]!), label: 7 }); return l.join('\n'); }, ['train.jsonl:5: unknown label 7 for superglue-cb']],
    ['a label of the wrong type', 'train.jsonl', (t) => { const l = cbLines(t); l[4] = JSON.stringify({ ...JSON.parse(l[4]!), label: { evil: true } }); return l.join('\n'); }, ['train.jsonl:5: unknown label']],
    ['bytes that are not UTF-8', 'train.jsonl', (t) => { const l = cbLines(t); return l.slice(0, 11).join('\n') + '\n' + Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]).toString('latin1') + '\n' + l.slice(12).join('\n'); }, []],
    ['a binary file', 'train.jsonl', new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x01, 0x00, 0x00, 0x00, 0x0a, 0x00]), ['train.jsonl:1: ']],
  ];
  for (const [name, file, content, expected] of cases) {
    it(name, async () => {
      const { dataDir, path } = name === 'bytes that are not UTF-8' ? nonUtf8() : dataWith('CB', file, content);
      expectRefusal(await split('superglue-cb', dataDir), `${path}:`, ...(name === 'bytes that are not UTF-8' ? ['train.jsonl:12: not valid UTF-8'] : expected));
    });
  }
  /** A train.jsonl whose line 12 holds the bytes FF FE inside a string. */
  function nonUtf8(): { dataDir: string; path: string } {
    const text = readFileSync(join(SAMPLE, 'CB', 'train.jsonl'), 'utf8');
    const lines = cbLines(text);
    const bad = Buffer.concat([Buffer.from(`${lines.slice(0, 11).join('\n')}\n{"premise": "caf`), Buffer.from([0xff, 0xfe]), Buffer.from(`", "hypothesis": "x", "label": "neutral"}\n${lines.slice(12).join('\n')}\n`)]);
    return dataWith('CB', 'train.jsonl', new Uint8Array(bad));
  }
  it('a huge line (8 MB premise) is read as one row, in full, not cut into a wrong one', async () => {
    const big = 'word '.repeat(1_600_000);
    const { dataDir } = dataWith('CB', 'train.jsonl', (t) => { const l = cbLines(t); l[0] = JSON.stringify({ ...JSON.parse(l[0]!), premise: big }); return l.join('\n'); });
    const r = await split('superglue-cb', dataDir);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).train.indices).toHaveLength(40);
  });
  it('a huge line that is broken names its line without printing it', async () => {
    const big = 'x'.repeat(8_000_000);
    const { dataDir } = dataWith('CB', 'train.jsonl', (t) => { const l = cbLines(t); l[20] = `{"premise": "${big}", "hypothesis": "h", "label": "neutral"`; return l.join('\n'); });
    const line = expectRefusal(await split('superglue-cb', dataDir), 'train.jsonl:21: invalid JSON');
    expect(line.length).toBeLessThan(600);
  });
});

describe('GLUE TSV (RTE)', () => {
  const cases: [string, string, string | ((t: string) => string), (string | RegExp)[]][] = [
    ['an empty file', 'train.tsv', '', ['train.tsv:1: empty file']],
    ['a header only (no rows)', 'dev.tsv', 'index\tsentence1\tsentence2\tlabel\n', ['dev.tsv:1: a header and no rows (the file holds no examples)']],
    ['a missing text column', 'train.tsv', (t) => t.replace('sentence2', 'sentence_2'), ['train.tsv:1: missing column "sentence2" (the header has index, sentence1, sentence_2, label)']],
    ['a missing label column', 'train.tsv', (t) => t.replace('\tlabel', '\tgold'), ['train.tsv:1: missing column "label"']],
    ['a ragged row (a tab lost)', 'train.tsv', (t) => { const l = t.split('\n'); l[5] = l[5]!.replace(/\t(?=[^\t]*$)/, ' '); return l.join('\n'); }, ['train.tsv:6: row has 3 fields, the header has 4']],
    ['a ragged row (an extra tab)', 'train.tsv', (t) => { const l = t.split('\n'); l[8] = `${l[8]}\textra`; return l.join('\n'); }, ['train.tsv:9: row has 5 fields, the header has 4']],
    ['an unknown label', 'dev.tsv', (t) => { const l = t.split('\n'); l[3] = l[3]!.replace(/\t[^\t]*$/, '\tperhaps'); return l.join('\n'); }, ['dev.tsv:4: unknown label "perhaps" for rte (expected entailment, not_entailment or an id 0..1)']],
    ['a quote character that would swallow lines in a CSV reader', 'train.tsv', (t) => { const l = t.split('\n'); l[2] = l[2]!.replace(/\t[^\t]*$/, '\t"maybe'); return l.join('\n'); }, ['train.tsv:3: unknown label "\\"maybe"']],
    ['a huge ragged line (5 MB)', 'train.tsv', (t) => { const l = t.split('\n'); l[10] = `10\t${'y'.repeat(5_000_000)}\tentailment`; return l.join('\n'); }, ['train.tsv:11: row has 3 fields, the header has 4']],
  ];
  for (const [name, file, content, expected] of cases) {
    it(name, async () => {
      const { dataDir, path } = dataWith('RTE', file, content);
      expectRefusal(await split('rte', dataDir), path, ...expected);
    });
  }
  it('CRLF line ends and a byte-order mark are read like Python reads them (not hostile, must not be refused)', async () => {
    const { dataDir } = dataWith('RTE', 'train.tsv', (t) => `\ufeff${t.replace(/\n/g, '\r\n')}`);
    const r = await split('rte', dataDir);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).train.indices).toHaveLength(40);
  });
});

describe('the same errors reach dept train and dept data kshot', () => {
  it('dept train stops on an unknown label before training, naming the file and line', async () => {
    const { dataDir, path } = dataWith('CB', 'val.jsonl', (t) => { const l = cbLines(t); l[8] = JSON.stringify({ ...JSON.parse(l[8]!), label: 'unsure' }); return l.join('\n'); });
    const out = join(dir, 'train-out');
    const r = await runDept(['train', '--task', 'superglue-cb', '--data-dir', dataDir, '--model', join(dir, 'model'), '--set', 'model.init={preset: tiny-relu}',
      '--k', '4', '--m', '2', '--r', '1', '--max-length', '16', '--max-steps', '1', '--out', out]);
    expectRefusal(r, `${path}:9: unknown label "unsure"`);
  });
  it('dept data kshot on a ragged TSV', async () => {
    const { dataDir, path } = dataWith('RTE', 'train.tsv', (t) => t.replace(/\n(\d+\t[^\n]*)\n/, (_m, row: string) => `\n${row.split('\t').slice(0, 2).join('\t')}\n`));
    expectRefusal(await runDept(['data', 'kshot', '--task', 'rte', '--k', '4', '--data-dir', dataDir, '--json']), path, 'row has 2 fields, the header has 4');
  });
  it('a data folder that does not exist, and a task with no data in it', async () => {
    expectRefusal(await split(hostile.add('rte'), join(dir, 'nowhere')), join(dir, 'nowhere'));
    expectRefusal(await split(hostile.add('superglue-boolq'), join(dir, 'd0')), 'superglue-boolq');
  });
});
