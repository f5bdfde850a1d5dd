/**
 * The k-shot experiment grid: every task × k × seed in a fixed order, one run folder per cell
 * (`<out>/<task>/k<k>/seed<seed>/`), resumable (finished cells are skipped, a checkpointed cell continues from its
 * checkpoint), shardable across processes (`--shard i/n`, Slurm job arrays, Kubernetes indexed Jobs), with the frozen
 * model loaded once for all cells.
 *
 * Grid folder: `grid.json` (the resolved plan and its cells), `.lock` while an unsharded process runs it
 * (`.shards/<i>-of-<n>/.lock` for a shard), the cell folders, the report files of `report.ts`, and `.dept.json`,
 * the record that dept made the folder (a grid folder must be new, empty, or one that dept made).
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { DeptError, assertNoLinksBelow, claimEntries, isDir, readFolderRecord, readJsonFile, sortKeysDeep, writeJsonAtomic } from '@dept/core';
import { initBackend } from '@dept/tensor';
import type { PretrainedT5 } from '@dept/t5';
import type { Bank } from '@dept/prompt';
import { getTask, loadDeptDataset, type KshotSampler } from '@dept/tasks';
import { acquireRunLock, checkpointPath, lockHolder, removeStaleRunTemporaries, withoutMemorySettings, type TrainConfig, type TrainEvent, type TrainResults } from '@dept/train';
import { ensureModel, runCell, type ModelSource } from './cell.ts';
import { resolveSourceBank, type SourceBankOptions } from './source.ts';
import { makeGridFolder, type Shard } from './shard.ts';

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
  flavour?: 'dept' | 'official';
  addPrefix?: boolean;
  /** Initialise every cell from source banks (transfer). */
  bank?: SourceBankOptions['source'];
  /** Training hyper-parameters shared by all cells (the cell's seed is set per cell). */
  train: Partial<TrainConfig>;
  /** The grid folder. */
  outDir: string;
  /** The resolved recipe, recorded as is in `grid.json` (defaults to the plan itself). */
  recipe?: Record<string, unknown>;
}

/** One cell of the grid. */
export interface GridCell {
  /** Position in grid order (tasks, then k, then seeds); shards take `index % count == shard`. */
  index: number;
  /** DePT task name. */
  task: string;
  k: number;
  seed: number;
  /** The cell folder relative to the grid folder: `<task>/k<k>/seed<seed>`. */
  dir: string;
}

/** Progress of a grid, for displays. */
export type GridEvent =
  | { type: 'plan'; cells: readonly GridCell[]; selected: readonly GridCell[]; shard: Shard | null }
  | { type: 'model'; dir: string; created: boolean; randomWeights: boolean }
  | { type: 'skip'; cell: GridCell; position: number; total: number }
  | { type: 'start'; cell: GridCell; position: number; total: number; resumed: boolean }
  | { type: 'log'; cell: GridCell; line: string }
  | { type: 'train'; cell: GridCell; event: TrainEvent }
  | { type: 'done'; cell: GridCell; position: number; total: number; results: TrainResults };

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
  /** Cells trained (or finished from a checkpoint) by this call, with their results. */
  ran: { cell: GridCell; results: TrainResults }[];
  /** Cells of this shard skipped because their `results.json` already existed. */
  skipped: GridCell[];
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
 * The cells a shard runs: those whose grid index is `shard.index` modulo `shard.count` (all cells without a shard).
 *
 * @example
 * shardCells(gridCells(plan), { index: 1, count: 2 }); // cells 1, 3, 5, …
 */
export function shardCells(cells: readonly GridCell[], shard: Shard | null | undefined): GridCell[] {
  return shard ? cells.filter((c) => c.index % shard.count === shard.index) : [...cells];
}

/** The kind of folder a grid folder's record (`.dept.json`) names. */
export const GRID_KIND = 'grid';

/** The report files `writeReport` writes into a grid folder. */
export const REPORT_FILES: readonly string[] = ['results.json', 'results.csv', 'report.md', 'report.svg', 'report.png'];

/** What a grid writes directly in its folder besides the task folders. */
const GRID_ENTRIES: readonly string[] = ['grid.json', '.shards', ...REPORT_FILES];

