/**
 * `dept quickstart`: `dept fewshot recipes/quickstart.yaml` with the recipe's own paths (sample data, model cache,
 * output) taken relative to the repository root, so it works from a fresh clone, from any folder, with no network:
 * the model is a small random T5 made on first use, with a demo tokenizer built from the sample data.
 */
import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { DeptError } from '@dept/core';
import { addRecipeFlags, resolveRecipe } from './common.ts';
import { addGridFlags, runFewshot, type FewshotFlags } from './fewshot.ts';

/** The repository root (this file is `packages/cli/src/commands/quickstart.ts`). */
export const REPO_ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..', '..', '..');

/** The quickstart recipe. */
export const QUICKSTART_RECIPE = resolve(REPO_ROOT, 'recipes', 'quickstart.yaml');

/** `dept quickstart`: a small k-shot grid on the bundled sample data with a random model, and its report. */
export function registerQuickstart(program: Command): void {
  const cmd = program
    .command('quickstart')
    .description('run recipes/quickstart.yaml: a small k-shot grid on datasets/sample with a random mini T5 (no download; numbers are not results), then its report');
  addRecipeFlags(cmd, { grid: true });
  addGridFlags(cmd);
  cmd.action(async (flags: FewshotFlags) => {
    if (!existsSync(QUICKSTART_RECIPE)) {
      throw new DeptError(`${QUICKSTART_RECIPE} is missing: dept quickstart runs in a clone of the dept-ts repository (its recipes/quickstart.yaml and datasets/sample); installed as a package, run dept fewshot <recipe> on your own data`);
    }
    const recipe = resolveRecipe(QUICKSTART_RECIPE, flags, { grid: true });
    // Paths written in the recipe file are relative to the repository root; paths given as flags stay relative to
    // the current folder.
    const setKeys = (flags.set ?? []).map((s) => s.slice(0, Math.max(0, s.indexOf('='))).trim());
    const fromFile = (flag: unknown, ...keys: string[]) => flag === undefined && !setKeys.some((k) => keys.some((key) => k === key || key.startsWith(`${k}.`)));
    const root = (p: string) => (isAbsolute(p) ? p : resolve(REPO_ROOT, p));
    if (fromFile(flags.model, 'model.path')) recipe.model.path = root(recipe.model.path);
    if (recipe.model.init?.tokenizer && fromFile(undefined, 'model.init.tokenizer')) recipe.model.init.tokenizer = root(recipe.model.init.tokenizer);
    if (recipe.data.dir && fromFile(flags.dataDir, 'data.dir')) recipe.data.dir = root(recipe.data.dir);
    if (recipe.bank && fromFile(flags.bank, 'bank.paths')) recipe.bank.paths = recipe.bank.paths.map(root);
    if (fromFile(flags.out, 'out')) recipe.out = root(recipe.out ?? `runs/${recipe.name}`);
    await runFewshot(recipe, flags);
  });
}
