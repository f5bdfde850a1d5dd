/**
 * The k-shot experiment grid: every task × k × seed in a fixed order, one run folder per cell
 * (`<out>/<task>/k<k>/seed<seed>/`), resumable (finished cells are skipped, a checkpointed cell continues from its
 * checkpoint), shardable across processes (`--shard i/n`, Slurm job arrays, Kubernetes indexed Jobs), with the frozen
 * model loaded once for all cells.
 *
 * With a search space (`search.ts`) every cell runs one sub-run per setting (`<cell>/<setting id>/`, a run folder
 * each) and its `results.json` is the selection. Sub-runs are the grid's runs then: in grid order (cells, then the
 * settings in recipe order), each one skipped when finished, resumed from its checkpoint, locked by its trainer,
 * and shards take runs by index modulo n. Whoever finds the last sub-run of a cell finished writes the cell's
 * selection (the shard that ran it, any later `runGrid`, or `writeReport`).
 *
 * Grid folder: `grid.json` (the resolved plan and its cells), `.lock` while an unsharded process runs it
 * (`.shards/<i>-of-<n>/.lock` for a shard), the cell folders, the report files of `report.ts`, and `.dept.json`,
 * the record that dept made the folder (a grid folder must be new, empty, or one that dept made).
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { DeptError, assertNoLinksBelow, firstDifference, readJsonFile, sortKeysDeep, writeJsonAtomic } from '@dept/core';
import { initBackend } from '@dept/tensor';
import type { PretrainedT5 } from '@dept/t5';
import type { Bank } from '@dept/prompt';
import { getTask, loadDeptDataset, type KshotSampler, type LayoutName } from '@dept/tasks';
import { acquireRunLock, checkModelLimits, checkpointPath, lockHolder, removeStaleRunTemporaries, resolveTrainConfig, withoutMemorySettings, type TrainConfig, type TrainEvent, type TrainResults } from '@dept/train';
import { ensureModel, runCell, type ModelSource } from './cell.ts';
import { resolveSourceBank, type SourceBankOptions } from './source.ts';
import type { Shard } from './shard.ts';
import { GRID_ENTRIES, claimGridFolder, gridSearchSettings, readGridFile, type GridCell, type GridFile } from './grid-folder.ts';
import {
  clearSelection, derivesRank, searchGrowthProblem, searchSettings, selectCell, subRunTrain,
  type SearchSetting, type SearchSpace, type SearchValue, type SubRunTrain,
} from './search.ts';

/** What a grid runs: the fields of a recipe that matter to its cells. */
export interface GridPlan {
  /** The experiment's name (recorded in `grid.json`). */
  name?: string;
  /** Task names (DePT's or Hugging Face's; folders use DePT's). */
  tasks: readonly string[];
  /** k values (shots of the training split). */
  k: readonly number[];
  /** Seeds: each one picks the k-shot sample and seeds the training (as DePT, one seed for both). */
  seeds: readonly number[];
  sampler?: KshotSampler;
  model: ModelSource;
  dataDir?: string;
  /** Read every task from the folder in this layout (default: the first by layout priority, as `dept data`). */
  layout?: LayoutName;
  /** LM-BFF k-shot layout: this `<k>-<seed>` folder for every cell (default: each cell's seed's own). */
  subset?: string;
  /** Evaluate each cell on at most this many dev and test examples (default: all; see `runCell`). */
  maxEvalExamples?: number;
  flavour?: 'dept' | 'official';
  addPrefix?: boolean;
  /** Initialise every cell from source banks (transfer). */
  bank?: SourceBankOptions['source'];
  /** Training hyper-parameters shared by all cells (the cell's seed is set per cell). */
  train: Partial<TrainConfig>;
  /** Search these `train` fields in every cell (each combination a sub-run; the best on dev is the cell's result). */
  search?: SearchSpace;
  /** The grid folder. */
  outDir: string;
  /** The resolved recipe, recorded as is in `grid.json` (defaults to the plan itself). */
  recipe?: Record<string, unknown>;
}

/**
 * One run of the grid: a cell, or with a search one sub-run of a cell (`<cell>/<setting id>`). Runs are numbered in
 * grid order (cells, then settings); without a search a run is its cell (same index and folder).
 */
