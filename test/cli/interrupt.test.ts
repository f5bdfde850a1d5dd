/**
 * Resuming from the folder and ending on a signal (issue 16): `dept train --out DIR --resume` alone takes the recipe
 * that DIR/config.resolved.json records (flags given must agree with it); SIGTERM and SIGINT during train, fewshot
 * and pretrain release the run locks and end with one line naming the step, the last checkpoint and the command
 * that resumes, with exit status 143 and 130; that command then finishes the run as an uninterrupted one would.
 * Tiny random models: every number here is RANDOM WEIGHTS — not a result.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { presetConfig, writeRandomT5 } from '@dept/t5';
import { REPO_ROOT } from '../helpers/shared.ts';
import { expectRefusal, remove, runDept, spawnDept, tempDir, type DeptChild } from '../reliability/helpers.ts';
import { bankBytes, checkRunFolder, stableResults } from '../reliability/runs.ts';

const SAMPLE = join(REPO_ROOT, 'datasets', 'sample');
const dir = tempDir('interrupt');
const model = join(dir, 'model');

/**
 * 150 tiny steps, a checkpoint every 4, dev only at the end (the signal must be handled between steps, not wait for
 * an evaluation), a loss line every step (so the test sees where it is).
 */
const TRAIN = ['--task', 'superglue-cb', '--data-dir', SAMPLE, '--model', model, '--k', '8', '--seed', '1', '--m', '4', '--r', '2', '--max-length', '32',
  '--batch-size', '8', '--max-steps', '150', '--eval-steps', '150', '--save-steps', '4', '--warmup-steps', '10', '--log-steps', '1', '--predict', 'score'];

beforeAll(() => {
  writeRandomT5(model, presetConfig('tiny-relu'), { seed: 0, sampleTexts: [readFileSync(join(SAMPLE, 'CB', 'train.jsonl'), 'utf8')] });
});
afterAll(() => remove(dir));

/** Every `.lock` under `root` (a signal must leave none behind). */
function locksUnder(root: string): string[] {
  const found: string[] = [];
  for (const name of readdirSync(root)) {
    const path = join(root, name);
    if (name === '.lock') found.push(path);
    else if (statSync(path).isDirectory()) found.push(...locksUnder(path));
  }
  return found;
}

/** Sends `signal` once the child's stderr shows training step `step`; resolves with its exit and last line. */
async function interruptAt(child: DeptChild, step: number, signal: NodeJS.Signals): Promise<{ status: number | null; line: string }> {
  await child.waitFor(new RegExp(`: step ${step}/`));
  child.child.kill(signal);
  const { status } = await child.exited;
  return { status, line: child.stderr().trimEnd().split('\n').at(-1) ?? '' };
}

