/**
 * `dept fewshot [recipe]`: the k-shot grid of a recipe (every task × k × seed) into `runs/<name>/` (or `--out`),
 * resuming finished and checkpointed cells, optionally one shard of it; then the report files, the Markdown table on
 * stdout (`--json`: the results JSON) and the file paths on stderr.
 */
import { join } from 'node:path';
import type { Command } from 'commander';
import type { GridEvent, GridRun, Shard } from '@dept/fewshot';
import type { TrainEvent } from '@dept/train';
import type { Recipe } from '../recipe.ts';
import { intOption } from '../options.ts';
import { deptCommand, onInterrupt, TrainProgress } from '../interrupt.ts';
import { addRecipeFlags, plural, progressReporter, recipeWarnings, resolveRecipe, type RecipeFlags } from './common.ts';

/** Flags of `dept fewshot` beyond the recipe flags. */
export interface FewshotFlags extends RecipeFlags {
  shard?: string;
  shards?: string;
  overwrite?: boolean;
  json?: boolean;
}

/**
 * Adds `--shard`, `--shards`, `--overwrite` and `--json`.
 *
 * @example
 * addGridFlags(addRecipeFlags(program.command('fewshot [recipe]'), { grid: true }));
 */
export function addGridFlags(cmd: Command): Command {
  return cmd
    .option('--shard <i/n>', 'run only the cells whose grid index is i modulo n (shards count from 0) (default: from SLURM_ARRAY_TASK_ID/COUNT or JOB_COMPLETION_INDEX, else the whole grid)')
    .option('--shards <n>', 'the grid\'s number of shards when the index comes from the environment: needed with JOB_COMPLETION_INDEX (Kubernetes indexed Job); with Slurm, checked against the array and against <out>/.shards/slurm-array.json (the first array\'s layout) (default: SLURM_ARRAY_TASK_COUNT)')
    .option('--overwrite', 're-run every cell (of this shard) from scratch, replacing finished ones (default: off: finished runs are skipped, unfinished ones resumed)')
    .option('--json', 'print the results JSON instead of the Markdown table (default: off)');
}

function err(line: string): void {
  process.stderr.write(`${line}\n`);
}

function gridDisplay(): (event: GridEvent) => void {
  let cellReporter: ((event: TrainEvent) => void) | null = null;
  // A note the same for every cell (the folder a task is read from, unlabelled rows) is printed once.
  const noted = new Set<string>();
  return (event) => {
    const name = (c: { task: string; k: number; seed: number }, run?: GridRun) => `${c.task} k=${c.k} seed=${c.seed}${run?.setting ? ` ${run.setting.id}` : ''}`;
    switch (event.type) {
      case 'plan': {
        const shard = event.shard ? `; shard ${event.shard.index}/${event.shard.count} runs ${event.settings ? event.selectedRuns.length : event.selected.length}` : '';
        err(event.settings
          ? `grid: ${plural(event.cells.length, 'cell')} × ${plural(event.settings.length, 'setting')} = ${plural(event.runs.length, 'sub-run')}${shard}`
          : `grid: ${plural(event.cells.length, 'cell')}${shard}`);
        break;
      }
      case 'model':
        err(`model: ${event.dir}${event.created ? ' (created)' : ''}${event.randomWeights ? ' [random weights]' : ''}`);
        break;
      case 'skip':
        err(`[${event.position}/${event.total}] ${name(event.cell, event.run)}: finished, skipped`);
        break;
      case 'start':
        cellReporter = progressReporter(`[${event.position}/${event.total}] ${name(event.cell, event.run)}`);
        break;
      case 'log':
        if (!noted.has(event.line)) err(`${name(event.cell, event.run)}: ${event.line}`);
        noted.add(event.line);
        break;
      case 'warn':
        err(`dept: warning: ${name(event.cell, event.run)}: ${event.line}`);
        break;
      case 'select':
        err(`${name(event.cell)}: selected ${event.setting} of ${plural(event.settings, 'setting')} (dev ${event.metric} ${event.dev === null ? 'not a number' : event.dev.toFixed(2)})`);
        break;
      case 'train':
        cellReporter?.(event.event);
        break;
      case 'done':
        cellReporter = null;
        break;
    }
  };
}

/**
 * What a grid has reached, followed through its events, for the line a signal ends it with: the run in progress
 * (its step and last checkpoint), or none.
 */
