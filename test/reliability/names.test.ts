/**
 * What dept shows of names and files it reads (issue 15, readers): a bank named like an Object property is just a
 * name, folder names in `report.md` render as text, `bank inspect` says when a bank's config and tensors disagree
 * (and exits 2, as loading it would), and a JSON error never quotes the offending text.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '@dept/core';
import { makeBankConfig, writeBank, type Bank } from '@dept/prompt';
import { presetConfig, writeRandomT5 } from '@dept/t5';
import { HostileCounter, expectRefusal, put, remove, runDept, tempDir } from './helpers.ts';

const hostile = new HostileCounter('names and texts');
const dir = tempDir('names');
const model = join(dir, 'model');

beforeAll(() => {
  writeRandomT5(model, presetConfig('tiny-relu'), { seed: 0, sampleTexts: [readFileSync('datasets/sample/CB/train.jsonl', 'utf8')] });
});

afterAll(() => {
  hostile.print();
  remove(dir);
});

function bank(seed: number): Bank {
  const rng = new Rng(seed);
  const t = (shape: number[]) => ({ data: Float32Array.from({ length: shape[0]! * shape[1]! }, () => rng.uniform(-1, 1)), shape });
  return { config: makeBankConfig({ num_virtual_tokens: 2, token_dim: 4, max_length: 3, r: 1 }), prompt_embeddings: t([2, 4]), lora_embedding_A: t([3, 1]), lora_embedding_B: t([1, 4]) };
}

describe('bank names of a pretraining folder', () => {
  const pre = join(dir, 'pre');
  writeBank(join(pre, 'banks', 'shared'), bank(1));
  writeFileSync(join(pre, 'manifest.json'), JSON.stringify({ format: 'dept-pretrain', version: 1, banks: { shared: 'banks/shared' } }));
  for (const name of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
    it(`"#${name}" is a name that is not there, not a function`, async () => {
      const r = await runDept(['train', '--task', 'superglue-cb', '--data-dir', 'datasets/sample', '--model', model, '--bank', `${pre}#${hostile.add(name)}`,
        '--k', '4', '--m', '2', '--r', '1', '--max-length', '3', '--max-steps', '1', '--predict', 'score', '--out', join(dir, `run-${name}`)]);
      const line = expectRefusal(r, join(pre, 'manifest.json'), `no bank named "${name}"; it holds shared`);
      expect(line).not.toMatch(/function|native code|\[object/);
    });
  }
});

describe('report.md shows folder names as text', () => {
  it('a task folder named with |, <, >, * and ` breaks neither the table nor the page', async () => {
    const grid = join(dir, 'grid');
    const task = hostile.add('evil|<img src=x onerror=alert(1)>*`x`');
    const cell = join(grid, task, 'k4', 'seed1');
    mkdirSync(cell, { recursive: true });
    writeFileSync(join(cell, 'results.json'), JSON.stringify({
      dev: {}, test: { accuracy: 50 }, selected_step: 1, selection_metric: 'accuracy', max_steps: 1, wall_seconds: 1,
      backend: 'cpu<script>', predict: 'score', random_weights: false, train_examples: 4, dev_examples: 4, test_examples: 4,
    }));
    const r = await runDept(['report', grid]);
    expect(r.status, r.stderr).toBe(0);
    const md = readFileSync(join(grid, 'report.md'), 'utf8');
    expect(md).not.toContain('<img');
    expect(md).not.toContain('<script>');
    expect(md).toContain('| evil\\|&lt;img src=x onerror=alert(1)&gt;\\*\\`x\\` (accuracy) | 50.0 (n=1) |');
    expect(md).toContain('- backend: cpu&lt;script&gt;');
    // every row of the main table has as many cells as its header
    const rows = md.split('\n').filter((l) => l.startsWith('| ')).slice(0, 2).map((l) => l.split(/(?<!\\)\|/).length);
    expect(rows[1]).toBe(rows[0]);
  });
});

describe('dept bank inspect on a bank whose config and tensors disagree', () => {
  const cases: [string, Record<string, unknown>, string][] = [
    ['num_virtual_tokens', { num_virtual_tokens: 5 }, 'says num_virtual_tokens 5'],
    ['token_dim', { token_dim: 8 }, 'says token_dim 8'],
    ['r', { r: 3 }, 'says r 3'],
    ['max_length', { max_length: 9 }, 'says max_length 9'],
  ];
  for (const [field, over, says] of cases) {
    it(`shows the bank, then refuses it (exit status 2): ${field}`, async () => {
      const b = join(dir, 'banks', field);
      writeBank(b, bank(2));
      const config = JSON.parse(readFileSync(join(b, 'adapter_config.json'), 'utf8')) as Record<string, unknown>;
      writeFileSync(join(b, 'adapter_config.json'), JSON.stringify({ ...config, ...hostile.add(over) }));
      const r = await runDept(['bank', 'inspect', b]);
      expect(r.status).toBe(2);
      const lines = r.stdout.trimEnd().split('\n'); // the table is the result: stdout
      expect(lines[0]).toContain('format: ours');
      expect(lines.some((l) => l.startsWith('prompt_embeddings'))).toBe(true);
      const errors = r.stderr.trimEnd().split('\n');
      expect(errors.at(-1)).toMatch(new RegExp(`^dept: error: .*${says}.*loading this bank for training, scoring or conversion is refused`));
      expect(errors.filter((l) => l.startsWith('dept: error:'))).toHaveLength(1);
      const json = await runDept(['bank', 'inspect', b, '--json']);
      expect(json.status).toBe(2);
      expect((JSON.parse(json.stdout) as { problems: string[] }).problems[0]).toContain(says);
    });
  }
  it('a bank that loads exits 0 with no problems', async () => {
    const b = join(dir, 'banks', 'good');
    writeBank(b, bank(3));
    const r = await runDept(['bank', 'inspect', b, '--json']);
    expect(r.status).toBe(0);
    expect((JSON.parse(r.stdout) as { problems: string[] }).problems).toEqual([]);
  });
});

describe('JSON errors quote nothing of the file', () => {
  it('a JSON recipe', async () => {
    const recipe = put(join(dir, 'recipe.json'), hostile.add('{"tasks": ["rte"],\n "token": hf_SECRET_TOKEN}'));
    const line = expectRefusal(await runDept(['train', recipe]), recipe, 'not valid JSON (line 2 column 11)');
    expect(line).not.toContain('SECRET');
  });
  it('a bank config', async () => {
    const b = join(dir, 'banks', 'bad-json');
    writeBank(b, bank(4));
    writeFileSync(join(b, 'adapter_config.json'), hostile.add('{"r": 1, "note": SECRET_NOTE}'));
    const line = expectRefusal(await runDept(['bank', 'inspect', b]), join(b, 'adapter_config.json'), 'not valid JSON (line 1 column 18)');
    expect(line).not.toContain('SECRET');
  });
  it('a JSON lines data file', async () => {
    const data = join(dir, 'data');
    const lines = readFileSync('datasets/sample/CB/train.jsonl', 'utf8').split('\n');
    lines[3] = hostile.add('{"premise": "My SECRET diary", "hypothesis": oops}');
    put(join(data, 'CB', 'train.jsonl'), lines.join('\n'));
    for (const f of ['val.jsonl']) put(join(data, 'CB', f), readFileSync(join('datasets/sample/CB', f)));
    const line = expectRefusal(await runDept(['data', 'split', '--task', 'superglue-cb', '--data-dir', data]), 'train.jsonl:4: invalid JSON (column 46');
    expect(line).not.toContain('SECRET');
  });
});