export interface GridRun {
  /** Position in grid order; shards take `index % count == shard`. */
  index: number;
  cell: GridCell;
  /** The searched setting (null without a search). */
  setting: SearchSetting | null;
  /** The run folder relative to the grid folder: the cell's, or `<cell>/<setting id>`. */
  dir: string;
}

/** Progress of a grid, for displays. */
export type GridEvent =
  | { type: 'plan'; cells: readonly GridCell[]; selected: readonly GridCell[]; runs: readonly GridRun[]; selectedRuns: readonly GridRun[]; settings: readonly SearchSetting[] | null; shard: Shard | null }
  | { type: 'model'; dir: string; created: boolean; randomWeights: boolean }
  | { type: 'skip'; cell: GridCell; run: GridRun; position: number; total: number }
  | { type: 'start'; cell: GridCell; run: GridRun; position: number; total: number; resumed: boolean }
  | { type: 'log'; cell: GridCell; run: GridRun; line: string }
  | { type: 'warn'; cell: GridCell; run: GridRun; line: string }
  | { type: 'train'; cell: GridCell; run: GridRun; event: TrainEvent }
  | { type: 'done'; cell: GridCell; run: GridRun; position: number; total: number; results: TrainResults }
  /** A searched cell's sub-runs are all finished and its selection was written. */
  | { type: 'select'; cell: GridCell; setting: string; metric: string; dev: number | null; settings: number };

/** Options of {@link runGrid}. */
export interface GridOptions {
  /** Run only this shard's cells (see {@link resolveShard}). */
  shard?: Shard | null;
  /** Re-run finished cells and unfinished ones from scratch, replacing their folders (and `grid.json`). */
  overwrite?: boolean;
  /** Reuse an already loaded model instead of loading `plan.model` (the caller disposes it). */
  pretrained?: PretrainedT5;
  onEvent?: (event: GridEvent) => void;
  /** Stop each cell after this many optimiser updates in this session (tests of resume; the cell throws `TrainingStopped`). */
  stopAfterSteps?: number;
}

/** What {@link runGrid} did. */
export interface GridResult {
  outDir: string;
  /** Every cell of the grid, in grid order. */
  cells: GridCell[];
  shard: Shard | null;
  /** Every run of the grid (the cells, or their sub-runs with a search), in grid order. */
  runs: GridRun[];
  /** Runs trained (or finished from a checkpoint) by this call, with their results. */
  ran: { cell: GridCell; run: GridRun; results: TrainResults }[];
  /** Runs of this shard skipped because their `results.json` already existed. */
  skipped: GridRun[];
  /** Searched cells whose selection this call wrote (any cell of the grid found complete, not only this shard's). */
  selections: { cell: GridCell; setting: string }[];
}

/**
 * The cells of a grid in its fixed order: for each task, for each k, for each seed.
 *
 * @example
 * gridCells({ tasks: ['superglue-cb', 'rte'], k: [4, 16], seeds: [13, 21] }).map((c) => c.dir);
 * // ['superglue-cb/k4/seed13', 'superglue-cb/k4/seed21', 'superglue-cb/k16/seed13', …, 'rte/k16/seed21']
 */
export function gridCells(plan: Pick<GridPlan, 'tasks' | 'k' | 'seeds'>): GridCell[] {
  const tasks = plan.tasks.map((t) => getTask(t).name);
  for (const [field, values] of [['tasks', tasks], ['k', plan.k], ['seeds', plan.seeds]] as const) {
    if (values.length === 0) throw new DeptError(`grid: "${field}" is empty; expected at least one value`);
    const dup = values.find((v, i) => values.indexOf(v as never) !== i);
    if (dup !== undefined) throw new DeptError(`grid: "${field}" lists ${JSON.stringify(dup)} twice`);
  }
  for (const k of plan.k) if (!Number.isInteger(k) || k < 1) throw new DeptError(`grid: k ${k} is not a positive integer`);
  for (const s of plan.seeds) if (!Number.isInteger(s) || s < 0) throw new DeptError(`grid: seed ${s} is not a non-negative integer`);
  const cells: GridCell[] = [];
  for (const task of tasks) {
    for (const k of plan.k) {
      for (const seed of plan.seeds) {
        cells.push({ index: cells.length, task, k, seed, dir: `${task}/k${k}/seed${seed}` });
      }
    }
  }
  return cells;
}