function gridProgress(outDir: string): { see: (event: GridEvent) => void; describe: () => string } {
  let current: { name: string; position: number; total: number; progress: TrainProgress } | null = null;
  let finished = 0;
  return {
    see: (event) => {
      if (event.type === 'start') {
        const setting = event.run.setting ? ` ${event.run.setting.id}` : '';
        current = { name: `${event.cell.task} k=${event.cell.k} seed=${event.cell.seed}${setting}`, position: event.position, total: event.total, progress: new TrainProgress(join(outDir, event.run.dir)) };
      } else if (event.type === 'train') current?.progress.see(event.event);
      else if (event.type === 'done') {
        current = null;
        finished++;
      }
    },
    describe: () => (current
      ? `in run ${current.position} of ${current.total} (${current.name}) ${current.progress.describe()}`
      : finished === 0 ? 'before the first run started' : `between runs (${finished} finished in this session)`),
  };
}

/**
 * Runs a resolved recipe's grid and writes its report (shared by `dept fewshot` and `dept quickstart`).
 *
 * @example
 * await runFewshot(resolveRecipe('recipes/quickstart.yaml', {}, { grid: true }), { shard: '0/2' });
 */
export async function runFewshot(recipe: Recipe, flags: Pick<FewshotFlags, 'shard' | 'shards' | 'overwrite' | 'json'>): Promise<void> {
  for (const line of recipeWarnings(recipe)) err(`dept: warning: ${line}`);
  const { initBackend } = await import('@dept/tensor');
  const { resolveShard, runGrid, writeReport } = await import('@dept/fewshot');
  const { releaseHeldLocks } = await import('@dept/train');
  const outDir = recipe.out ?? join('runs', recipe.name);
  const shard: Shard | null = resolveShard({
    ...(flags.shard !== undefined ? { shard: flags.shard } : {}),
    ...(flags.shards !== undefined ? { shards: intOption(flags.shards, '--shards', { min: 1 }) } : {}),
    env: process.env,
    outDir,
    log: err,
  });
  const backend = await initBackend({ announce: true });
  err(`dept fewshot: ${recipe.name} → ${outDir} (backend ${backend.name})`);
  const progress = gridProgress(outDir);
  const display = gridDisplay();
  // The same command resumes: finished runs are skipped, unfinished ones continue from their checkpoints.
  const again = deptCommand(process.argv.slice(2).filter((a) => a !== '--overwrite'));
  const stop = onInterrupt(() => `${progress.describe()}; resume with the same command (finished runs are skipped): ${again}`, releaseHeldLocks);
  let result: Awaited<ReturnType<typeof runGrid>>;
  try {
    result = await runGrid({
      name: recipe.name,
      tasks: recipe.tasks,
      k: recipe.k,
      seeds: recipe.seeds,
      sampler: recipe.sampler,
      model: recipe.model,
      ...(recipe.data.dir ? { dataDir: recipe.data.dir } : {}),
      ...(recipe.data.layout ? { layout: recipe.data.layout } : {}),
      ...(recipe.data.subset ? { subset: recipe.data.subset } : {}),
      ...(recipe.data.max_eval_examples !== undefined ? { maxEvalExamples: recipe.data.max_eval_examples } : {}),
      flavour: recipe.data.flavour,
      addPrefix: recipe.data.add_prefix,
      ...(recipe.bank ? { bank: recipe.bank } : {}),
      train: recipe.train,
      ...(recipe.search ? { search: recipe.search } : {}),
      outDir,
      recipe: { ...recipe, out: outDir } as Record<string, unknown>,
    }, {
      shard,
      overwrite: Boolean(flags.overwrite),
      onEvent: (event) => {
        progress.see(event);
        display(event);
      },
    });
  } finally {
    stop();
  }
  err(recipe.search
    ? `grid: ${plural(result.ran.length, 'sub-run')} trained, ${result.skipped.length} skipped (already finished); ${plural(result.selections.length, 'cell')} selected`
    : `grid: ${plural(result.ran.length, 'cell')} trained, ${result.skipped.length} skipped (already finished)`);
  const written = await writeReport(outDir);
  if (flags.json) process.stdout.write(`${JSON.stringify(written.report, null, 2)}\n`);
  else process.stdout.write(written.table);
  for (const path of Object.values(written.paths)) err(`wrote ${path}`);
}

/** `dept fewshot`: the k-shot grid of a recipe, resumable and shardable, with its report. */
export function registerFewshot(program: Command): void {
  const cmd = program
    .command('fewshot [recipe]')
    .description('run the k-shot grid of a recipe (tasks × k × seeds; flags override the recipe file), skipping finished cells, then write results.json/csv, report.md/svg/png');
  addRecipeFlags(cmd, { grid: true });
  addGridFlags(cmd);
  cmd.action(async (recipePath: string | undefined, flags: FewshotFlags) => {
    const recipe = resolveRecipe(recipePath, flags, { grid: true });
    await runFewshot(recipe, flags);
  });
}
