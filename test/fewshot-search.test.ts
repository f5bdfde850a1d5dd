/**
 * `dept fewshot --search` as a user types it (in-process, tiny random model, bundled sample): the plan, the
 * selection and the summary lines, the search recorded in grid.json, a grown search running only its new settings,
 * a shrunk one or none refused in one line with nothing changed, and `dept report` writing the search files.
 * RANDOM WEIGHTS — the numbers are not results.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveRecipe } from '../packages/cli/src/commands/common.ts';
import { searchSettings } from '../packages/fewshot/src/index.ts';
import { REPO_ROOT } from './helpers/shared.ts';
import { expectRefusal, listFiles, remove, runDept, tempDir } from './reliability/helpers.ts';

const dir = tempDir('search-cli');
const out = join(dir, 'grid');
afterAll(() => remove(dir));

const ARGS = [
  'fewshot', '--task', 'rte', '--data-dir', 'datasets/sample', '--model', join(dir, 'model'), '--set', 'model.init={preset: tiny-relu}',
  '--k', '4', '--seeds', '1', '--m', '2', '--r', '1', '--max-length', '16', '--max-steps', '2', '--eval-steps', '2', '--save-steps', '2',
  '--warmup-steps', '1', '--batch-size', '2', '--predict', 'score', '--out', out,
];

describe('dept fewshot --search', () => {
  it('runs a sub-run per setting, selects one per cell, and records the search in grid.json', async () => {
    const r = await runDept([...ARGS, '--search', 'lr=0.3,3', '--search', 'train.lora_lr=0.01']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain('grid: 1 cell × 2 settings = 2 sub-runs\n');
    expect(r.stderr).toContain('[1/2] rte k=4 seed=1 lr3e-1_loralr1e-2: training');
    expect(r.stderr).toContain('[2/2] rte k=4 seed=1 lr3_loralr1e-2: training');
    expect(r.stderr).toMatch(/rte k=4 seed=1: selected (lr3e-1|lr3)_loralr1e-2 of 2 settings \(dev accuracy [\d.]+\)/);
    expect(r.stderr).toContain('grid: 2 sub-runs trained, 0 skipped (already finished); 1 cell selected');
    expect(r.stdout).toContain('RANDOM WEIGHTS — not a result');
    expect(r.stdout).toContain('among 2 settings (search over lr, lora_lr)');
    const grid = JSON.parse(readFileSync(join(out, 'grid.json'), 'utf8')) as { recipe: { search: unknown }; search: { settings: { id: string }[] } };
    expect(grid.recipe.search).toEqual({ lr: [0.3, 3], lora_lr: [0.01] });
    expect(grid.search.settings.map((s) => s.id)).toEqual(['lr3e-1_loralr1e-2', 'lr3_loralr1e-2']);
    expect(r.stderr).toContain(`wrote ${join(out, 'search.svg')}`);
  });

  it('refuses a smaller search, or none, in one line, leaving every file as it was', async () => {
    const before = listFiles(out).filter((f) => !f.endsWith('.lock')).map((f) => [f, statSync(join(out, f)).mtimeMs]);
    const smaller = await runDept([...ARGS, '--search', 'lr=3', '--search', 'lora_lr=0.01']);
    expectRefusal(smaller, `${join(out, 'grid.json')}: this grid folder was run with another search, and the new one does not contain it: it drops lr 0.3`);
    const none = await runDept(ARGS);
    expectRefusal(none, `${join(out, 'grid.json')}: this grid folder was run with a search over lr, lora_lr`);
    expect(listFiles(out).filter((f) => !f.endsWith('.lock')).map((f) => [f, statSync(join(out, f)).mtimeMs])).toEqual(before);
  });

  it('runs only the new settings of a larger search, and dept report shows all three', async () => {
    const r = await runDept([...ARGS, '--search', 'lr=0.3,3,1', '--search', 'lora_lr=0.01']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain('grid: 1 cell × 3 settings = 3 sub-runs\n');
    expect(r.stderr.match(/finished, skipped/g)).toHaveLength(2);
    expect(r.stderr).toContain('[3/3] rte k=4 seed=1 lr1_loralr1e-2: training');
    expect(r.stderr).toContain('grid: 1 sub-run trained, 2 skipped (already finished)');
    const report = await runDept(['report', out]);
    expect(report.status, report.stderr).toBe(0);
    const md = readFileSync(join(out, 'report.md'), 'utf8');
    for (const id of ['lr3e-1_loralr1e-2', 'lr3_loralr1e-2', 'lr1_loralr1e-2']) expect(md).toMatch(new RegExp(`\\| rte \\| 4 \\| ${id} \\| .* \\| [01]/1 \\|`));
    for (const name of ['search.csv', 'search.svg', 'search.png']) expect(report.stderr).toContain(`wrote ${join(out, name)}`);
  });
});

describe('dept fewshot --search num_virtual_tokens', () => {
  it('gives each prompt length the rank that keeps the recipe\'s parameter budget', async () => {
    const mOut = join(dir, 'm-grid');
    const r = await runDept([...ARGS.map((a) => (a === out ? mOut : a)), '--search', 'num_virtual_tokens=1,3']);
    expect(r.status, r.stderr).toBe(0);
    // tiny-relu: d 32; the recipe's m 2, r 1, s 16 make 2·32 + 1·(16 + 32) = 112 parameters
    const d = 32;
    const s = 16;
    const budget = 2 * d + 1 * (s + d);
    for (const m of [1, 3]) {
      const rank = Math.floor((budget - m * d) / (s + d));
      const resolved = JSON.parse(readFileSync(join(mOut, 'rte', 'k4', 'seed1', `pl${m}`, 'config.resolved.json'), 'utf8')) as {
        train: { num_virtual_tokens: number; r: number }; search: { setting: string; r_from_budget: { parameters: number; r: number } };
      };
      expect(resolved.train).toMatchObject({ num_virtual_tokens: m, r: rank });
      expect(resolved.search).toMatchObject({ setting: `pl${m}`, r_from_budget: { parameters: budget, r: rank } });
      expect(r.stderr).toContain(`rte k=4 seed=1 pl${m}: training (4 examples, ${m * d + rank * (s + d)} trainable parameters`);
    }
  });
});

describe('recipes/paper/fewshot-superglue-search.yaml', () => {
  it('is the paper grid with the README\'s lr × lora_lr loop (without its lora_lr 3e-1), in DePT\'s run names', () => {
    const searched = resolveRecipe(join(REPO_ROOT, 'recipes/paper/fewshot-superglue-search.yaml'), {}, { grid: true });
    const plain = resolveRecipe(join(REPO_ROOT, 'recipes/paper/fewshot-superglue.yaml'), {}, { grid: true });
    expect(searched.search).toEqual({ lr: [0.3, 0.4], lora_lr: [5e-3, 5e-4] });
    expect(searchSettings(searched.search ?? {}).map((s) => s.id)).toEqual(['lr3e-1_loralr5e-3', 'lr3e-1_loralr5e-4', 'lr4e-1_loralr5e-3', 'lr4e-1_loralr5e-4']);
    // everything else as the plain recipe, so the two stay one setup
    const rest = ({ name: _n, description: _d, out: _o, search: _s, ...r }: typeof searched) => r;
    expect(rest(searched)).toEqual(rest(plain));
    expect(searched.out).toBe('runs/fewshot-superglue-search');
  });
});
