/**
 * Nothing lost (issue 15, data loss; issue 16, file safety), in-process through `main(argv)`: dept replaces or
 * removes only what it wrote (the folder's `.dept.json` record), a grid folder must be new, empty or dept's, no
 * cell is written through a symbolic link, `bank convert` and `model init` refuse what is there, the leftovers of
 * a killed writer are removed by the next one (only when their writer is gone), and a moved run folder resumes.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '@dept/core';
import { presetConfig, writeRandomT5 } from '@dept/t5';
import { makeBankConfig, readBank, writeBank, type Bank } from '@dept/prompt';
import { HostileCounter, expectRefusal, listFiles, put, remove, runDept, tempDir } from './helpers.ts';

const hostile = new HostileCounter('folders dept did not make');
const dir = tempDir('ownership');
const model = join(dir, 'model');

/** A two-step run (a checkpoint every step) of the tiny model: a second or two. */
const trainArgs = (out: string, ...extra: string[]) => [
  'train', '--task', 'superglue-cb', '--data-dir', 'datasets/sample', '--model', model, '--k', '4', '--seed', '1',
  '--m', '2', '--r', '1', '--max-length', '16', '--max-steps', '2', '--eval-steps', '2', '--save-steps', '1', '--predict', 'score',
  '--out', out, ...extra,
];
const gridArgs = (out: string, seeds: string, ...extra: string[]) => [
  'fewshot', '--task', 'superglue-cb', '--data-dir', 'datasets/sample', '--model', model, '--k', '4', '--seeds', seeds,
  '--m', '2', '--r', '1', '--max-length', '16', '--max-steps', '2', '--eval-steps', '2', '--predict', 'score', '--json', '--out', out, ...extra,
];

/** Every file under `root` with its bytes, to show that nothing changed. */
function snapshot(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of listFiles(root)) out[f] = readFileSync(join(root, f), 'utf8');
  return out;
}

function bank(seed: number): Bank {
  const rng = new Rng(seed);
  const t = (shape: number[]) => ({ data: Float32Array.from({ length: shape[0]! * shape[1]! }, () => rng.uniform(-1, 1)), shape });
  return { config: makeBankConfig({ num_virtual_tokens: 2, token_dim: 4, max_length: 3, r: 1 }), prompt_embeddings: t([2, 4]), lora_embedding_A: t([3, 1]), lora_embedding_B: t([1, 4]) };
}

