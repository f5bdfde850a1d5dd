/**
 * Hyper-parameter search inside the grid, as DePT's authors ran it (loops over `lr` × `lora_lr`, picked by dev
 * score): every (task, k, seed) cell runs each combination of a search space as a sub-run in
 * `<cell>/<setting id>/` (ids in the style of DePT's run names, `lr3e-1_loralr5e-3`), and keeps the one whose
 * best-on-dev checkpoint has the highest dev score by the task's selection metric (ties: the first in recipe order).
 * Test metrics never take part in the choice. The cell's `results.json` is a copy of the selected sub-run's, with a
 * `search` block naming it and every setting's dev score.
 *
 * Searching `num_virtual_tokens` without `r` keeps the trainable parameter count on the budget of the recipe's own
 * `train` block: `m·d + r·(s + d)` with its m, r and s (DePT's 100·d for m 60, r 30), r rounded down
 * (`rankForBudget` of @dept/prompt).
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { DeptError, readJsonFile, writeJsonAtomic } from '@dept/core';
import { promptParameterCount, rankForBudget } from '@dept/prompt/budget';
import { selectionMetric } from '@dept/tasks';
import { DEFAULT_TRAIN_CONFIG, resolveTrainConfig, type TrainConfig } from '@dept/train/config';
import type { TrainResults } from '@dept/train';

/** One value a searched field takes. */
export type SearchValue = number | string | boolean;

/** A search space: `train` field → the values it takes, in recipe order (the first key varies slowest). */
export type SearchSpace = Readonly<Record<string, readonly SearchValue[]>>;

/** One combination of a search space: its folder name and the `train` values it sets. */
export interface SearchSetting {
  /** The sub-run's folder name in its cell, e.g. `lr3e-1_loralr5e-3`. */
  id: string;
  values: Record<string, SearchValue>;
}

/** `train` fields a search may not vary: the cell's seed, and those that only bound memory. */
const NOT_SEARCHABLE: Record<string, string> = {
  seed: 'the cell\'s seed (set by "seeds")',
  micro_batch_size: 'a memory setting (it may change when a run resumes)',
  eval_batch_size: 'a memory setting (it may change when a run resumes)',
};

/** Short names in setting ids, as in DePT's run names (`lr…_loralr…_pl…_r…_st…`); other fields drop their `_`. */
const ID_NAMES: Record<string, string> = { lr: 'lr', lora_lr: 'loralr', num_virtual_tokens: 'pl', r: 'r', max_steps: 'st' };

/** Fields in the order of an id: DePT's run-name order, then the training config's. */
const ID_ORDER = [...Object.keys(ID_NAMES), ...Object.keys(DEFAULT_TRAIN_CONFIG).filter((k) => !(k in ID_NAMES))];

function formatValue(value: SearchValue): string {
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : value.toExponential().replace('e+', 'e');
  return String(value).replace(/[^A-Za-z0-9.-]+/g, '-');
}

/**
 * The folder name of a setting: its fields in DePT's run-name order (`lr`, `loralr`, `pl`, `r`, `st`, then the rest),
 * numbers that are not integers as DePT writes them (`3e-1`, `5e-3`).
 *
 * @example
 * settingId({ lora_lr: 0.005, lr: 0.3 });             // 'lr3e-1_loralr5e-3'
 * settingId({ num_virtual_tokens: 40, max_steps: 500 }); // 'pl40_st500'
 */
export function settingId(values: Readonly<Record<string, SearchValue>>): string {
  return Object.keys(values)
    .sort((a, b) => ID_ORDER.indexOf(a) - ID_ORDER.indexOf(b))
    .map((key) => `${ID_NAMES[key] ?? key.replace(/_/g, '')}${formatValue(values[key] as SearchValue)}`)
    .join('_');
}

/**
 * The settings of a search space, every combination in recipe order (the first field varies slowest, as the
 * outer loop of DePT's scripts). Refuses unknown or unsearchable fields, empty or repeated values, and values whose
 * type differs from the field's.
 *
 * @example
 * searchSettings({ lr: [0.3, 0.4], lora_lr: [5e-3, 5e-4] }).map((s) => s.id);
 * // ['lr3e-1_loralr5e-3', 'lr3e-1_loralr5e-4', 'lr4e-1_loralr5e-3', 'lr4e-1_loralr5e-4']
 */