describe('dept train --out DIR --resume, from the folder alone', () => {
  let reference: { bank: Buffer; results: unknown } | null = null;
  const out = join(dir, 'run');

  it('an uninterrupted reference run (in-process)', async () => {
    const ref = join(dir, 'reference');
    const r = await runDept(['train', ...TRAIN, '--out', ref]);
    expect(r.status, r.stderr).toBe(0);
    reference = { bank: bankBytes(ref), results: stableResults(ref) };
  });

  it('SIGTERM: exit status 143, one line with the step, the last checkpoint and the resume command; no lock left', async () => {
    const { status, line } = await interruptAt(spawnDept(['train', ...TRAIN, '--out', out]), 20, 'SIGTERM');
    expect(status).toBe(143);
    const m = /^dept: interrupted at step (\d+) of 150; the last checkpoint is step (\d+) in (.+)\/checkpoint; resume with: dept train --out (.+) --resume$/.exec(line);
    expect(m, line).not.toBeNull();
    const [, at, saved, folder, resumeOut] = m as unknown as [string, string, string, string, string];
    expect(Number(at)).toBeGreaterThanOrEqual(20);
    expect(Number(at), 'handled between training steps').toBeLessThan(150);
    expect(Number(saved)).toBeLessThanOrEqual(Number(at));
    expect(Number(saved) % 4).toBe(0);
    expect([folder, resumeOut]).toEqual([out, out]);
    expect(checkRunFolder(out)).toMatchObject({ step: Number(saved), finished: false });
    expect(locksUnder(out)).toEqual([]);
  });

  it('a flag that disagrees with the recorded recipe is refused, naming the setting', async () => {
    expectRefusal(await runDept(['train', '--out', out, '--resume', '--lr', '0.5']), `${out}: cannot resume: the setting "recipe.train.lr" differs from the checkpointed run (config.resolved.json)`);
    expect(checkRunFolder(out).finished).toBe(false);
  });

  it('the printed command finishes the run, equal to the uninterrupted one (flags that agree are fine)', async () => {
    const r = await runDept(['train', '--out', out, '--resume', '--k', '8']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/superglue-cb k=8 seed=1: resuming at step \d+/);
    expect(bankBytes(out).equals(reference!.bank)).toBe(true);
    expect(stableResults(out)).toEqual(reference!.results);
  });

  it('a run without --k and --seed (the whole training split, seed 42) resumes from its record too', async () => {
    const full = join(dir, 'full');
    const args = ['train', '--task', 'superglue-cb', '--data-dir', SAMPLE, '--model', model, '--m', '2', '--r', '1', '--max-length', '16', '--batch-size', '8',
      '--max-steps', '4', '--eval-steps', '4', '--save-steps', '2', '--predict', 'score', '--out', full];
    expect((await runDept(args)).status).toBe(0);
    const before = stableResults(full);
    rmSync(join(full, 'results.json')); // unfinished again: its final checkpoint is kept
    const r = await runDept(['train', '--out', full, '--resume', '--json']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain('superglue-cb seed=42: resuming at step 4');
    expect(JSON.parse(r.stdout)).toMatchObject({ out: full, train_examples: 40 });
    expect(stableResults(full)).toEqual(before);
  });

  it('a folder without config.resolved.json: the flags are needed, and the message says so', async () => {
    const empty = join(dir, 'empty');
    mkdirSync(empty);
    expectRefusal(await runDept(['train', '--out', empty, '--resume']),
      `--model <dir> and --task <name> are required without a recipe file (with --resume: or --out of a run folder that holds config.resolved.json); see 'dept train --help'`);
  });

  it("a grid's cell records no recipe of its own: the grid resumes it", async () => {
    const grid = join(dir, 'grid-cell');
    const r = await runDept(['fewshot', ...TRAIN.filter((a, i, all) => a !== '--seed' && all[i - 1] !== '--seed' && a !== '--k' && all[i - 1] !== '--k'), '--k', '4', '--seeds', '1', '--max-steps', '2', '--out', grid]);
    expect(r.status, r.stderr).toBe(0);
    const cell = join(grid, 'superglue-cb', 'k4', 'seed1');
    expectRefusal(await runDept(['train', '--out', cell, '--resume']), `${join(cell, 'config.resolved.json')}: records no recipe (a cell of the grid "run": resume it with the dept fewshot command that made it)`);
  });
});

describe('signals during fewshot and pretrain', () => {
  it('fewshot, SIGINT: exit status 130, the run in progress and the same command to resume; the grid and cell locks are released', async () => {
    const grid = join(dir, 'grid');
    const args = ['fewshot', ...TRAIN.filter((a, i, all) => a !== '--seed' && all[i - 1] !== '--seed' && a !== '--k' && all[i - 1] !== '--k'), '--k', '8', '--seeds', '1', '--out', grid];
    const { status, line } = await interruptAt(spawnDept(args), 50, 'SIGINT'); // a grid's cells log every 50 steps
    expect(status).toBe(130);
    const cell = join(grid, 'superglue-cb', 'k8', 'seed1');
    expect(line).toMatch(new RegExp(`^dept: interrupted in run 1 of 1 \\(superglue-cb k=8 seed=1\\) at step \\d+ of 150; the last checkpoint is step \\d+ in ${cell}/checkpoint; resume with the same command \\(finished runs are skipped\\): dept fewshot `));
    expect(line.endsWith(`--out ${grid}`)).toBe(true);
    expect(locksUnder(grid)).toEqual([]);
    const again = await runDept(args);
    expect(again.status, again.stderr).toBe(0);
    expect(existsSync(join(cell, 'results.json'))).toBe(true);
  });

  it('pretrain, SIGTERM: exit status 143, the stage and its checkpoint, and the command with --resume', async () => {
    const pre = join(dir, 'pretrain');
    const args = ['pretrain', '--sources', 'superglue-cb', '--data-dir', SAMPLE, '--model', model, '--max-steps', '150', '--save-steps', '4', '--eval-steps', '50',
      '--set', 'train.num_virtual_tokens=4', '--set', 'train.r=2', '--set', 'train.max_length=32', '--set', 'train.batch_size=8', '--set', 'train.log_steps=1', '--out', pre];
    const { status, line } = await interruptAt(spawnDept(args), 10, 'SIGTERM');
    expect(status).toBe(143);
    expect(line).toMatch(new RegExp(`^dept: interrupted in stage shared at step \\d+ of 150; the last checkpoint is step \\d+ in ${join(pre, 'runs', 'shared')}/checkpoint; resume with: dept pretrain .* --resume$`));
    expect(locksUnder(pre)).toEqual([]);
    const again = await runDept([...args, '--resume']);
    expect(again.status, again.stderr).toBe(0);
    expect(existsSync(join(pre, 'manifest.json'))).toBe(true);
  });
});