/** The PID of a process that has exited (so no process holds it now, unless reused at once). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

beforeAll(() => {
  writeRandomT5(model, presetConfig('tiny-relu'), { seed: 0, sampleTexts: [readFileSync('datasets/sample/CB/train.jsonl', 'utf8')] });
});

afterAll(() => {
  hostile.print();
  remove(dir);
});

describe('dept train --overwrite removes only what dept wrote', () => {
  it('keeps your files beside a run it replaces', async () => {
    const out = join(dir, 'thesis');
    expect((await runDept(trainArgs(out))).status).toBe(0);
    put(join(out, 'thesis.tex'), hostile.add('\\documentclass{article}'));
    put(join(out, 'notes', 'draft.md'), '# notes');
    const r = await runDept(trainArgs(out, '--overwrite'));
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(join(out, 'thesis.tex'), 'utf8')).toBe('\\documentclass{article}');
    expect(readFileSync(join(out, 'notes', 'draft.md'), 'utf8')).toBe('# notes');
    expect(existsSync(join(out, 'results.json'))).toBe(true);
    expect(readdirSync(out).filter((n) => n.includes('.trash-') || n.includes('.old-'))).toEqual([]);
  });

  it('refuses a results.json that dept did not write, and touches nothing', async () => {
    const out = join(dir, 'foreign-run');
    put(join(out, 'results.json'), hostile.add('{"my": "results"}'));
    put(join(out, 'bank', 'mine.txt'), 'mine');
    put(join(out, 'thesis.tex'), 'text');
    const before = snapshot(out);
    expectRefusal(await runDept(trainArgs(out, '--overwrite')), out, 'no record that dept wrote it');
    expect(snapshot(out)).toEqual(before);
    expect(readdirSync(out).sort()).toEqual(['bank', 'results.json', 'thesis.tex']);
  });

  it('refuses a grid folder given as a run folder', async () => {
    const grid = join(dir, 'grid-as-run');
    expect((await runDept(gridArgs(grid, '1'))).status).toBe(0);
    const before = snapshot(grid);
    expectRefusal(await runDept(trainArgs(grid, '--overwrite')), grid, 'is a dept grid folder');
    expect(snapshot(grid)).toEqual(before);
  });
});

describe('dept fewshot writes only into a new, empty or dept grid folder', () => {
  it('refuses a folder of your own, leaving its results.json, results.csv and report.md alone', async () => {
    const out = join(dir, 'my-results');
    put(join(out, 'results.json'), hostile.add('{"mine": 1}'));
    put(join(out, 'results.csv'), 'a,b\n1,2\n');
    put(join(out, 'report.md'), '# my report\n');
    const before = snapshot(out);
    expectRefusal(await runDept(gridArgs(out, '1')), out, 'is not empty', 'was not made by dept');
    expect(snapshot(out)).toEqual(before);
    expect(readdirSync(out).sort()).toEqual(['report.md', 'results.csv', 'results.json']);
  });

  it('refuses a task folder that is a symbolic link: no cell lands outside the grid', async () => {
    const out = join(dir, 'linked-grid');
    expect((await runDept(gridArgs(out, '1'))).status).toBe(0);
    // The task folder moved to another disk and linked back: the next cells would be written over there.
    const elsewhere = join(dir, 'elsewhere');
    mkdirSync(elsewhere);
    renameSync(join(out, 'superglue-cb'), join(elsewhere, 'superglue-cb'));
    symlinkSync(join(elsewhere, 'superglue-cb'), join(out, 'superglue-cb'));
    hostile.add(out);
    expectRefusal(await runDept(gridArgs(out, '1,2')), join(out, 'superglue-cb'), 'is a symbolic link');
    expect(existsSync(join(elsewhere, 'superglue-cb', 'k4', 'seed2'))).toBe(false);
  });

  it('dept report refuses to replace a report.md that dept did not write', async () => {
    const out = join(dir, 'report-own');
    expect((await runDept(gridArgs(out, '1'))).status).toBe(0);
    // A folder of cells (copied from a grid) holding a report of your own.
    const copy = join(dir, 'cells-and-my-report');
    mkdirSync(copy);
    renameSync(join(out, 'superglue-cb'), join(copy, 'superglue-cb'));
    put(join(copy, 'report.md'), hostile.add('# my own report\n'));
    expectRefusal(await runDept(['report', copy]), join(copy, 'report.md'), 'was not written by dept');
    expect(readFileSync(join(copy, 'report.md'), 'utf8')).toBe('# my own report\n');
  });
});

describe('dept pretrain --overwrite removes only what dept wrote', () => {
  it('refuses a runs/ folder of your own instead of deleting it', async () => {
    const out = join(dir, 'pretrain-own');
    put(join(out, 'runs', 'experiment-1', 'log.txt'), hostile.add('my log'));
    put(join(out, 'thesis.tex'), 'text');
    const before = snapshot(out);
    const r = await runDept(['pretrain', '--sources', 'superglue-cb', '--data-dir', 'datasets/sample', '--model', model, '--max-steps', '1',
      '--max-train-examples', '4', '--max-eval-examples', '4', '--out', out, '--overwrite']);
    expectRefusal(r, join(out, 'runs'), 'was not written by dept');
    expect(snapshot(out)).toEqual(before);
  });
});

describe('dept bank convert and dept model init refuse what is already there', () => {
  it('bank convert refuses an existing --out (a finished run\'s bank), replaces it with --force, defaults to --to dept', async () => {
    const src = join(dir, 'src-bank');
    writeBank(src, bank(1));
    const out = join(dir, 'run-bank');
    writeBank(out, bank(2));
    const before = readFileSync(join(out, 'adapter_model.safetensors'));
    expectRefusal(await runDept(['bank', 'convert', src, '--out', out]), `--out ${out}`, 'already holds a bank', '--force');
    expect(readFileSync(join(out, 'adapter_model.safetensors'))).toEqual(before);
    const forced = await runDept(['bank', 'convert', src, '--out', out, '--force']);
    expect(forced.status, forced.stderr).toBe(0);
    expect(forced.stdout).toContain('to dept in'); // the result line: stdout
    expect(Array.from(readBank(out).prompt_embeddings.data)).toEqual(Array.from(bank(1).prompt_embeddings.data));
  });

  it('bank convert --force still refuses a folder that holds more than a bank', async () => {
    const src = join(dir, 'src-bank-2');
    writeBank(src, bank(1));
    const out = put(join(dir, 'my-folder', 'thesis.tex'), hostile.add('text'));
    expectRefusal(await runDept(['bank', 'convert', src, '--out', join(out, '..'), '--force']), 'holds files other than a bank');
    expect(readFileSync(out, 'utf8')).toBe('text');
  });

  it('bank convert removes the leftovers of a killed convert, but not those of a live one', async () => {
    const src = join(dir, 'src-bank-3');
    writeBank(src, bank(3));
    const parent = join(dir, 'converted');
    mkdirSync(parent);
    const dead = put(join(parent, `.out.tmp-${deadPid()}-0a1b2c3d`, 'adapter_model.safetensors'), hostile.add('half'));
    const sleeper = spawn('sleep', ['60'], { stdio: 'ignore' });
    try {
      const live = put(join(parent, `.out.tmp-${sleeper.pid}-4e5f6a7b`, 'adapter_model.safetensors'), 'in progress');
      // written just now, after the sleeper started: it is the sleeper's for all dept can tell
      const r = await runDept(['bank', 'convert', src, '--out', join(parent, 'out')]);
      expect(r.status, r.stderr).toBe(0);
      expect(existsSync(join(dead, '..'))).toBe(false);
      expect(readFileSync(live, 'utf8')).toBe('in progress');
    } finally {
      sleeper.kill();
    }
  });

  it('model init refuses a folder that holds files of yours, and a file as --out', async () => {
    const mine = join(dir, 'my-model-folder');
    put(join(mine, 'tokenizer.json'), hostile.add('{"my": "tokenizer"}'));
    expectRefusal(await runDept(['model', 'init', '--config', 'tiny-relu', '--out', mine]), mine, 'is not empty', 'was not made by dept');
    expect(readdirSync(mine)).toEqual(['tokenizer.json']);
    expect(readFileSync(join(mine, 'tokenizer.json'), 'utf8')).toBe('{"my": "tokenizer"}');
    const file = put(join(dir, 'model.txt'), hostile.add('x'));
    expectRefusal(await runDept(['model', 'init', '--config', 'tiny-relu', '--out', file]), file, 'exists and is not a folder');
    expect(readFileSync(file, 'utf8')).toBe('x');
  });
});

describe('user mistakes are one line and exit status 2, not "internal error"', () => {
  it('train --out an existing file', async () => {
    const file = put(join(dir, 'out-file.txt'), hostile.add('mine'));
    expectRefusal(await runDept(trainArgs(file)), file, 'exists and is not a folder');
    expect(readFileSync(file, 'utf8')).toBe('mine');
  });
  it('train --out below a file', async () => {
    const file = put(join(dir, 'parent-file'), hostile.add('mine'));
    expectRefusal(await runDept(trainArgs(join(file, 'run'))), join(file, 'run'), `${file} is a file, not a folder`);
  });
  it('a recipe path that is a folder', async () => {
    const folder = join(dir, 'recipe-folder.yaml');
    mkdirSync(hostile.add(folder));
    expectRefusal(await runDept(['train', folder]), folder, 'is a folder, expected a recipe file');
  });
  it('model init --config a folder', async () => {
    const folder = join(dir, 'config-folder');
    mkdirSync(hostile.add(folder));
    expectRefusal(await runDept(['model', 'init', '--config', folder, '--out', join(dir, 'm2')]), folder, 'is a folder');
  });
  it('score --batch a file that is not there, or a folder', async () => {
    const missing = join(dir, 'no-batch.json');
    expectRefusal(await runDept(['score', '--model', model, '--bank', join(dir, 'src-bank'), '--batch', hostile.add(missing), '--out', join(dir, 's.json')]), missing, 'file not found');
    const folder = join(dir, 'batch-folder');
    mkdirSync(hostile.add(folder));
    expectRefusal(await runDept(['score', '--model', model, '--bank', join(dir, 'src-bank'), '--batch', folder, '--out', join(dir, 's.json')]), folder, 'is a folder');
  });
  it('model init --sample a folder', async () => {
    const folder = join(dir, 'sample-folder');
    mkdirSync(hostile.add(folder));
    expectRefusal(await runDept(['model', 'init', '--config', 'tiny-relu', '--sample', folder, '--out', join(dir, 'm3')]), `--sample ${folder}: is a folder`);
    expect(existsSync(join(dir, 'm3'))).toBe(false);
  });
  it('data list --data-dir a file', async () => {
    const file = put(join(dir, 'data.txt'), hostile.add('x'));
    expectRefusal(await runDept(['data', 'list', '--data-dir', file]), file, 'is a file, expected a folder');
  });
  it('a .lock that is not a dept lock is refused, not removed', async () => {
    const out = join(dir, 'foreign-lock');
    put(join(out, '.lock'), hostile.add('held by my other tool\n'));
    expectRefusal(await runDept(trainArgs(out)), join(out, '.lock'), 'is not a dept lock');
    expect(readFileSync(join(out, '.lock'), 'utf8')).toBe('held by my other tool\n');
  });
});

describe('a moved run folder', () => {
  it('resumes where it stopped (it records no absolute path of itself)', async () => {
    const out = join(dir, 'before-move');
    expect((await runDept(trainArgs(out))).status).toBe(0);
    // Unfinished: the final checkpoint is kept, the results are not there yet.
    rmSync(join(out, 'results.json'));
    const moved = join(dir, 'after-move');
    renameSync(out, moved);
    const r = await runDept(trainArgs(moved, '--resume', '--json'));
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).out).toBe(moved);
    expect(existsSync(join(moved, 'results.json'))).toBe(true);
  });
});
