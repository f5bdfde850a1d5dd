/**
 * The k-shot experiment grid: every task × k × seed in a fixed order, one run folder per cell
 * (`<out>/<task>/k<k>/seed<seed>/`), resumable (finished cells are skipped, a checkpointed cell continues from its
 * checkpoint), shardable across processes (`--shard i/n`, Slurm job arrays, Kubernetes indexed Jobs), with the frozen
 * model loaded once for all cells.
 *
 * Grid folder: `grid.json` (the resolved plan and its cells), `.lock` while an unsharded process runs it
 * (`.shards/<i>-of-<n>/.lock` for a shard), the cell folders, and the report files of `report.ts`.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DeptError, readJsonFile, sortKeysDeep, writeJsonAtomic } from '@dept/core';
import { initBackend } from '@dept/tensor';
import type { PretrainedT5 } from '@dept/t5';
import type { Bank } from '@dept/prompt';
import { getTask, loadDeptDataset, type KshotSampler } from '@dept/tasks';
import { acquireRunLock, checkpointPath, removeStaleTemporaries, withoutMemorySettings, type TrainConfig, type TrainEvent, type TrainResults } from '@dept/train';
import { ensureModel, runCell, type ModelSource } from './cell.ts';
import { resolveSourceBank, type SourceBankOptions } from './source.ts';

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

/** A shard: this process runs the cells with `index % count == index`. */
export interface Shard {
  index: number;
  count: number;
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
 * Parses `--shard i/n` (0 ≤ i < n).
 *
 * @example
 * parseShard('1/4'); // { index: 1, count: 4 }
 */
export function parseShard(text: string, flag = '--shard'): Shard {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  if (!m) throw new DeptError(`${flag} "${text}": expected i/n, e.g. 0/4 (shard i of n, counted from 0)`);
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 1) throw new DeptError(`${flag} "${text}": n must be at least 1`);
  if (index >= count) throw new DeptError(`${flag} "${text}": i must be below n (shards are numbered 0 … ${count - 1})`);
  return { index, count };
}

function envInt(env: Readonly<Record<string, string | undefined>>, name: string, min: number): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  if (!/^\s*-?\d+\s*$/.test(raw) || Number(raw) < min) throw new DeptError(`environment variable ${name} is "${raw}", expected an integer ≥ ${min}`);
  return Number(raw);
}

/**
 * The shard this process runs: `--shard i/n` when given; otherwise a Slurm job array (`SLURM_ARRAY_TASK_ID`,
 * counted from `SLURM_ARRAY_TASK_MIN` in steps of `SLURM_ARRAY_TASK_STEP`, out of `SLURM_ARRAY_TASK_COUNT` or
 * `--shards n`) or a Kubernetes indexed Job (`JOB_COMPLETION_INDEX` with `--shards n`); otherwise none (all cells).
 *
 * @example
 * resolveShard({ env: { SLURM_ARRAY_TASK_ID: '3', SLURM_ARRAY_TASK_COUNT: '4' } }); // { index: 3, count: 4 }
 * resolveShard({ shards: 8, env: { JOB_COMPLETION_INDEX: '5' } });               // { index: 5, count: 8 }
 */
export function resolveShard(options: { shard?: string; shards?: number; env?: Readonly<Record<string, string | undefined>> }): Shard | null {
  if (options.shard !== undefined) {
    const shard = parseShard(options.shard);
    if (options.shards !== undefined && options.shards !== shard.count) {
      throw new DeptError(`--shard ${options.shard} and --shards ${options.shards} disagree on the number of shards; give one of them`);
    }
    return shard;
  }
  const env = options.env ?? process.env;
  if (options.shards !== undefined && (!Number.isInteger(options.shards) || options.shards < 1)) {
    throw new DeptError(`--shards ${options.shards}: expected a positive integer`);
  }
  const slurmId = envInt(env, 'SLURM_ARRAY_TASK_ID', 0);
  const k8sIndex = envInt(env, 'JOB_COMPLETION_INDEX', 0);
  let index: number | undefined;
  let count: number | undefined = options.shards;
  let source = '';
  if (slurmId !== undefined) {
    const min = envInt(env, 'SLURM_ARRAY_TASK_MIN', 0) ?? 0;
    const step = envInt(env, 'SLURM_ARRAY_TASK_STEP', 1) ?? 1;
    if ((slurmId - min) % step !== 0 || slurmId < min) {
      throw new DeptError(`SLURM_ARRAY_TASK_ID ${slurmId} is not min ${min} plus a multiple of step ${step}; use --shard i/n`);
    }
    index = (slurmId - min) / step;
    count ??= envInt(env, 'SLURM_ARRAY_TASK_COUNT', 1);
    source = 'SLURM_ARRAY_TASK_ID';
    if (count === undefined) throw new DeptError('SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not; give --shards n (the array size) or --shard i/n');
  } else if (k8sIndex !== undefined) {
    index = k8sIndex;
    source = 'JOB_COMPLETION_INDEX';
    if (count === undefined) throw new DeptError('JOB_COMPLETION_INDEX is set (Kubernetes indexed Job): give --shards n (the Job\'s completions) or --shard i/n');
  } else if (options.shards !== undefined) {
    throw new DeptError(`--shards ${options.shards} needs the shard index from SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX; neither is set (use --shard i/n)`);
  }
  if (index === undefined || count === undefined) return null;
  if (index >= count) throw new DeptError(`${source} gives shard ${index} but there are only ${count} shards (0 … ${count - 1})`);
  return { index, count };
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

/** The PID holding `<dir>/.lock` when that process is alive (and is not this one), else null. */
function liveLockHolder(dir: string): number | null {
  let pid: unknown;
  try {
    pid = (JSON.parse(readFileSync(join(dir, '.lock'), 'utf8')) as { pid?: unknown }).pid;
  } catch {
    return null;
  }
  if (typeof pid !== 'number' || pid === process.pid) return null;
  try {
    process.kill(pid, 0);
    return pid;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM' ? pid : null;
  }
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

  // One process per grid folder (or per shard of it); cells have their own locks as well.
  if (shard) {
    const holder = liveLockHolder(outDir);
    if (holder !== null) throw new DeptError(`${outDir}: an unsharded run of this grid is in progress (process ${holder}); wait for it or stop it before running shards`);
  } else if (existsSync(join(outDir, '.shards'))) {
    for (const name of readdirSync(join(outDir, '.shards'))) {
      const holder = liveLockHolder(join(outDir, '.shards', name));
      if (holder !== null) throw new DeptError(`${outDir}: shard ${name} of this grid is running (process ${holder}); run the other shards with --shard, or wait`);
    }
  }
  const release = acquireRunLock(shard ? join(outDir, '.shards', `${shard.index}-of-${shard.count}`) : outDir);
  removeStaleTemporaries(outDir); // half-written files of killed processes (a live writer's are kept)
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