export function searchSettings(space: SearchSpace): SearchSetting[] {
  const fields = Object.keys(space);
  if (fields.length === 0) throw new DeptError('search: no field to search; expected e.g. {lr: [0.3, 0.4], lora_lr: [5e-3, 5e-4]}');
  const defaults = DEFAULT_TRAIN_CONFIG as unknown as Record<string, unknown>;
  for (const field of fields) {
    if (field in NOT_SEARCHABLE) throw new DeptError(`search: "${field}" cannot be searched: ${NOT_SEARCHABLE[field]}`);
    if (!(field in defaults)) {
      const allowed = Object.keys(defaults).filter((k) => !(k in NOT_SEARCHABLE));
      throw new DeptError(`search: unknown field "${field}"; a search runs over train fields: ${allowed.join(', ')}`);
    }
    const values = space[field] as readonly SearchValue[];
    if (!Array.isArray(values) || values.length === 0) throw new DeptError(`search.${field}: expected a list of at least one value`);
    for (const v of values) {
      if (typeof v !== typeof defaults[field]) throw new DeptError(`search.${field}: ${JSON.stringify(v)} is not a ${typeof defaults[field]}`);
    }
    const dup = values.find((v, i) => values.indexOf(v) !== i);
    if (dup !== undefined) throw new DeptError(`search.${field}: lists ${JSON.stringify(dup)} twice`);
  }
  let combos: Record<string, SearchValue>[] = [{}];
  for (const field of fields) {
    combos = combos.flatMap((c) => (space[field] as readonly SearchValue[]).map((v) => ({ ...c, [field]: v })));
  }
  const settings = combos.map((values) => ({ id: settingId(values), values }));
  const seen = new Map<string, SearchSetting>();
  for (const s of settings) {
    const other = seen.get(s.id);
    if (other) throw new DeptError(`search: the settings ${JSON.stringify(other.values)} and ${JSON.stringify(s.values)} get the same folder name "${s.id}"; give values that differ in their letters and digits`);
    seen.set(s.id, s);
  }
  return settings;
}

/** Whether a search derives `r` from the parameter budget: it searches `num_virtual_tokens` and not `r`. */
export function derivesRank(space: SearchSpace): boolean {
  return 'num_virtual_tokens' in space && !('r' in space);
}

/** The training config of a sub-run, and how its rank was derived from the budget (null when it was not). */
export interface SubRunTrain {
  train: Partial<TrainConfig>;
  budget: { parameters: number; r: number; exact: boolean; of: { num_virtual_tokens: number; r: number; max_length: number } } | null;
}

/**
 * The `train` block of a sub-run: the grid's, with the setting's values; when the search varies
 * `num_virtual_tokens` but not `r`, r is the largest rank that keeps `m·d + r·(s + d)` within the budget of the
 * grid's own m, r and s. Checked with `resolveTrainConfig` (so a bad combination is refused before any training).
 *
 * @example
 * subRunTrain({ num_virtual_tokens: 60, r: 30, max_length: 256 }, { id: 'pl40', values: { num_virtual_tokens: 40 } }, { num_virtual_tokens: [40, 60] }, 768).train.r; // 45
 */
export function subRunTrain(base: Partial<TrainConfig>, setting: SearchSetting, space: SearchSpace, d: number): SubRunTrain {
  const train: Partial<TrainConfig> = { ...base, ...(setting.values as Partial<TrainConfig>) };
  let budget: SubRunTrain['budget'] = null;
  if (derivesRank(space)) {
    const of = resolveTrainConfig(base, 'train');
    const m = train.num_virtual_tokens as number;
    const s = train.max_length ?? of.max_length;
    const parameters = promptParameterCount({ m: of.num_virtual_tokens, r: of.r, s: of.max_length, d });
    let fit: { r: number; exact: boolean };
    try {
      fit = rankForBudget({ budget: parameters, m, s, d });
    } catch (error) {
      throw new DeptError(`search ${setting.id}: ${error instanceof Error ? error.message : String(error)} (train m ${of.num_virtual_tokens}, r ${of.r}, s ${of.max_length}, d ${d}); search r too, or lower num_virtual_tokens`);
    }
    train.r = fit.r;
    budget = { parameters, r: fit.r, exact: fit.exact, of: { num_virtual_tokens: of.num_virtual_tokens, r: of.r, max_length: of.max_length } };
  }
  resolveTrainConfig(train, `search ${setting.id}`);
  return { train, budget };
}

/**
 * Whether a search space holds every setting of another (same fields, each with at least the other's values),
 * or the one line saying why not (null when it does).
 *
 * @example
 * searchGrowthProblem({ lr: [0.3] }, { lr: [0.3, 0.4] }); // null
 * searchGrowthProblem({ lr: [0.3, 0.4] }, { lr: [0.3] }); // 'it drops lr 0.4'
 */
export function searchGrowthProblem(before: SearchSpace, after: SearchSpace): string | null {
  for (const field of Object.keys(after)) {
    if (!(field in before)) return `it adds the searched field "${field}" (sub-run folders are named by the searched fields)`;
  }
  for (const field of Object.keys(before)) {
    if (!(field in after)) return `it no longer searches "${field}"`;
    const dropped = (before[field] as readonly SearchValue[]).filter((v) => !(after[field] as readonly SearchValue[]).includes(v));
    if (dropped.length > 0) return `it drops ${field} ${dropped.map((v) => JSON.stringify(v)).join(', ')}`;
  }
  return null;
}

