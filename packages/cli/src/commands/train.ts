import { join } from 'node:path';
import type { Command } from 'commander';
import { DeptError } from '@dept/core';
import { getTask } from '@dept/tasks';
import { addRecipeFlags, progressReporter, recipeWarnings, resolveRecipe, type RecipeFlags } from './common.ts';

/** `dept train`: one DePT run (one task, optionally k shots) from flags and/or a recipe file. */
export function registerTrain(program: Command): void {
  const cmd = program
    .command('train [recipe]')
    .description('train a decomposed prompt on one task (flags override the recipe file), with best-on-dev selection and a test evaluation')
    .option('--resume', 'continue the unfinished run in --out from its last checkpoint')
    .option('--overwrite', 'replace a finished or unfinished run in --out');
  addRecipeFlags(cmd, { grid: false });
  cmd.action(async (recipePath: string | undefined, flags: RecipeFlags & { resume?: boolean; overwrite?: boolean }) => {
    const recipe = resolveRecipe(recipePath, flags, { grid: false });
    if (recipe.tasks.length !== 1) throw new DeptError(`dept train runs one task; the recipe names ${recipe.tasks.length} (${recipe.tasks.join(', ')}): use --task or dept fewshot`);
    const task = getTask(recipe.tasks[0] as string);
    const k = recipe.k.length > 0 ? recipe.k[0] : undefined;
    if (recipe.k.length > 1) throw new DeptError(`dept train runs one k; the recipe names ${recipe.k.join(', ')}: use --k or dept fewshot`);
    const seed = flags.seed !== undefined || recipePath ? (recipe.seeds[0] as number) : 42;
    const outDir = recipe.out ?? join('runs', recipe.name, task.name);
    const label = `${task.name}${k ? ` k=${k}` : ''} seed=${seed}`;
    for (const line of recipeWarnings(recipe)) process.stderr.write(`dept: warning: ${line}\n`);
    const { initBackend } = await import('@dept/tensor');
    const { loadGridModel, runCell, resolveSourceBank } = await import('@dept/fewshot');
    await initBackend({ announce: true });
    // A random model made on first use gets a demo tokenizer built from this task's texts.
    const data = {
      ...(recipe.data.dir ? { dataDir: recipe.data.dir } : {}),
      ...(recipe.data.layout ? { layout: recipe.data.layout } : {}),
      ...(recipe.data.subset ? { subset: recipe.data.subset } : {}),
    };
    const { pretrained } = await loadGridModel({ model: recipe.model, tasks: [task.name], train: recipe.train, addPrefix: recipe.data.add_prefix, ...data });
    try {
      const initialBank = recipe.bank
        ? await resolveSourceBank({ source: recipe.bank, pretrained, task: task.name, train: recipe.train, seed, ...data, log: (line) => process.stderr.write(`${line}\n`) })
        : undefined;
      const results = await runCell({
        pretrained,
        task: task.name,
        ...data,
        ...(recipe.data.max_eval_examples !== undefined ? { maxEvalExamples: recipe.data.max_eval_examples } : {}),
        ...(k !== undefined ? { k } : {}),
        seed,
        sampler: recipe.sampler,
        addPrefix: recipe.data.add_prefix,
        flavour: recipe.data.flavour,
        train: recipe.train,
        outDir,
        ...(initialBank ? { initialBank } : {}),
        resume: Boolean(flags.resume),
        overwrite: Boolean(flags.overwrite),
        // Not `out`: a run folder does not record where it is, so a moved folder resumes (as grid folders do).
        describe: { recipe: { ...recipe, out: undefined }, bank_source: recipe.bank ?? null },
        onEvent: progressReporter(label),
        log: (line) => process.stderr.write(`note: ${line}\n`),
        warn: (line) => process.stderr.write(`dept: warning: ${label}: ${line}\n`),
      });
      process.stdout.write(`${JSON.stringify({ out: outDir, ...results }, null, 2)}\n`);
    } finally {
      pretrained.model.dispose();
    }
  });
}