/**
 * The runs of a grid in its fixed order: each cell's sub-runs in the settings' order (recipe order), or the cells
 * themselves without a search (`settings` null).
 *
 * @example
 * gridRuns(gridCells(plan), searchSettings({ lr: [0.3, 0.4] })).map((r) => r.dir);
 * // ['superglue-cb/k4/seed13/lr3e-1', 'superglue-cb/k4/seed13/lr4e-1', 'superglue-cb/k4/seed21/lr3e-1', …]
 */
export function gridRuns(cells: readonly GridCell[], settings: readonly SearchSetting[] | null): GridRun[] {
  if (!settings) return cells.map((cell) => ({ index: cell.index, cell, setting: null, dir: cell.dir }));
  return cells.flatMap((cell) => settings.map((setting, j) => ({
    index: cell.index * settings.length + j, cell, setting, dir: `${cell.dir}/${setting.id}`,
  })));
}

/**
 * The cells (or runs) a shard runs: those whose grid index is `shard.index` modulo `shard.count` (all without a
 * shard).
 *
 * @example
 * shardCells(gridCells(plan), { index: 1, count: 2 }); // cells 1, 3, 5, …
 * shardCells(gridRuns(cells, settings), { index: 0, count: 8 }); // sub-runs 0, 8, 16, …
 */
export function shardCells<T extends { index: number }>(cells: readonly T[], shard: Shard | null | undefined): T[] {
  return shard ? cells.filter((c) => c.index % shard.count === shard.index) : [...cells];
}

/** A search space as `grid.json` records it: a list, because the order of its fields matters and the file's keys are sorted. */
type RecordedSearch = { field: string; values: SearchValue[] }[];

function recordSearch(space: SearchSpace): RecordedSearch {
  return Object.entries(space).map(([field, values]) => ({ field, values: [...values] }));
}

function recordedSpace(value: unknown, where: string): SearchSpace | null {
  if (value === undefined || value === null) return null;
  if (!Array.isArray(value) || !value.every((e) => typeof e === 'object' && e !== null && typeof e.field === 'string' && Array.isArray(e.values))) {
    throw new DeptError(`${where}: "settings.search" is not a recorded search (expected a list of {field, values})`);
  }
  return Object.fromEntries((value as RecordedSearch).map((e) => [e.field, e.values]));
}

/**
 * The parts of `grid.json` that decide what a finished cell means; changing them needs `--overwrite`. With a search,
 * the searched fields leave `train` (the settings set them; when r comes from the budget, m, r and s stay: they make
 * the budget) and the space is recorded under `search`.
 */
function settingsOf(plan: GridPlan): Record<string, unknown> {
  const train: Record<string, unknown> = { ...plan.train };
  if (plan.search) {
    const budget = derivesRank(plan.search) ? ['num_virtual_tokens', 'r', 'max_length'] : [];
    for (const field of Object.keys(plan.search)) if (!budget.includes(field)) delete train[field];
  }
  return sortKeysDeep({
    model: plan.model.path,
    data_dir: plan.dataDir ?? null,
    // Recorded only when set, so that grids started before these settings existed continue.
    ...(plan.layout ? { layout: plan.layout } : {}),
    ...(plan.subset ? { subset: plan.subset } : {}),
    ...(plan.maxEvalExamples !== undefined ? { max_eval_examples: plan.maxEvalExamples } : {}),
    sampler: plan.sampler ?? 'dept',
    flavour: plan.flavour ?? 'dept',
    add_prefix: plan.addPrefix ?? false,
    bank: plan.bank ?? null,
    train,
    ...(plan.search ? { search: recordSearch(plan.search) } : {}),
  }) as Record<string, unknown>;
}

function withoutSearch(settings: Record<string, unknown>): Record<string, unknown> {
  const { search: _search, ...rest } = settings;
  return withoutMemorySettings(rest);
}

