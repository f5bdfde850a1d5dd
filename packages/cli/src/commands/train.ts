/**
 * `dept train [recipe]`: one DePT run (one task, optionally k shots) from flags and/or a recipe file. The result
 * goes to stdout: a short summary, or with `--json` the run's results. `dept train --out DIR --resume` alone
 * continues the run in DIR with the recipe its `config.resolved.json` records.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { DeptError, isFile, readJsonFile } from '@dept/core';
import { getTask } from '@dept/tasks';
import type { TrainResults } from '@dept/train';
import { deptCommand, onInterrupt, TrainProgress } from '../interrupt.ts';
import { RANDOM_WEIGHTS_MARK } from './bank-use.ts';
import { RESOLVED_CONFIG, addRecipeFlags, progressReporter, recipeWarnings, resolveRecipe, type RecipeFlags, type RecordedRecipe } from './common.ts';

type TrainFlags = RecipeFlags & { resume?: boolean; overwrite?: boolean; json?: boolean };

/**
 * The recipe a run folder records, for `--resume` without a recipe file: null when the folder holds no
 * `config.resolved.json` (the flags must then say everything). A grid's cell is refused: its grid resumes it.
 */
function recordedRecipe(outDir: string): (RecordedRecipe & { seed: number | null }) | null {
  const file = join(outDir, RESOLVED_CONFIG);
  if (!existsSync(file)) return null;
  if (!isFile(file)) throw new DeptError(`${file}: is not a file; expected the settings dept train wrote into the run folder`);
  const record = readJsonFile<Record<string, unknown>>(file, 'the settings of a run');
  const recipe = record?.recipe;
  if (recipe === null || typeof recipe !== 'object' || Array.isArray(recipe)) {
    const grid = typeof record?.grid === 'string' ? ` (a cell of the grid "${record.grid}": resume it with the dept fewshot command that made it)` : '';
    throw new DeptError(`${file}: records no recipe${grid}; give the recipe file or flags the run was started with`);
  }
  return { raw: recipe as Record<string, unknown>, file, seed: typeof record.seed === 'number' ? record.seed : null };
}

const fmt = (metrics: Record<string, number>): string => Object.entries(metrics).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ');

/** The result for people: the folder, the selection and the test metrics (labelled when the weights are random). */
function summary(outDir: string, label: string, results: TrainResults): string {
  const mark = results.random_weights ? ` [${RANDOM_WEIGHTS_MARK}]` : '';
  const dev = results.dev[results.selection_metric];
  return [
    `${outDir}: ${label}, ${results.train_examples} training examples, ${results.max_steps} steps`,
    `selected step ${results.selected_step} by dev ${results.selection_metric}${dev === undefined ? '' : ` ${dev.toFixed(2)}`}${mark}`,
    `test (${results.test_examples} examples): ${fmt(results.test) || '(no test split)'}${mark}`,
  ].join('\n');
}

/** `dept train`: one DePT run (one task, optionally k shots) from flags and/or a recipe file. */
export function registerTrain(program: Command): void {
  const cmd = program
    .command('train [recipe]')
    .description('train a decomposed prompt on one task (flags override the recipe file), with best-on-dev selection and a test evaluation')
    .option('--resume', `continue the unfinished run in --out from its last checkpoint; without a recipe file the recipe comes from --out/${RESOLVED_CONFIG}, and flags given must agree with it (default: off)`)
    .option('--overwrite', 'replace a finished or unfinished run in --out (default: off)')
    .option('--json', "print the run's results as JSON instead of a summary (default: off)");
  addRecipeFlags(cmd, { grid: false });
  cmd.action(async (recipePath: string | undefined, flags: TrainFlags) => {
    const recorded = flags.resume && !recipePath && flags.out ? recordedRecipe(flags.out) : null;
    const recipe = resolveRecipe(recipePath, flags, { grid: false, ...(recorded ? { recorded } : {}) });
    if (recipe.tasks.length !== 1) throw new DeptError(`dept train runs one task; the recipe names ${recipe.tasks.length} (${recipe.tasks.join(', ')}): use --task or dept fewshot`);
    const task = getTask(recipe.tasks[0] as string);
    const k = recipe.k.length > 0 ? recipe.k[0] : undefined;
    if (recipe.k.length > 1) throw new DeptError(`dept train runs one k; the recipe names ${recipe.k.join(', ')}: use --k or dept fewshot`);
    // Without --seed or a recipe the seed is 42 (the recipe's seeds list keeps its defaults); a record says its own.
    const seed = flags.seed !== undefined || recipePath ? (recipe.seeds[0] as number) : recorded ? (recorded.seed ?? (recipe.seeds[0] as number)) : 42;
    const outDir = recipe.out ?? join('runs', recipe.name, task.name);
    const label = `${task.name}${k ? ` k=${k}` : ''} seed=${seed}`;
    for (const line of recipeWarnings(recipe)) process.stderr.write(`dept: warning: ${line}\n`);
    const { initBackend } = await import('@dept/tensor');
    const { loadGridModel, runCell, resolveSourceBank } = await import('@dept/fewshot');
    const { releaseHeldLocks } = await import('@dept/train');
    await initBackend({ announce: true });
    // A random model made on first use gets a demo tokenizer built from this task's texts.
    const data = {
      ...(recipe.data.dir ? { dataDir: recipe.data.dir } : {}),
      ...(recipe.data.layout ? { layout: recipe.data.layout } : {}),
      ...(recipe.data.subset ? { subset: recipe.data.subset } : {}),
    };
    const { pretrained } = await loadGridModel({ model: recipe.model, tasks: [task.name], train: recipe.train, addPrefix: recipe.data.add_prefix, ...data });
    const progress = new TrainProgress(outDir);
    const report = progressReporter(label);
    // Once the run folder records its settings, `--out DIR --resume` is all it takes; before that, the same command.
    const again = () => (existsSync(join(outDir, RESOLVED_CONFIG))
      ? `resume with: ${deptCommand(['train', '--out', outDir, '--resume'])}`
      : `run the same command again: ${deptCommand(process.argv.slice(2))}`);
    const stop = onInterrupt(() => `${progress.describe()}; ${again()}`, releaseHeldLocks);
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
        onEvent: (event) => {
          progress.see(event);
          report(event);
        },
        log: (line) => process.stderr.write(`note: ${line}\n`),
        warn: (line) => process.stderr.write(`dept: warning: ${label}: ${line}\n`),
      });
      if (flags.json) process.stdout.write(`${JSON.stringify({ out: outDir, ...results }, null, 2)}\n`);
      else process.stdout.write(`${summary(outDir, label, results)}\n`);
    } finally {
      stop();
      pretrained.model.dispose();
    }
  });
}