/** The `search` block of a searched cell's `results.json`. */
export interface CellSelection {
  /** The id (and folder name) of the selected sub-run. */
  selected: string;
  /** The dev metric compared (the task's selection metric). */
  metric: string;
  rule: string;
  /** Every setting in recipe order with its sub-run's dev score (null when the metric was not a finite number). */
  settings: { id: string; values: Record<string, SearchValue>; dev: number | null }[];
}

/** A searched cell's `results.json`: the selected sub-run's results and the selection. */
export type SelectedCellResults = TrainResults & { search: CellSelection };

const RULE = 'highest dev score of each sub-run\'s best-on-dev checkpoint by the task\'s selection metric; ties: the first in recipe order; test metrics take no part';

function readSubRun(path: string): TrainResults {
  const results = readJsonFile<TrainResults>(path, 'the results of a sub-run');
  if (typeof results !== 'object' || results === null || typeof results.dev !== 'object' || results.dev === null) {
    throw new DeptError(`${path}: no "dev" metrics (expected the results.json of a finished run)`);
  }
  return results;
}

/**
 * The selection of a cell from its sub-runs' own `results.json` (each one's dev score is that of its best-on-dev
 * checkpoint, as the trainer selected it), or null while any sub-run is unfinished.
 *
 * @example
 * const chosen = selectSetting('runs/fs/rte/k16/seed13', searchSettings({ lr: [0.3, 0.4] }), 'accuracy');
 * chosen?.results.test; // the selected sub-run's test metrics
 */
export function selectSetting(cellDir: string, settings: readonly SearchSetting[], metric: string): SelectedCellResults | null {
  const runs: { setting: SearchSetting; results: TrainResults; dev: number | null }[] = [];
  for (const setting of settings) {
    const path = join(cellDir, setting.id, 'results.json');
    if (!existsSync(path)) return null;
    const results = readSubRun(path);
    if (!(metric in results.dev)) {
      throw new DeptError(`${path}: no dev "${metric}" (the selection metric; it has ${Object.keys(results.dev).join(', ') || 'none'})`);
    }
    const value = results.dev[metric];
    runs.push({ setting, results, dev: typeof value === 'number' && Number.isFinite(value) ? value : null });
  }
  if (runs.length === 0) throw new DeptError(`${cellDir}: a search with no settings`);
  let best = runs[0] as (typeof runs)[number];
  for (const run of runs) {
    if (run.dev !== null && (best.dev === null || run.dev > best.dev)) best = run;
  }
  return {
    ...best.results,
    search: {
      selected: best.setting.id,
      metric,
      rule: RULE,
      settings: runs.map((r) => ({ id: r.setting.id, values: r.setting.values, dev: r.dev })),
    },
  };
}

function holdsSelection(path: string): boolean {
  const value = readJsonFile<{ search?: unknown }>(path, 'the results of a cell');
  return typeof value === 'object' && value !== null && typeof value.search === 'object' && value.search !== null;
}

/**
 * Writes a cell's selection as `<cell>/results.json` (atomically), unless the file already says the same; returns
 * whether it wrote. Several processes may find a cell complete at once: they all write the same bytes. Refuses to
 * replace a `results.json` that is not a selection (a run's own results: the cell folder is then not a search's).
 *
 * @example
 * const chosen = selectSetting(cellDir, settings, 'accuracy');
 * if (chosen) writeSelection(cellDir, chosen);
 */
export function writeSelection(cellDir: string, selection: SelectedCellResults): boolean {
  const path = join(cellDir, 'results.json');
  const text = `${JSON.stringify(selection, null, 2)}\n`;
  if (existsSync(path)) {
    if (!holdsSelection(path)) throw new DeptError(`${path}: holds the results of a run, not the selection of a search; dept leaves it alone (use another --out)`);
    if (readFileSync(path, 'utf8') === text) return false;
  }
  writeJsonAtomic(path, selection);
  return true;
}

/**
 * Removes a cell's selection (a sub-run of it is being run again from scratch); a `results.json` that is not a
 * selection is left alone.
 *
 * @example
 * clearSelection('runs/fs/rte/k16/seed13');
 */
export function clearSelection(cellDir: string): void {
  const path = join(cellDir, 'results.json');
  if (existsSync(path) && holdsSelection(path)) rmSync(path);
}

/**
 * Selects a searched cell when all its sub-runs are finished (by the task's selection metric in `flavour`) and
 * writes the selection unless it is already there: `chosen` is null while a sub-run is unfinished, `wrote` says
 * whether the file was (re)written.
 *
 * @example
 * const { chosen, wrote } = selectCell('runs/fs', { task: 'rte', dir: 'rte/k16/seed13' }, settings, 'dept');
 */
export function selectCell(
  outDir: string, cell: { task: string; dir: string }, settings: readonly SearchSetting[], flavour: 'dept' | 'official',
): { chosen: SelectedCellResults | null; wrote: boolean } {
  const cellDir = join(outDir, cell.dir);
  const chosen = selectSetting(cellDir, settings, selectionMetric(cell.task, flavour));
  return { chosen, wrote: chosen ? writeSelection(cellDir, chosen) : false };
}