/** Refuses a grid folder whose recorded settings the plan may not continue: another layout, settings or a search that does not contain the old one. */
function checkContinuation(before: GridFile, settings: Record<string, unknown>, plan: GridPlan, path: string, overwrite: boolean): void {
  const old = recordedSpace(before.settings.search, path);
  if (old && !plan.search) {
    throw new DeptError(`${path}: this grid folder was run with a search over ${Object.keys(old).join(', ')} (a sub-run per setting under each cell); give that search (or one containing it) or another --out`);
  }
  if (!old && plan.search) {
    throw new DeptError(`${path}: this grid folder was run without a search (its cells are run folders); a search puts a sub-run per setting under each cell: use another --out`);
  }
  if (overwrite) return;
  const problem = old && plan.search ? searchGrowthProblem(old, plan.search) : null;
  if (problem) {
    throw new DeptError(`${path}: this grid folder was run with another search, and the new one does not contain it: ${problem}; a started grid's search may only grow (then only the new settings run); use --overwrite to re-run its cells or another --out`);
  }
  // Memory settings (micro_batch_size, eval_batch_size) may change: a grid stopped by a full heap goes on with smaller ones.
  const diff = firstDifference(withoutSearch(before.settings), withoutSearch(settings));
  if (diff) {
    throw new DeptError(`${path}: this grid folder was run with a different "${diff}"; use --overwrite to re-run its cells or another --out`);
  }
}

/** What {@link loadGridModel} needs of a plan. */
export type ModelPlan = Pick<GridPlan, 'model' | 'tasks' | 'dataDir' | 'layout' | 'subset' | 'addPrefix' | 'train'>;

/** Texts to build a demo tokenizer from: every source and target of the grid's tasks, plus the prompt's init text. */
async function tokenizerSampleTexts(plan: ModelPlan): Promise<string[]> {
  const texts: string[] = [];
  if (plan.train.prompt_init_text) texts.push(plan.train.prompt_init_text);
  else texts.push('Classify this text is postive or not:');
  for (const name of plan.tasks) {
    const ds = await loadDeptDataset(getTask(name).name, {
      ...(plan.dataDir ? { dataDir: plan.dataDir } : {}),
      ...(plan.layout ? { layout: plan.layout } : {}),
      ...(plan.subset ? { subset: plan.subset } : {}),
      ...(plan.addPrefix !== undefined ? { addPrefix: plan.addPrefix } : {}),
    });
    for (const split of [ds.train, ds.dev, ds.test]) {
      for (const e of split) {
        if (texts.length >= 200_000) return texts;
        texts.push(e.source, e.target);
      }
    }
  }
  return texts;
}

/**
 * The frozen model of a grid: `ensureModel`, except that a random model made without a tokenizer folder gets a
 * demo tokenizer whose vocabulary covers every word of the grid's data (and the prompt's init text), so no input
 * word becomes `<unk>`.
 *
 * @example
 * const { pretrained, created } = await loadGridModel({ model: { path: 'm', init: { preset: 'mini' } }, tasks: ['rte'], dataDir: 'datasets/sample', train: {} });
 */
export async function loadGridModel(plan: ModelPlan): Promise<{ pretrained: PretrainedT5; created: boolean }> {
  await initBackend(); // before the weights become tensors
  const source = plan.model;
  const created = !existsSync(join(source.path, 'config.json'));
  if (created && source.init && !source.init.tokenizer && !source.init.sampleTexts?.length) {
    const sampleTexts = await tokenizerSampleTexts(plan);
    return { pretrained: ensureModel({ ...source, init: { ...source.init, sampleTexts } }), created };
  }
  return { pretrained: ensureModel(source), created };
}

/**
 * Runs the grid (or one shard of it) into `plan.outDir` and returns what it ran and skipped.
 *
 * @example
 * const result = await runGrid({
 *   tasks: ['superglue-cb', 'rte'], k: [4, 16], seeds: [13, 21], dataDir: 'datasets/sample',
 *   model: { path: '.dept-cache/models/mini', init: { preset: 'mini', seed: 0 } },
 *   train: { num_virtual_tokens: 8, r: 4, max_length: 64, max_steps: 30, eval_steps: 10 },
 *   outDir: 'runs/demo',
 * }, { shard: { index: 0, count: 2 } });
 */
