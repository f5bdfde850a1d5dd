/**
 * Mistakes on the command line get one line, `dept: error: …`, naming what was wrong, and exit status 2 (issue 16):
 * commander's own errors without the help dump and with its "did you mean", `--backend` and `DEPT_BACKEND` each
 * named for what they are, `--set` and other flags named instead of the recipe file they override, unknown task
 * names with the closest known ones, and the flags a command line without a recipe lacks.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKEND_NAMES } from '@dept/tensor';
import { suggestTasks } from '@dept/tasks';
import { presetConfig, writeRandomT5 } from '@dept/t5';
import { BACKEND_CHOICES } from '../../packages/cli/src/main.ts';
import { REPO_ROOT } from '../helpers/shared.ts';
import { expectRefusal, remove, runDept, spawnDeptSync, tempDir } from '../reliability/helpers.ts';

const SAMPLE = join(REPO_ROOT, 'datasets', 'sample');
const dir = tempDir('errors');
const model = join(dir, 'model');
const recipe = join(dir, 'cb.yaml');

beforeAll(() => {
  writeRandomT5(model, presetConfig('tiny-relu'), { seed: 0, sampleTexts: [readFileSync(join(SAMPLE, 'CB', 'train.jsonl'), 'utf8')] });
  writeFileSync(recipe, `model: {path: ${JSON.stringify(model)}}\ntasks: [superglue-cb]\nk: [4]\nseeds: [1]\n`);
});
afterAll(() => remove(dir));

describe("commander's errors: one line with a hint, no help", () => {
  const cases: [string, string[], string][] = [
    ['a mistyped option, with the suggestion folded in', ['train', '--lr2', '0.3'], "dept: error: unknown option '--lr2' (did you mean --lr?); see 'dept train --help'"],
    ['a mistyped command', ['trian'], "dept: error: unknown command 'trian' (did you mean train?); see 'dept --help'"],
    ['a mistyped sub-command', ['data', 'splt'], "dept: error: unknown command 'splt' (did you mean split?); see 'dept data --help'"],
    ['a missing required option', ['data', 'split'], "dept: error: required option '--task <name>' not specified; see 'dept data split --help'"],
    ['a missing argument', ['report'], "dept: error: missing required argument 'run_dir'; see 'dept report --help'"],
    ['too many arguments', ['report', 'a', 'b'], "dept: error: too many arguments for 'report'; expected 1 argument but got 2; see 'dept report --help'"],
    ['an option without its value', ['train', '--lr'], "dept: error: option '--lr <x>' argument missing; see 'dept train --help'"],
    ['an unknown global option', ['--bogus'], "dept: error: unknown option '--bogus'; see 'dept --help'"],
  ];
  for (const [what, argv, line] of cases) {
    it(what, async () => {
      const r = await runDept(argv);
      expectRefusal(r);
      expect(r.stderr).toBe(`${line}\n`);
    });
  }

  it('the same as a process: exit status 2 and the one line only', () => {
    const r = spawnDeptSync(['eval', '--bank']);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe("dept: error: option '--bank <ref>' argument missing; see 'dept eval --help'\n");
    expect(r.stdout).toBe('');
  });
});

describe('the backend: the flag and the variable are each named', () => {
  it('--backend bogus names --backend and the choices', async () => {
    const r = await runDept(['--backend', 'bogus', 'data', 'list', '--data-dir', SAMPLE]);
    expect(expectRefusal(r)).toBe('dept: error: --backend is "bogus", expected one of webgpu, node-gpu, node, wasm, cpu');
    expect(r.stderr).not.toContain('DEPT_BACKEND');
  });

  it('DEPT_BACKEND=bogus names the variable', () => {
    const r = spawnDeptSync(['train', recipe, '--max-steps', '1', '--out', join(dir, 'env-backend')], { env: { DEPT_BACKEND: 'bogus' } });
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('dept: error: DEPT_BACKEND: unknown backend "bogus", expected one of webgpu, node-gpu, node, wasm, cpu\n');
  });

  it("--backend takes exactly @dept/tensor's backends", () => {
    expect([...BACKEND_CHOICES]).toEqual([...BACKEND_NAMES]);
  });
});

describe('a field set on the command line is blamed on the flag, not on the recipe file', () => {
  const cases: [string, string[], string][] = [
    ['--set k=abc', ['--set', 'k=abc'], '--set k=abc: k: Invalid input: expected array, received string'],
    ['--set of a nested field', ['--set', 'train.warmup_steps=ten'], '--set train.warmup_steps=ten: train.warmup_steps: Invalid input: expected number, received string'],
    ['--set of an unknown field', ['--set', 'train.lrr=0.3'], '--set train.lrr=0.3: train: unknown field "lrr"; allowed: num_virtual_tokens'],
    ['--sampler', ['--sampler', 'random'], '--sampler random: sampler: expected one of "dept", "balanced"'],
    ['--predict', ['--predict', 'guess'], '--predict guess: train.predict: expected one of "generate", "score"'],
    ['--bank-mode', ['--bank', 'b1', '--bank', 'b2', '--bank-mode', 'vote'], '--bank-mode vote: bank.mode: expected one of "single", "average", "best"'],
  ];
  for (const [what, flags, says] of cases) {
    it(what, async () => {
      const line = expectRefusal(await runDept(['train', recipe, ...flags]), says);
      expect(line).not.toContain(recipe);
    });
  }

  it('a field the file itself gets wrong is still blamed on the file', async () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, `model: {path: ${JSON.stringify(model)}}\ntasks: [superglue-cb]\nk: abc\n`);
    expectRefusal(await runDept(['train', bad, '--set', 'train.lr=0.3']), `${bad}: k: Invalid input: expected array, received string`);
  });

  it('pretrain: --set and --mixing are named too', async () => {
    const base = ['pretrain', '--sources', 'superglue-cb', '--model', model];
    expectRefusal(await runDept([...base, '--set', 'mixing.cap=lots']), '--set mixing.cap=lots: mixing.cap: Invalid input: expected number, received string');
    expectRefusal(await runDept([...base, '--mixing', 'equal']), '--mixing equal: mixing.kind: expected one of "proportional", "temperature"');
  });
});

describe('without a recipe file, the flags it would have given are named', () => {
  it('dept train without --model', async () => {
    expectRefusal(await runDept(['train', '--task', 'rte']), "--model <dir> is required without a recipe file; see 'dept train --help'");
  });
  it('dept fewshot without --model and --task', async () => {
    expectRefusal(await runDept(['fewshot']), "--model <dir> and --task <name> are required without a recipe file; see 'dept fewshot --help'");
  });
  it('dept pretrain without --sources', async () => {
    expectRefusal(await runDept(['pretrain', '--model', model]), "--sources <names> is required without a recipe file; see 'dept pretrain --help'");
  });
});

describe('unknown task names: the closest known ones', () => {
  const cases: [string, string][] = [
    ['SST-2', 'sst2'],
    ['cb', 'superglue-cb'],
    ['boolq', 'superglue-boolq'],
    ['superglue_boolq', 'superglue-boolq'],
    ['glue/rtx', 'rte'],
    ['mnli2', 'mnli'],
  ];
  for (const [name, closest] of cases) {
    it(`${name} → did you mean ${closest}?`, async () => {
      const line = expectRefusal(await runDept(['data', 'split', '--task', name, '--data-dir', SAMPLE]), `unknown task "${name}"`);
      expect(line).toMatch(new RegExp(`; did you mean ${closest.replace('.', '\\.')}\\?$`));
    });
  }

  it('both spellings of rte are suggested for rtee; a name like none gets no suggestion', () => {
    expect(suggestTasks('rtee')).toEqual(['rte', 'superglue-rte']);
    expect(suggestTasks('wsc')).toEqual(['superglue-wsc.fixed']);
    expect(suggestTasks('nosuch')).toEqual([]);
  });

  it('train, fewshot and pretrain sources suggest too', async () => {
    expectRefusal(await runDept(['train', '--task', 'cb', '--model', model]), 'unknown task "cb"', 'did you mean superglue-cb?');
    expectRefusal(await runDept(['fewshot', '--task', 'rte,SST-2', '--model', model]), 'unknown task "SST-2"', 'did you mean sst2?');
    expectRefusal(await runDept(['pretrain', '--sources', 'mnli,qqpp', '--model', model, '--data-dir', SAMPLE]), 'unknown task "qqpp"', 'did you mean qqp?');
  });
});

describe('data fetch: one name for the data directory', () => {
  it('--out and --data-dir naming two folders are refused (--out is the old name)', async () => {
    expectRefusal(await runDept(['data', 'fetch', 'glue/rte', '--out', join(dir, 'a'), '--data-dir', join(dir, 'b')]),
      `--out ${join(dir, 'a')} and --data-dir ${join(dir, 'b')} name two data directories; give --data-dir only (--out is its old name)`);
  });
});