/**
 * Claims `names` in a grid folder for dept (see `claimEntries` in @dept/core): with `newFolder`, a folder without
 * a record must be new or empty. A grid folder made before records (it holds a valid `grid.json`) is adopted.
 *
 * @example
 * claimGridFolder('runs/quickstart', ['grid.json', 'rte'], { newFolder: true });
 */
export function claimGridFolder(outDir: string, names: readonly string[], options: { newFolder?: boolean } = {}): void {
  let legacy: string[] | undefined;
  if (isDir(outDir) && readFolderRecord(outDir) === null && existsSync(join(outDir, 'grid.json'))) {
    const grid = readGridFile(outDir);
    legacy = [...GRID_ENTRIES, ...new Set((grid?.cells ?? []).map((c) => String(c.task)))];
  }
  claimEntries(outDir, GRID_KIND, names, { what: 'a grid folder', ...(options.newFolder ? { newFolder: true } : {}), ...(legacy ? { adopt: legacy } : {}) });
}

/** The parts of `grid.json` that decide what a finished cell means; changing them needs `--overwrite`. */
function settingsOf(plan: GridPlan): Record<string, unknown> {
  return sortKeysDeep({
    model: plan.model.path,
    data_dir: plan.dataDir ?? null,
    sampler: plan.sampler ?? 'dept',
    flavour: plan.flavour ?? 'dept',
    add_prefix: plan.addPrefix ?? false,
    bank: plan.bank ?? null,
    train: plan.train,
  }) as Record<string, unknown>;
}

function firstDifference(a: unknown, b: unknown, path = ''): string | null {
  if (typeof a !== 'object' || a === null || typeof b !== 'object' || b === null) {
    return JSON.stringify(a) === JSON.stringify(b) ? null : path || '(root)';
  }
  for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const d = firstDifference((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key], path ? `${path}.${key}` : key);
    if (d) return d;
  }
  return null;
}

/** `grid.json`: what was asked for and the cells it makes. */
export interface GridFile {
  name: string | null;
  recipe: Record<string, unknown>;
  /** The settings every finished cell was trained with (compared when the grid is resumed). */
  settings: Record<string, unknown>;
  cells: GridCell[];
  updated: string;
}

/**
 * Reads `<dir>/grid.json`, or null when absent.
 *
 * @example
 * readGridFile('runs/quickstart')?.cells.length; // 8
 */
export function readGridFile(dir: string): GridFile | null {
  const path = join(dir, 'grid.json');
  if (!existsSync(path)) return null;
  const value = readJsonFile<GridFile>(path, 'the grid file');
  if (typeof value !== 'object' || value === null || !Array.isArray(value.cells)) {
    throw new DeptError(`${path}: not a grid file (expected an object with a "cells" list)`);
  }
  return value;
}

/** What {@link loadGridModel} needs of a plan. */
export type ModelPlan = Pick<GridPlan, 'model' | 'tasks' | 'dataDir' | 'addPrefix' | 'train'>;