export async function runGrid(plan: GridPlan, options: GridOptions = {}): Promise<GridResult> {
  const cells = gridCells(plan);
  const settingsList = plan.search ? searchSettings(plan.search) : null;
  const runs = gridRuns(cells, settingsList);
  const shard = options.shard ?? null;
  const selectedRuns = shardCells(runs, shard);
  const selectedCellSet = new Set(selectedRuns.map((r) => r.cell));
  const selected = cells.filter((c) => selectedCellSet.has(c));
  const outDir = plan.outDir;
  const emit = options.onEvent ?? (() => undefined);

  // The folder must be new, empty or a dept grid, and nothing may be written through a symbolic link inside it
  // (a cell would land outside the grid): both checked before anything is written.
  const shardDir = shard ? join('.shards', `${shard.index}-of-${shard.count}`) : null;
  for (const rel of [...selectedRuns.map((r) => r.dir), ...(shardDir ? [shardDir] : [])]) assertNoLinksBelow(outDir, rel);
  claimGridFolder(outDir, [...GRID_ENTRIES, ...new Set(cells.map((c) => c.task))], { newFolder: true });

  // One process per grid folder (or per shard of it); cells have their own locks as well.
  if (shard) {
    const holder = lockHolder(outDir);
    if (holder !== null) throw new DeptError(`${outDir}: an unsharded run of this grid is in progress (process ${holder.pid}); wait for it or stop it before running shards`);
  } else if (existsSync(join(outDir, '.shards'))) {
    for (const name of readdirSync(join(outDir, '.shards'))) {
      const holder = lockHolder(join(outDir, '.shards', name));
      if (holder !== null) throw new DeptError(`${outDir}: shard ${name} of this grid is running (process ${holder.pid}); run the other shards with --shard, or wait`);
    }
  }
  const release = acquireRunLock(shardDir ? join(outDir, shardDir) : outDir);
  // Half-written files of killed processes (a live writer's are kept). Only without shards: shards may run on other
  // machines, whose writers' process ids mean nothing here, so a shard would take their live temporaries for stale.
  if (!shard) removeStaleRunTemporaries(outDir);
  let pretrained = options.pretrained;
  const ownModel = !pretrained;
  try {
    const settings = settingsOf(plan);
    const before = readGridFile(outDir);
    if (before) checkContinuation(before, settings, plan, join(outDir, 'grid.json'), Boolean(options.overwrite));
    const gridFile: GridFile = {
      name: plan.name ?? null,
      recipe: plan.recipe ?? (sortKeysDeep({ ...plan, outDir: undefined }) as Record<string, unknown>),
      settings,
      cells,
      ...(settingsList && plan.search ? { search: { settings: settingsList, r_from_budget: derivesRank(plan.search) } } : {}),
      updated: new Date().toISOString(),
    };
    writeJsonAtomic(join(outDir, 'grid.json'), gridFile);
    emit({ type: 'plan', cells, selected, runs, selectedRuns, settings: settingsList, shard });

    // A searched cell is finished once all its sub-runs are: whoever finds that writes its selection.
    const selections: GridResult['selections'] = [];
    const selectDone = (cell: GridCell) => {
      if (!settingsList) return;
      const { chosen, wrote } = selectCell(outDir, cell, settingsList, plan.flavour ?? 'dept');
      if (chosen && wrote) {
        const { selected, metric } = chosen.search;
        selections.push({ cell, setting: selected });
        const dev = chosen.search.settings.find((x) => x.id === selected)?.dev ?? null;
        emit({ type: 'select', cell, setting: selected, metric, dev, settings: settingsList.length });
      }
    };
    const position = (run: GridRun) => selectedRuns.indexOf(run) + 1;
    const todo = selectedRuns.filter((run) => options.overwrite || !existsSync(join(outDir, run.dir, 'results.json')));
    const skipped = selectedRuns.filter((run) => !todo.includes(run));
    skipped.forEach((run) => emit({ type: 'skip', cell: run.cell, run, position: position(run), total: selectedRuns.length }));
    const ran: GridResult['ran'] = [];
    if (todo.length === 0) {
      cells.forEach(selectDone);
      return { outDir, cells, shard, runs, ran, skipped, selections };
    }

    if (!pretrained) {
      const loaded = await loadGridModel(plan);
      pretrained = loaded.pretrained;
      emit({ type: 'model', dir: plan.model.path, created: loaded.created, randomWeights: pretrained.randomWeights });
    }
    // Every setting's training config, checked against the model before any sub-run trains.
    const subRuns = new Map<string, SubRunTrain>();
    for (const setting of settingsList ?? []) {
      const sub = subRunTrain(plan.train, setting, plan.search as SearchSpace, pretrained.config.d_model);
      checkModelLimits(resolveTrainConfig(sub.train, `search ${setting.id}`), pretrained.config);
      subRuns.set(setting.id, sub);
    }
    for (const run of todo) {
      const { cell } = run;
      const runDir = join(outDir, run.dir);
      const sub = run.setting ? subRuns.get(run.setting.id) as SubRunTrain : null;
      const train = sub ? sub.train : plan.train;
      if (run.setting && options.overwrite) clearSelection(join(outDir, cell.dir));
      const resumed = !options.overwrite && checkpointPath(runDir) !== null;
      emit({ type: 'start', cell, run, position: position(run), total: selectedRuns.length, resumed });
      let initialBank: Bank | undefined;
      if (plan.bank && !resumed) {
        initialBank = await resolveSourceBank({
          source: plan.bank, pretrained, task: cell.task, train, seed: cell.seed,
          ...(plan.dataDir ? { dataDir: plan.dataDir } : {}),
          ...(plan.layout ? { layout: plan.layout } : {}),
          ...(plan.subset ? { subset: plan.subset } : {}),
          log: (line) => emit({ type: 'log', cell, run, line }),
        });
      }
      const searchDescription = run.setting && sub
        ? { search: { setting: run.setting.id, values: run.setting.values, ...(sub.budget ? { r_from_budget: sub.budget } : {}) } }
        : {};
      const results = await runCell({
        pretrained,
        task: cell.task,
        ...(plan.dataDir ? { dataDir: plan.dataDir } : {}),
        ...(plan.layout ? { layout: plan.layout } : {}),
        ...(plan.subset ? { subset: plan.subset } : {}),
        ...(plan.maxEvalExamples !== undefined ? { maxEvalExamples: plan.maxEvalExamples } : {}),
        k: cell.k,
        seed: cell.seed,
        sampler: plan.sampler ?? 'dept',
        addPrefix: plan.addPrefix ?? false,
        flavour: plan.flavour ?? 'dept',
        train,
        outDir: runDir,
        ...(initialBank ? { initialBank } : {}),
        resume: !options.overwrite,
        overwrite: Boolean(options.overwrite),
        describe: { grid: plan.name ?? null, flavour: plan.flavour ?? 'dept', add_prefix: plan.addPrefix ?? false, bank_source: plan.bank ?? null, ...searchDescription },
        onEvent: (event) => emit({ type: 'train', cell, run, event }),
        log: (line) => emit({ type: 'log', cell, run, line }),
        warn: (line) => emit({ type: 'warn', cell, run, line }),
        ...(options.stopAfterSteps !== undefined ? { stopAfterSteps: options.stopAfterSteps } : {}),
      });
      ran.push({ cell, run, results });
      emit({ type: 'done', cell, run, position: position(run), total: selectedRuns.length, results });
      selectDone(cell);
    }
    // Cells completed by other shards (or by a process killed before it wrote their selection).
    cells.forEach(selectDone);
    return { outDir, cells, shard, runs, ran, skipped, selections };
  } finally {
    if (ownModel && pretrained) pretrained.model.dispose();
    release();
  }
}

/**
 * The cells of a grid that hold a finished run (`results.json`); with a search (from `grid.json`), a selection made
 * among all of the grid's current settings.
 *
 * @example
 * finishedCells('runs/quickstart', gridCells(plan)).length; // 8 when the grid is done
 */
export function finishedCells(outDir: string, cells: readonly GridCell[]): GridCell[] {
  const settings = gridSearchSettings(readGridFile(outDir));
  const ids = settings?.map((s) => s.id).join('\u0000');
  return cells.filter((c) => {
    if (!existsSync(join(outDir, c.dir, 'results.json'))) return false;
    if (!settings) return true;
    const chosen = readCellResults(outDir, c) as TrainResults & { search?: { settings?: { id: string }[] } };
    return chosen.search?.settings?.map((s) => s.id).join('\u0000') === ids;
  });
}

/**
 * The `results.json` of a finished cell.
 *
 * @example
 * readCellResults('runs/quickstart', { dir: 'rte/k16/seed13' }).test.accuracy;
 */
export function readCellResults(outDir: string, cell: Pick<GridCell, 'dir'>): TrainResults {
  return readJsonFile<TrainResults>(join(outDir, cell.dir, 'results.json'), 'the results of a cell');
}
