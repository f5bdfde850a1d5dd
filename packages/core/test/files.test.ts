import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isDeptError } from '../src/errors.ts';
import { writeFileAtomic, writeJsonAtomic } from '../src/files.ts';
import { firstDifference, parseJsonText, readJsonFile, scanJson } from '../src/json.ts';

const tmp = mkdtempSync(join(tmpdir(), 'dept-fs-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('atomic writes', () => {
  it('writes a string and bytes, replacing an old file, leaving no temporary file', () => {
    const p = join(tmp, 'a.txt');
    writeFileAtomic(p, 'old');
    writeFileAtomic(p, 'new contents');
    expect(readFileSync(p, 'utf8')).toBe('new contents');
    writeFileAtomic(p, new Uint8Array([1, 2, 3]));
    expect([...readFileSync(p)]).toEqual([1, 2, 3]);
    expect(readdirSync(tmp).filter((f) => f.startsWith('.'))).toEqual([]);
  });

  it('writes JSON with sorted keys at every level when asked, and a trailing newline', () => {
    const p = join(tmp, 'c.json');
    writeJsonAtomic(p, { b: 1, a: { d: [2, { z: 0, y: 1 }], c: null } }, 2, { sortKeys: true });
    expect(readFileSync(p, 'utf8')).toBe('{\n  "a": {\n    "c": null,\n    "d": [\n      2,\n      {\n        "y": 1,\n        "z": 0\n      }\n    ]\n  },\n  "b": 1\n}\n');
  });

  it('names the missing folder', () => {
    expect(() => writeFileAtomic(join(tmp, 'no', 'x.json'), '{}')).toThrow(`${join(tmp, 'no', 'x.json')}: cannot write, folder ${join(tmp, 'no')} does not exist`);
  });
});

describe('reading JSON files', () => {
  it('reads a valid file', () => {
    const p = join(tmp, 'ok.json');
    writeFileSync(p, '{"r": 30}');
    expect(readJsonFile<{ r: number }>(p).r).toBe(30);
  });

  it('says file not found, with what was expected', () => {
    const p = join(tmp, 'missing.json');
    expect(() => readJsonFile(p, 'the bank config')).toThrow(`${p}: file not found (expected the bank config)`);
    try {
      readJsonFile(p);
    } catch (e) {
      expect(isDeptError(e)).toBe(true);
    }
  });

  it('gives line and column of a syntax error', () => {
    const p = join(tmp, 'bad.json');
    writeFileSync(p, '{\n  "a": 1,\n  "b": ,\n}');
    expect(() => readJsonFile(p)).toThrow(`${p}: not valid JSON (line 3 column 8): expected a value (an object, array, string, number, true, false or null)`);
    expect(() => parseJsonText('{"a": 1,}', 'x')).toThrow('x: not valid JSON (line 1 column 9): expected a double-quoted property name');
    expect(() => parseJsonText('', 'x')).toThrow('x: not valid JSON (line 1 column 1): unexpected end of input');
    expect(() => parseJsonText('[1, 2', 'x')).toThrow('x: not valid JSON (line 1 column 6): unexpected end of input');
  });

  it('never quotes the text it cannot parse: a secret in a broken file stays out of the message', () => {
    for (const text of ['{"token": hf_SECRET}', 'hf_SECRET', '{"a": 1} hf_SECRET', '{"a": tru_SECRET}', "{'hf_SECRET': 1}"]) {
      let message = '';
      try {
        parseJsonText(text, 'f.json');
      } catch (e) {
        message = (e as Error).message;
      }
      expect(message).toMatch(/^f\.json: not valid JSON \(line 1 column \d+\): /);
      expect(message).not.toContain('SECRET');
      expect(message).not.toMatch(/"h"|"t"|'/);
    }
  });

  it('finds duplicate keys that JSON.parse would merge', () => {
    expect(scanJson('{"a": {"b": 1, "b": 2}}').duplicate).toEqual({ key: 'b', path: ['a'] });
    expect(scanJson('{"a\\u0062": 1, "ab": 2}').duplicate).toEqual({ key: 'ab', path: [] });
    expect(scanJson('{"a": [{"k": 1}, {"k": 2}]}').duplicate).toBeNull();
  });

  it('reports each number as written, with the keys around it', () => {
    const seen: [string, string[]][] = [];
    scanJson('{"x": {"shape": [1.0, 2], "n": -0}, "y": [1e3, {"z": 4E-1}]}', { onNumber: (t, p) => seen.push([t, [...p]]) });
    expect(seen).toEqual([['1.0', ['x', 'shape']], ['2', ['x', 'shape']], ['-0', ['x', 'n']], ['1e3', ['y']], ['4E-1', ['y', 'z']]]);
  });
});

describe('firstDifference', () => {
  it('names the first differing path, object keys of either side, array items by index', () => {
    expect(firstDifference({ train: { lr: 0.3, r: 30 } }, { train: { lr: 0.3, r: 30 } })).toBeNull();
    expect(firstDifference({ train: { lr: 0.3, r: 30 } }, { train: { lr: 0.4, r: 30 } })).toBe('train.lr');
    expect(firstDifference({ a: 1 }, { a: 1, b: null })).toBe('b');
    expect(firstDifference({ k: [4, 16] }, { k: [4, 32] })).toBe('k.1');
    expect(firstDifference(1, 2)).toBe('(root)');
  });
});