/** Texts to build a demo tokenizer from: every source and target of the grid's tasks, plus the prompt's init text. */
async function tokenizerSampleTexts(plan: ModelPlan): Promise<string[]> {
  const texts: string[] = [];
  if (plan.train.prompt_init_text) texts.push(plan.train.prompt_init_text);
  else texts.push('Classify this text is postive or not:');
  for (const name of plan.tasks) {
    const ds = await loadDeptDataset(getTask(name).name, {
      ...(plan.dataDir ? { dataDir: plan.dataDir } : {}),
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
  const shard = options.shard ?? null;
  const selected = shardCells(cells, shard);
  const outDir = plan.outDir;
  const emit = options.onEvent ?? (() => undefined);

  // The folder must be new, empty or a dept grid, and nothing may be written through a symbolic link inside it
  // (a cell would land outside the grid): both checked before anything is written.
  const shardDir = shard ? join('.shards', `${shard.index}-of-${shard.count}`) : null;
  for (const rel of [...selected.map((c) => c.dir), ...(shardDir ? [shardDir] : [])]) assertNoLinksBelow(outDir, rel);
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
  makeGridFolder(outDir);
  const release = acquireRunLock(shardDir ? join(outDir, shardDir) : outDir);
  // Half-written files of killed processes (a live writer's are kept). Only without shards: shards may run on other
  // machines, whose writers' process ids mean nothing here, so a shard would take their live temporaries for stale.
  if (!shard) removeStaleRunTemporaries(outDir);
  let pretrained = options.pretrained;
  const ownModel = !pretrained;
  try {
    const settings = settingsOf(plan);
    const before = readGridFile(outDir);
    if (before && !options.overwrite) {
      // Memory settings (micro_batch_size, eval_batch_size) may change: a grid stopped by a full heap goes on with smaller ones.
      const diff = firstDifference(withoutMemorySettings(before.settings), withoutMemorySettings(settings));
      if (diff) {
        throw new DeptError(`${join(outDir, 'grid.json')}: this grid folder was run with a different "${diff}"; use --overwrite to re-run its cells or another --out`);
      }
    }
    const gridFile: GridFile = {
      name: plan.name ?? null,
      recipe: plan.recipe ?? (sortKeysDeep({ ...plan, outDir: undefined }) as Record<string, unknown>),
      settings,
      cells,
      updated: new Date().toISOString(),
    };
    writeJsonAtomic(join(outDir, 'grid.json'), gridFile);
    emit({ type: 'plan', cells, selected, shard });

    const todo = selected.filter((cell) => options.overwrite || !existsSync(join(outDir, cell.dir, 'results.json')));
    const skipped = selected.filter((cell) => !todo.includes(cell));
    skipped.forEach((cell) => emit({ type: 'skip', cell, position: selected.indexOf(cell) + 1, total: selected.length }));
    const ran: { cell: GridCell; results: TrainResults }[] = [];
    if (todo.length === 0) return { outDir, cells, shard, ran, skipped };

    if (!pretrained) {
      const loaded = await loadGridModel(plan);
      pretrained = loaded.pretrained;
      emit({ type: 'model', dir: plan.model.path, created: loaded.created, randomWeights: pretrained.randomWeights });
    }
    for (const cell of todo) {
      const cellDir = join(outDir, cell.dir);
      const resumed = !options.overwrite && checkpointPath(cellDir) !== null;
      const position = selected.indexOf(cell) + 1;
      emit({ type: 'start', cell, position, total: selected.length, resumed });
      let initialBank: Bank | undefined;
      if (plan.bank && !resumed) {
        initialBank = await resolveSourceBank({
          source: plan.bank, pretrained, task: cell.task, train: plan.train, seed: cell.seed,
          ...(plan.dataDir ? { dataDir: plan.dataDir } : {}),
          log: (line) => emit({ type: 'log', cell, line }),
        });
      }
      const results = await runCell({
        pretrained,
        task: cell.task,
        ...(plan.dataDir ? { dataDir: plan.dataDir } : {}),
        k: cell.k,
        seed: cell.seed,
        sampler: plan.sampler ?? 'dept',
        addPrefix: plan.addPrefix ?? false,
        flavour: plan.flavour ?? 'dept',
        train: plan.train,
        outDir: cellDir,
        ...(initialBank ? { initialBank } : {}),
        resume: !options.overwrite,
        overwrite: Boolean(options.overwrite),
        describe: { grid: plan.name ?? null, flavour: plan.flavour ?? 'dept', add_prefix: plan.addPrefix ?? false, bank_source: plan.bank ?? null },
        onEvent: (event) => emit({ type: 'train', cell, event }),
        log: (line) => emit({ type: 'log', cell, line }),
        ...(options.stopAfterSteps !== undefined ? { stopAfterSteps: options.stopAfterSteps } : {}),
      });
      ran.push({ cell, results });
      emit({ type: 'done', cell, position, total: selected.length, results });
    }
    return { outDir, cells, shard, ran, skipped };
  } finally {
    if (ownModel && pretrained) pretrained.model.dispose();
    release();
  }
}

/**
 * The cells of a grid that hold a finished run (`results.json`).
 *
 * @example
 * finishedCells('runs/quickstart', gridCells(plan)).length; // 8 when the grid is done
 */
export function finishedCells(outDir: string, cells: readonly GridCell[]): GridCell[] {
  return cells.filter((c) => existsSync(join(outDir, c.dir, 'results.json')));
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
