/**
 * Aggregation and reports of a grid folder: every finished cell (`<task>/k<k>/seed<s>/results.json`) into an
 * arquero table, mean ± sample standard deviation (n − 1) over seeds per task × k × metric, and the files
 * `results.json`, `results.csv`, `report.md`, `report.svg` and `report.png` (written atomically).
 *
 * A grid with a search (`search.ts`) reports each cell's selected sub-run (chosen from the sub-runs' own files, so a
 * selection made before the search grew is never shown), and beside it every setting: mean ± std of its dev score
 * (the selection metric) and test headline metric, and how often it won (`search.csv`, `search.svg`, `search.png`).
 *
 * Numbers are the cells' test metrics as the trainer wrote them (×100). The headline metric of a task is the one
 * DePT's tables report (DEPT.md §3.1–3.2): Pearson for STS-B, Matthews correlation for CoLA, F1 for MultiRC
 * (F1a in the official flavour), ReCoRD and the MRQA tasks, accuracy for everything else (MRPC, QQP and CB included).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as aq from 'arquero';
import type { ColumnTable } from 'arquero';
import * as vl from 'vega-lite';
import * as vega from 'vega';
import { Resvg } from '@resvg/resvg-js';
import { DeptError, isDir, readJsonFile, writeFileAtomic, writeJsonAtomic } from '@dept/core';
import { computeMetrics, getTask, labelsList, metricSpecFor, selectionMetric, type DataOrigin } from '@dept/tasks';
import type { TrainResults } from '@dept/train';
import { REPORT_FILES, claimGridFolder, gridSearchSettings, readGridFile, type GridFile } from './grid-folder.ts';
import { selectCell, selectSetting, type SearchSetting } from './search.ts';

/** One finished cell, as `results.json` lists it. */
export interface CellResult {
  task: string;
  k: number;
  seed: number;
  /** Test metrics (×100). */
  metrics: Record<string, number>;
  selected_step: number;
  wall_seconds: number;
  /** Whether the cell ran on a model with random weights: then its numbers are not results. */
  random_weights: boolean;
  /** The data folder (relative to the data folder), layout and LM-BFF subset the cell read, when its results say. */
  data?: DataOrigin;
  /** With a search: the id of the sub-run selected on dev. */
  setting?: string;
}

/** One finished sub-run of a searched grid. */
export interface SearchRunRow {
  task: string;
  k: number;
  seed: number;
  setting: string;
  /** The dev score compared (the task's selection metric of the sub-run's best-on-dev checkpoint); null when not finite. */
  dev: number | null;
  /** True when the cell is complete and this sub-run was selected, false when another was, null while the cell is incomplete. */
  selected: boolean | null;
  /** Test metrics (×100). */
  metrics: Record<string, number>;
  selected_step: number;
  wall_seconds: number;
  backend: string;
  random_weights: boolean;
  data?: DataOrigin;
}

/** One setting of a search over the seeds of one task × k. */
export interface SettingSummaryRow {
  task: string;
  k: number;
  setting: string;
  /** Mean ± sample std of the dev score (selection metric) over the finished sub-runs; null when none. */
  dev: { metric: string; mean: number; std: number | null; n: number } | null;
  /** Mean ± sample std of the test headline metric over the finished sub-runs; null when none. */
  test: { metric: string; mean: number; std: number | null; n: number } | null;
  /** Complete cells of this task × k in which this setting was selected. */
  won: number;
  /** Complete cells of this task × k. */
  cells: number;
}

/** The search part of a report. */
export interface SearchReport {
  /** The searched `train` fields, in recipe order. */
  fields: string[];
  settings: SearchSetting[];
  /** Whether `r` came from the parameter budget (num_virtual_tokens searched without r). */
  r_from_budget: boolean;
  /** The dev metric each task's selection compared. */
  selection_metric: Record<string, string>;
  per_setting: SettingSummaryRow[];
  /** Every finished sub-run. */
  runs: SearchRunRow[];
  /** Sub-runs listed by `grid.json` (cells × settings). */
  expected_runs: number;
}

/** Mean ± sample standard deviation over the seeds of one task × k × metric. */
export interface SummaryRow {
  task: string;
  k: number;
  metric: string;
  mean: number;
  /** Sample standard deviation (n − 1); null when n = 1. */
  std: number | null;
  n: number;
}

/**
 * The majority-class baseline of a task: its most frequent test label (ties: the first in label order) predicted for
 * every test row, scored by the task's headline metric as DePT's metric scores it: accuracy is that label's share;
 * Matthews correlation (CoLA) is 0; macro-F1 (CB) is that label's F1 over the number of classes; MRPC/QQP's F1 (the
 * positive class "1") is 0 when "0" is the majority.
 */
export interface MajorityBaseline {
  label: string;
  metric: string;
  /** The score (×100). */
  value: number;
  /** Test rows counted (from a cell's `predictions.jsonl`). */
  test_examples: number;
}

/** The content of a grid folder's `results.json`. */
export interface GridReport {
  name: string | null;
  cells: CellResult[];
  summary: SummaryRow[];
  /** The headline metric of each task (the report's main table). */
  headline: Record<string, string>;
  /** The majority-class baseline of each classification task whose cells kept their test predictions. */
  majority: Record<string, MajorityBaseline>;
  /** The model folder(s) the cells used, comma-separated when several. */
  model: string;
  /** The tensor backend(s) the cells ran on, comma-separated when several. */
  backend: string;
  /** True when any cell used a model with random weights: then the numbers are not results. */
  random_weights: boolean;
  /** How `std` is computed. */
  std: 'sample standard deviation (n - 1) over seeds';
  /** Cells listed in `grid.json` (null without one), to show an unfinished grid. */
  expected_cells: number | null;
  /** With a search: every setting and sub-run (absent without one). */
  search?: SearchReport;
}

/** Paths of the report files. */
export interface ReportPaths {
  json: string;
  csv: string;
  markdown: string;
  svg: string;
  png: string;
  /** With a search: one row per finished sub-run, and the chart of dev score per setting. */
  search_csv?: string;
  search_svg?: string;
  search_png?: string;
}

/** What {@link writeReport} wrote. */
export interface WrittenReport {
  report: GridReport;
  /** The whole `report.md`. */
  markdown: string;
  /** Its main table alone (title line, table, note). */
  table: string;
  paths: ReportPaths;
}

const STD_NOTE = 'sample standard deviation (n - 1) over seeds' as const;

/** What the majority-class column and the chart's dashed line are. */
const MAJORITY_NOTE = 'Majority class: the most frequent test label predicted for every test row, scored by the task\'s metric as DePT scores it (accuracy: that label\'s share; Matthews correlation: 0; F1 of the positive class: 0 when the majority is the negative one); the test labels come from a cell\'s predictions.jsonl.';

/**
 * Every finished cell under a grid folder as an arquero table, one row per cell, ordered by task (grid order when
 * `grid.json` is there, else by name), k and seed. Columns: `task`, `k`, `seed`, `selected_step`,
 * `selection_metric`, `wall_seconds`, `backend`, `random_weights`, `model`, `flavour`, `data` (folder and layout, or
 * null), `run_folder` (the run folder the row is from), `metrics` (an object of test metrics).
 *
 * @example
 * const table = collectResults('runs/quickstart');
 * table.numRows(); // 8
 * table.objects()[0].metrics; // { f1_multiclass: 31.2, accuracy: 46.7 }
 */
export function collectResults(runDir: string): ColumnTable {
  if (!isDir(runDir)) throw new DeptError(`${runDir}: not a folder (expected a grid folder holding <task>/k<k>/seed<seed>/results.json)`);
  const grid = readGridFile(runDir);
  const settings = gridSearchSettings(grid);
  const taskOrder = new Map<string, number>();
  for (const c of grid?.cells ?? []) if (!taskOrder.has(c.task)) taskOrder.set(c.task, taskOrder.size);
  const rows = grid && settings ? selectedCellRows(runDir, grid, settings) : cellRows(runDir);
  const rank = (task: string) => taskOrder.get(task) ?? Number.MAX_SAFE_INTEGER;
  rows.sort((a, b) => rank(a.task as string) - rank(b.task as string)
    || (a.task as string).localeCompare(b.task as string)
    || (a.k as number) - (b.k as number)
    || (a.seed as number) - (b.seed as number));
  if (rows.length === 0) {
    return aq.table({ task: [], k: [], seed: [], selected_step: [], selection_metric: [], wall_seconds: [], backend: [], random_weights: [], model: [], flavour: [], data: [], run_folder: [], metrics: [] });
  }
  return aq.from(rows);
}

/** A run's `results.json`, refused in one line when it holds no test metrics. */
function readRunResults(path: string): TrainResults {
  const results = readJsonFile<TrainResults>(path, 'the results of a cell');
  if (typeof results !== 'object' || results === null || typeof results.test !== 'object' || results.test === null) {
    throw new DeptError(`${path}: no "test" metrics (expected the results.json of a finished run)`);
  }
  return results;
}

/** One row of {@link collectResults}: a cell's results, with the model and flavour from its run folder's resolved config. */
function cellRow(cell: { task: string; k: number; seed: number }, runFolder: string, results: TrainResults): Record<string, unknown> {
  const resolvedPath = join(runFolder, 'config.resolved.json');
  const resolved = existsSync(resolvedPath) ? readJsonFile<Record<string, unknown>>(resolvedPath, 'the resolved config') : {};
  return {
    task: cell.task,
    k: cell.k,
    seed: cell.seed,
    selected_step: results.selected_step,
    selection_metric: results.selection_metric,
    wall_seconds: results.wall_seconds,
    backend: results.backend,
    random_weights: Boolean(results.random_weights),
    model: typeof resolved.model === 'string' ? resolved.model : null,
    flavour: resolved.flavour === 'official' ? 'official' : 'dept',
    data: dataOf(results),
    run_folder: runFolder,
    metrics: { ...results.test },
  };
}

/** A run's recorded data folder and layout (results written before they were recorded have none). */
function dataOf(results: TrainResults): DataOrigin | null {
  const d = results.data as Partial<DataOrigin> | undefined;
  return d && typeof d.folder === 'string' && typeof d.layout === 'string' ? { folder: d.folder, layout: d.layout, subset: typeof d.subset === 'string' ? d.subset : null } : null;
}

/** The finished cells of a grid folder without a search: every `<task>/k<k>/seed<s>/results.json` under it. */
function cellRows(runDir: string): Record<string, unknown>[] {
  const rows: Record<string, unknown>[] = [];
  for (const task of readdirSync(runDir).sort()) {
    if (task.startsWith('.') || !isDir(join(runDir, task))) continue;
    for (const kDir of readdirSync(join(runDir, task))) {
      const km = /^k(\d+)$/.exec(kDir);
      if (!km || !isDir(join(runDir, task, kDir))) continue;
      for (const seedDir of readdirSync(join(runDir, task, kDir))) {
        const sm = /^seed(\d+)$/.exec(seedDir);
        const dir = join(runDir, task, kDir, seedDir);
        if (!sm || !existsSync(join(dir, 'results.json'))) continue;
        rows.push(cellRow({ task, k: Number(km[1]), seed: Number(sm[1]) }, dir, readRunResults(join(dir, 'results.json'))));
      }
    }
  }
  return rows;
}

function gridFlavour(grid: GridFile): 'dept' | 'official' {
  return grid.settings.flavour === 'official' ? 'official' : 'dept';
}

/** The complete cells of a searched grid, each as its selected sub-run (chosen here from the sub-runs' own files). */
function selectedCellRows(runDir: string, grid: GridFile, settings: readonly SearchSetting[]): Record<string, unknown>[] {
  const rows: Record<string, unknown>[] = [];
  for (const cell of grid.cells) {
    const chosen = selectSetting(join(runDir, cell.dir), settings, selectionMetric(cell.task, gridFlavour(grid)));
    if (!chosen) continue;
    rows.push({ ...cellRow(cell, join(runDir, cell.dir, chosen.search.selected), chosen), setting: chosen.search.selected });
  }
  return rows;
}

/**
 * Every finished sub-run of a searched grid folder, in grid order, with its dev score (the task's selection
 * metric) and whether its cell selected it; empty for a grid without a search.
 *
 * @example
 * collectSearchRuns('runs/fs').filter((r) => r.selected).length; // the complete cells
 */
export function collectSearchRuns(runDir: string): SearchRunRow[] {
  const grid = readGridFile(runDir);
  const settings = gridSearchSettings(grid);
  if (!grid || !settings) return [];
  const rows: SearchRunRow[] = [];
  for (const cell of grid.cells) {
    const metric = selectionMetric(cell.task, gridFlavour(grid));
    const chosen = selectSetting(join(runDir, cell.dir), settings, metric);
    for (const setting of settings) {
      const path = join(runDir, cell.dir, setting.id, 'results.json');
      if (!existsSync(path)) continue;
      const results = readRunResults(path);
      const dev = results.dev?.[metric];
      rows.push({
        task: cell.task, k: cell.k, seed: cell.seed, setting: setting.id,
        dev: typeof dev === 'number' && Number.isFinite(dev) ? dev : null,
        selected: chosen ? chosen.search.selected === setting.id : null,
        metrics: { ...results.test }, selected_step: results.selected_step, wall_seconds: results.wall_seconds,
        backend: results.backend, random_weights: Boolean(results.random_weights),
        ...(dataOf(results) ? { data: dataOf(results) as DataOrigin } : {}),
      });
    }
  }
  return rows;
}

function meanStd(values: readonly number[]): { mean: number; std: number | null; n: number } {
  const n = values.length;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const std = n >= 2 ? Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : null;
  return { mean, std, n };
}

/**
 * Per task × k × setting: mean ± sample std (n − 1) over seeds of the dev score and of the test headline metric,
 * and in how many complete cells the setting won; in the order of the runs' tasks, then k, then the settings.
 *
 * @example
 * summarizeSearch(collectSearchRuns('runs/fs'), settings, { rte: 'accuracy' }, { rte: 'accuracy' });
 */
export function summarizeSearch(
  runs: readonly SearchRunRow[], settings: readonly SearchSetting[], headline: Readonly<Record<string, string>>, selection: Readonly<Record<string, string>>,
): SettingSummaryRow[] {
  const out: SettingSummaryRow[] = [];
  const tasks = [...new Set(runs.map((r) => r.task))];
  for (const task of tasks) {
    const ks = [...new Set(runs.filter((r) => r.task === task).map((r) => r.k))].sort((a, b) => a - b);
    for (const k of ks) {
      const here = runs.filter((r) => r.task === task && r.k === k);
      const cells = new Set(here.filter((r) => r.selected !== null).map((r) => r.seed)).size;
      for (const setting of settings) {
        const group = here.filter((r) => r.setting === setting.id);
        const dev = group.map((r) => r.dev).filter((v): v is number => v !== null);
        const metric = headline[task];
        const test = metric === undefined ? [] : group.map((r) => r.metrics[metric]).filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
        out.push({
          task, k, setting: setting.id,
          dev: dev.length ? { metric: selection[task] as string, ...meanStd(dev) } : null,
          test: test.length && metric !== undefined ? { metric, ...meanStd(test) } : null,
          won: group.filter((r) => r.selected === true).length,
          cells,
        });
      }
    }
  }
  return out;
}

/**
 * The headline metric of a task among the metrics its cells have (see the file header).
 *
 * @example
 * headlineMetric('stsb', ['pearson', 'spearmanr']);            // 'pearson'
 * headlineMetric('superglue-cb', ['f1_multiclass', 'accuracy']); // 'accuracy'
 */
export function headlineMetric(task: string, available: readonly string[]): string {
  let preferred: string[] = ['accuracy'];
  try {
    const kind = metricSpecFor(task).kind;
    if (kind === 'regression') preferred = ['pearson'];
    else if (kind === 'matthews') preferred = ['matthews_correlation'];
    else if (kind === 'multirc') preferred = ['f1', 'f1_a'];
    else if (kind === 'squad' || kind === 'record') preferred = ['f1'];
  } catch {
    // a task the registry does not know: accuracy if there, else its first metric
  }
  const found = preferred.find((m) => available.includes(m)) ?? (available.includes('accuracy') ? 'accuracy' : available[0]);
  if (found === undefined) throw new DeptError(`task ${task}: its cells have no test metrics`);
  return found;
}

/**
 * Mean ± sample standard deviation (n − 1) over seeds per task × k × metric (arquero group-by/rollup), in the
 * cells' order of tasks and k and each task's order of metrics.
 *
 * @example
 * summarizeResults(collectResults('runs/quickstart'))[0];
 * // { task: 'superglue-cb', k: 4, metric: 'f1_multiclass', mean: 30.5, std: 4.1, n: 2 }
 */
export function summarizeResults(cells: ColumnTable): SummaryRow[] {
  const rows = cells.objects() as { task: string; k: number; seed: number; metrics: Record<string, number> }[];
  const long = rows.flatMap((r) => Object.entries(r.metrics).map(([metric, value]) => ({ task: r.task, k: r.k, metric, value })));
  if (long.length === 0) return [];
  const taskRank = new Map<string, number>();
  const metricRank = new Map<string, number>();
  for (const r of long) {
    if (!taskRank.has(r.task)) taskRank.set(r.task, taskRank.size);
    if (!metricRank.has(`${r.task}\u0000${r.metric}`)) metricRank.set(`${r.task}\u0000${r.metric}`, metricRank.size);
  }
  const grouped = aq.from(long)
    .groupby('task', 'k', 'metric')
    .rollup({ mean: aq.op.mean('value'), std: aq.op.stdev('value'), n: aq.op.count() })
    .objects() as { task: string; k: number; metric: string; mean: number; std: number | undefined | null; n: number }[];
  return grouped
    .map((g) => ({ task: g.task, k: g.k, metric: g.metric, mean: g.mean, std: g.n >= 2 && typeof g.std === 'number' && Number.isFinite(g.std) ? g.std : null, n: g.n }))
    .sort((a, b) => (taskRank.get(a.task) as number) - (taskRank.get(b.task) as number)
      || a.k - b.k
      || (metricRank.get(`${a.task}\u0000${a.metric}`) as number) - (metricRank.get(`${b.task}\u0000${b.metric}`) as number));
}

function distinct(values: readonly unknown[]): string {
  return [...new Set(values.filter((v) => typeof v === 'string' && v !== ''))].join(', ');
}

/**
 * Everything the report files show, from a grid folder.
 *
 * @example
 * const report = buildReport('runs/quickstart');
 * report.random_weights; // true
 */
export function buildReport(runDir: string): GridReport {
  const table = collectResults(runDir);
  const rows = table.objects() as (Omit<CellResult, 'data'> & { backend: string; model: string | null; flavour: string; data: DataOrigin | null; run_folder: string })[];
  const grid = readGridFile(runDir);
  const settings = gridSearchSettings(grid);
  const runs = settings ? collectSearchRuns(runDir) : [];
  if (rows.length === 0 && runs.length === 0) {
    throw new DeptError(`${runDir}: no finished cells to report (expected <task>/k<k>/seed<seed>/results.json under it${settings ? ', or a finished sub-run <task>/k<k>/seed<seed>/<setting>/results.json' : ''})`);
  }
  const summary = summarizeResults(table);
  const headline: Record<string, string> = {};
  const metricsOf = [...rows, ...runs];
  for (const task of [...new Set(metricsOf.map((r) => r.task))]) {
    const available = [...new Set(metricsOf.filter((r) => r.task === task).flatMap((r) => Object.keys(r.metrics)))];
    const official = grid ? gridFlavour(grid) === 'official' : rows.some((r) => r.task === task && r.flavour === 'official');
    headline[task] = official && available.includes('f1_a') && !available.includes('f1') ? 'f1_a' : headlineMetric(task, available);
  }
  const majority: Record<string, MajorityBaseline> = {};
  for (const [task, metric] of Object.entries(headline)) {
    const first = rows.find((r) => r.task === task && existsSync(join(r.run_folder, 'predictions.jsonl')));
    const targets = first ? testTargets(join(first.run_folder, 'predictions.jsonl')) : null;
    const baseline = first && targets ? majorityBaseline(task, targets, metric, first.flavour === 'official' ? 'official' : 'dept') : null;
    if (baseline) majority[task] = baseline;
  }
  let search: SearchReport | undefined;
  if (grid && settings) {
    const selection = Object.fromEntries(Object.keys(headline).map((task) => [task, selectionMetric(task, gridFlavour(grid))]));
    search = {
      fields: [...new Set(settings.flatMap((s) => Object.keys(s.values)))],
      settings,
      r_from_budget: Boolean(grid.search?.r_from_budget),
      selection_metric: selection,
      per_setting: summarizeSearch(runs, settings, headline, selection),
      runs,
      expected_runs: grid.cells.length * settings.length,
    };
  }
  return {
    name: grid?.name ?? null,
    cells: rows.map((r) => ({
      task: r.task, k: r.k, seed: r.seed, metrics: r.metrics, selected_step: r.selected_step, wall_seconds: r.wall_seconds,
      random_weights: r.random_weights, ...(r.data ? { data: r.data } : {}),
      ...(r.setting !== undefined ? { setting: r.setting } : {}),
    })),
    summary,
    headline,
    majority,
    model: distinct(rows.map((r) => r.model)) || (typeof grid?.settings.model === 'string' ? grid.settings.model : ''),
    backend: distinct([...rows, ...runs].map((r) => r.backend)),
    random_weights: rows.some((r) => r.random_weights) || runs.some((r) => r.random_weights),
    std: STD_NOTE,
    expected_cells: grid ? grid.cells.length : null,
    ...(search ? { search } : {}),
  };
}

/** The `target` of every line of a run's `predictions.jsonl`, or null when a line is not one. */
function testTargets(path: string): string[] | null {
  const targets: string[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      const target = (JSON.parse(line) as { target?: unknown }).target;
      if (typeof target !== 'string') return null;
      targets.push(target);
    } catch {
      return null;
    }
  }
  return targets.length > 0 ? targets : null;
}

/**
 * The majority-class baseline of a classification task (see {@link MajorityBaseline}) from its test targets; null for
 * tasks without classes (STS-B, ReCoRD, QA) and when the metric needs more than targets (official MultiRC EM).
 *
 * @example
 * majorityBaseline('rte', ['0', '1', '1'], 'accuracy'); // { label: '1', metric: 'accuracy', value: 66.67, test_examples: 3 }
 */
export function majorityBaseline(task: string, targets: readonly string[], metric: string, flavour: 'dept' | 'official' = 'dept'): MajorityBaseline | null {
  let spec;
  try {
    spec = getTask(task);
  } catch {
    return null;
  }
  if (spec.labelKind !== 'class' || targets.length === 0) return null;
  const order = labelsList(spec);
  const counts = new Map<string, number>();
  for (const t of targets) counts.set(t, (counts.get(t) ?? 0) + 1);
  const rank = (label: string) => (order.includes(label) ? order.indexOf(label) : order.length);
  const [label] = [...counts.entries()].sort((a, b) => b[1] - a[1] || rank(a[0]) - rank(b[0]))[0] as [string, number];
  try {
    const value = computeMetrics(task, targets.map(() => label), targets, { flavour })[metric];
    return typeof value === 'number' && Number.isFinite(value) ? { label, metric, value, test_examples: targets.length } : null;
  } catch {
    return null;
  }
}

function csvField(value: unknown): string {
  if (value === null || value === undefined) return '';
  const s = String(value);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The columns of a cell's data origin in the CSV files: folder (with the LM-BFF subset) and layout, empty when unknown. */
const DATA_COLUMNS = ['data_folder', 'data_layout'] as const;

function dataFields(data: DataOrigin | undefined): [string, string] {
  return [data?.folder ?? '', data?.layout ?? ''];
}

/**
 * `results.csv`: one row per cell (task, k, seed, the selected step, wall seconds, whether the model had random
 * weights — `true` rows are not results —, the data folder and layout, then every test metric).
 *
 * @example
 * reportCsv(buildReport('runs/quickstart')).split('\n')[0];
 * // 'task,k,seed,selected_step,wall_seconds,random_weights,data_folder,data_layout,f1_multiclass,accuracy'
 */
export function reportCsv(report: GridReport): string {
  const metrics = [...new Set(report.cells.flatMap((c) => Object.keys(c.metrics)))];
  const searched = report.search !== undefined;
  const header = ['task', 'k', 'seed', ...(searched ? ['setting'] : []), 'selected_step', 'wall_seconds', 'random_weights', ...DATA_COLUMNS, ...metrics];
  const lines = [header.join(',')];
  for (const c of report.cells) {
    lines.push([
      c.task, c.k, c.seed, ...(searched ? [c.setting] : []), c.selected_step, c.wall_seconds, c.random_weights, ...dataFields(c.data), ...metrics.map((m) => c.metrics[m]),
    ].map(csvField).join(','));
  }
  return `${lines.join('\n')}\n`;
}

/**
 * `search.csv`: one row per finished sub-run of a searched grid (task, k, seed, setting, whether its cell selected it
 * — empty while the cell is incomplete —, the dev metric and score, selected step, wall seconds, random weights, the
 * data folder and layout, every test metric).
 *
 * @example
 * searchCsv(buildReport('runs/fs')).split('\n')[0]; // 'task,k,seed,setting,selected,dev_metric,dev,selected_step,wall_seconds,…'
 */
export function searchCsv(report: GridReport): string {
  const runs = report.search?.runs ?? [];
  const metrics = [...new Set(runs.flatMap((r) => Object.keys(r.metrics)))];
  const lines = [['task', 'k', 'seed', 'setting', 'selected', 'dev_metric', 'dev', 'selected_step', 'wall_seconds', 'random_weights', ...DATA_COLUMNS, ...metrics].join(',')];
  for (const r of runs) {
    lines.push([
      r.task, r.k, r.seed, r.setting, r.selected === null ? '' : r.selected, report.search?.selection_metric[r.task], r.dev,
      r.selected_step, r.wall_seconds, r.random_weights, ...dataFields(r.data), ...metrics.map((m) => r.metrics[m]),
    ].map(csvField).join(','));
  }
  return `${lines.join('\n')}\n`;
}

/**
 * "mean ± std" with `digits` decimals; "mean (n=1)" for a single seed.
 *
 * @example
 * formatMeanStd({ mean: 62.5, std: 3.25, n: 5 }); // '62.5 ± 3.3'
 */
export function formatMeanStd(row: Pick<SummaryRow, 'mean' | 'std' | 'n'>, digits = 1): string {
  return row.std === null ? `${row.mean.toFixed(digits)} (n=${row.n})` : `${row.mean.toFixed(digits)} ± ${row.std.toFixed(digits)}`;
}

/** The chart's title: the report's, with the random-weights label on a line of its own. */
function chartTitleLines(report: GridReport): string[] {
  return [`Few-shot results${report.name ? `: ${report.name}` : ''}`, ...(report.random_weights ? ['RANDOM WEIGHTS — not a result'] : [])];
}

function title(report: GridReport, md = (t: string) => t): string {
  return `Few-shot results${report.name ? `: ${md(report.name)}` : ''}${report.random_weights ? ' — RANDOM WEIGHTS — not a result' : ''}`;
}

/**
 * Text that Markdown shows as it is, also inside a table cell: HTML (`<`, `>`, `&`) as entities, the cell separator
 * `|` and the inline syntax (`` ` ``, `*`, `[`, `]`, `\`, `_` at a word's edge) escaped, line breaks as spaces.
 * Folder, task and model names come from the file system, so they may hold any of these.
 *
 * @example
 * markdownText('a|b <img src=x>'); // 'a\\|b &lt;img src=x&gt;'
 */
export function markdownText(text: string): string {
  return text
    .replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
    .replace(/[\\`*[\]|~]/g, (c) => `\\${c}`)
    .replace(/_/g, (c, at: number, all: string) => (/[A-Za-z0-9]/.test(all[at - 1] ?? '') && /[A-Za-z0-9]/.test(all[at + 1] ?? '') ? c : `\\${c}`))
    .replace(/\r\n|\r|\n/g, ' ');
}

/**
 * `report.md`: the main table (rows tasks, columns k, "mean ± std" of each task's headline metric, like the paper's
 * few-shot table) and every metric in detail.
 *
 * @example
 * const { markdown, table } = reportMarkdown(buildReport('runs/quickstart'));
 */
export function reportMarkdown(report: GridReport): { markdown: string; table: string } {
  const search = report.search;
  const ks = [...new Set([...report.summary, ...(search?.per_setting ?? [])].map((s) => s.k))].sort((a, b) => a - b);
  const tasks = Object.keys(report.headline);
  const find = (task: string, k: number, metric: string) => report.summary.find((s) => s.task === task && s.k === k && s.metric === metric);
  const seeds = [...new Set(report.cells.map((c) => c.seed))].sort((a, b) => a - b);
  const md = markdownText;
  const main: string[] = [];
  main.push(`# ${title(report, md)}`, '');
  if (report.random_weights) {
    main.push('> **RANDOM WEIGHTS — not a result.** At least one cell ran on a model with random weights: these numbers only show that the pipeline runs.', '');
  }
  main.push(`Test metric (×100) of each task's headline metric: mean ± ${STD_NOTE} (n seeds: ${seeds.join(', ')}; a single seed shows "(n=1)").`, '');
  if (search) {
    main.push(`Each cell is its sub-run selected on dev among ${search.settings.length} settings (search over ${search.fields.join(', ')}): the highest dev score by the task's selection metric, ties to the first in recipe order; test metrics take no part. Per setting: "Search" in report.md.`, '');
  }
  const majority = Object.keys(report.majority ?? {}).length > 0;
  main.push(`| task (metric) | ${ks.map((k) => `k=${k}`).join(' | ')} |${majority ? ' majority class |' : ''}`);
  main.push(`|---|${ks.map(() => '---:').join('|')}|${majority ? '---:|' : ''}`);
  for (const task of tasks) {
    const metric = report.headline[task] as string;
    const base = report.majority?.[task];
    main.push(`| ${md(task)} (${md(metric)}) | ${ks.map((k) => {
      const row = find(task, k, metric);
      return row ? formatMeanStd(row, 1) : '–';
    }).join(' | ')} |${majority ? ` ${base ? `${base.value.toFixed(1)} ("${md(base.label)}")` : '–'} |` : ''}`);
  }
  if (majority) main.push('', MAJORITY_NOTE);
  const table = `${main.join('\n')}\n`;
  const detail: string[] = ['', '## All metrics', '', `mean and std (${STD_NOTE}) of every test metric, n = seeds with a finished run.`, ''];
  detail.push('| task | k | metric | mean | std | n |', '|---|---:|---|---:|---:|---:|');
  for (const s of report.summary) detail.push(`| ${md(s.task)} | ${s.k} | ${md(s.metric)} | ${s.mean.toFixed(2)} | ${s.std === null ? '–' : s.std.toFixed(2)} | ${s.n} |`);
  if (search) detail.push(...searchMarkdown(report, search));
  detail.push('', '## Run', '');
  const finished = report.cells.length;
  detail.push(`- cells: ${finished} finished${report.expected_cells !== null ? ` of ${report.expected_cells} in grid.json${finished < report.expected_cells ? ' (incomplete: the summary covers the finished cells only)' : ''}` : ''}`);
  if (search) detail.push(`- sub-runs: ${search.runs.length} finished of ${search.expected_runs} (${search.settings.length} settings per cell)`);
  detail.push(`- model: ${md(report.model || 'unknown')}${report.random_weights ? ' (random weights)' : ''}`);
  detail.push(`- backend: ${md(report.backend || 'unknown')}`);
  const walls = search ? search.runs : report.cells;
  detail.push(`- total training wall time: ${walls.reduce((a, c) => a + (Number(c.wall_seconds) || 0), 0).toFixed(1)} s${search ? ' (all sub-runs)' : ''}`);
  return { markdown: `${table}${detail.join('\n')}\n`, table };
}

/** The "Search" section of `report.md`: every setting per task × k, with its dev and test scores and how often it won. */
function searchMarkdown(report: GridReport, search: SearchReport): string[] {
  const lines = ['', '## Search', ''];
  if (report.random_weights) lines.push('> **RANDOM WEIGHTS — not a result.**', '');
  lines.push(
    `Settings (${search.settings.length}, recipe order): ${search.settings.map((s) => `\`${s.id}\` (${Object.entries(s.values).map(([k, v]) => `${k} ${v}`).join(', ')})`).join('; ')}.`,
    ...(search.r_from_budget ? ['', 'r of each setting comes from the parameter budget of the recipe\'s own m, r and s (m·d + r·(s + d), rounded down); each sub-run\'s config.resolved.json records it.'] : []),
    '',
    `Per setting: mean ± ${STD_NOTE} of the dev score (each task's selection metric, the sub-run's best-on-dev checkpoint) and of the test headline metric, over the finished sub-runs; "won": in how many complete cells (seeds) of that task and k it was selected.`,
    '',
    '| task | k | setting | dev (metric) | test (metric) | won |',
    '|---|---:|---|---:|---:|---:|',
  );
  const cell = (v: SettingSummaryRow['dev']) => (v ? `${formatMeanStd(v, 1)} (${v.metric})` : '–');
  for (const row of search.per_setting) {
    lines.push(`| ${row.task} | ${row.k} | ${row.setting} | ${cell(row.dev)} | ${cell(row.test)} | ${row.won}/${row.cells} |`);
  }
  return lines;
}

/**
 * The y range of a panel: from 0 (or below, for negative correlations) to a round number above the highest value,
 * at most 100 (every metric is ×100).
 */
function yDomain(values: readonly number[]): [number, number] {
  const finite = values.filter(Number.isFinite);
  const lo = Math.min(0, ...finite);
  const hi = Math.max(0, ...finite);
  const span = Math.max(hi - lo, 1);
  const step = span > 50 ? 10 : span > 20 ? 5 : span > 10 ? 2 : 1;
  let top = Math.ceil((hi + span * 0.08) / step) * step;
  if (hi <= 100) top = Math.min(100, top);
  if (top <= hi) top = hi + step;
  return [Math.floor(lo / step) * step, top];
}

/** The width of a chart panel's plot, in pixels. */
const PANEL_WIDTH = 200;

/** The grid of panels: one row up to 3 panels, 2 × 2 for 4, then rows of 3. */
function chartColumns(panels: number): number {
  return panels <= 3 ? Math.max(1, panels) : panels === 4 ? 2 : 3;
}

/**
 * The chart as a Vega-Lite spec: one panel per task (a grid of at most 3 columns, no empty column), its headline metric
 * against k, the mean over seeds with ± std error bars and the mean written above each point, the majority-class
 * baseline as a dashed line; each panel has its own y scale, from 0 (lower only for negative values) to a round
 * number above its highest value.
 *
 * @example
 * const spec = reportChartSpec(buildReport('runs/quickstart'));
 */
export function reportChartSpec(report: GridReport): vl.TopLevelSpec {
  const x = { field: 'k', type: 'ordinal' as const, title: 'k (shots)', axis: { labelAngle: 0 } };
  const panels = Object.entries(report.headline).map(([task, metric]) => {
    const values = report.summary
      .filter((s) => s.task === task && s.metric === metric)
      .map((s) => ({ k: s.k, mean: s.mean, lo: s.mean - (s.std ?? 0), hi: s.mean + (s.std ?? 0), label: s.mean.toFixed(1), n: s.n }));
    const base = report.majority?.[task];
    const domain = yDomain([...values.flatMap((v) => [v.lo, v.hi]), ...(base ? [base.value] : [])]);
    // Labels flush with the plot's ends, so no panel's top label rises above it and every title of a row lines up.
    const y = { type: 'quantitative' as const, title: 'test (×100)', scale: { domain, nice: false, zero: false }, axis: { labelFlush: true } };
    const layer: Record<string, unknown>[] = [
      { mark: { type: 'rule', color: '#4c78a8' }, encoding: { x, y: { field: 'lo', ...y }, y2: { field: 'hi' } } },
      {
        mark: { type: 'line', point: { filled: true, size: 50 }, color: '#4c78a8' },
        encoding: { x, y: { field: 'mean', ...y }, tooltip: [{ field: 'k' }, { field: 'mean', format: '.2f' }, { field: 'n' }] },
      },
      { mark: { type: 'text', dy: -10, dx: 14, fontSize: 10, color: '#333' }, encoding: { x, y: { field: 'mean', ...y }, text: { field: 'label' } } },
    ];
    if (base) {
      layer.push(
        { mark: { type: 'rule', color: '#888', strokeDash: [5, 4] }, encoding: { y: { datum: base.value, ...y } } },
        {
          // At the right end, under the line (learning curves rise with k, so that corner is the emptiest), above it
          // when the line lies at the bottom of the plot.
          mark: { type: 'text', align: 'right', fontSize: 9, color: '#666', ...(base.value - domain[0] < 0.12 * (domain[1] - domain[0]) ? { baseline: 'bottom', dy: -3 } : { baseline: 'top', dy: 3 }) },
          encoding: { x: { value: PANEL_WIDTH - 3 }, y: { datum: base.value, ...y }, text: { value: `majority "${base.label}" ${base.value.toFixed(1)}` } },
        },
      );
    }
    return { title: `${task} (${metric})`, width: PANEL_WIDTH, height: 160, data: { values }, layer };
  });
  const majority = Object.keys(report.majority ?? {}).length > 0;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    // Short lines: Vega measures text without a canvas here, overestimating widths, and a long line would widen the
    // picture past its panels (a blank right half).
    title: {
      text: chartTitleLines(report),
      subtitle: ['test headline metric (×100) vs k', 'mean ± sample std (n − 1) over seeds', ...(majority ? ['dashed: majority class'] : [])],
      anchor: 'start',
    },
    config: { font: 'DejaVu Sans', view: { stroke: '#ccc' }, title: { subtitleFontSize: 11 } },
    background: 'white',
    columns: chartColumns(panels.length),
    concat: panels,
    // Panels aligned by their plot areas, so every title of a row stands at the same height.
    bounds: 'flush',
    align: 'all',
    spacing: { row: 72, column: 56 },
    resolve: { scale: { y: 'independent' } },
  } as unknown as vl.TopLevelSpec;
}

/**
 * The search chart as a Vega-Lite spec: per task (one panel each), the dev score (selection metric) of every
 * setting, mean over seeds with ± std error bars, one colour per k. Throws for a report without a search.
 *
 * @example
 * const { svg } = await renderChart(searchChartSpec(buildReport('runs/fs')));
 */
export function searchChartSpec(report: GridReport): vl.TopLevelSpec {
  const search = report.search;
  if (!search) throw new DeptError('searchChartSpec: the report has no search');
  const panel = (task: string) => `${task} (dev ${search.selection_metric[task] ?? ''})`;
  const values = search.per_setting.filter((r) => r.dev !== null).map((r) => {
    const dev = r.dev as NonNullable<SettingSummaryRow['dev']>;
    return { panel: panel(r.task), setting: r.setting, k: `k=${r.k}`, mean: dev.mean, lo: dev.mean - (dev.std ?? 0), hi: dev.mean + (dev.std ?? 0), n: dev.n, won: `${r.won}/${r.cells}` };
  });
  const ks = [...new Set(search.per_setting.map((r) => r.k))].sort((a, b) => a - b).map((k) => `k=${k}`);
  const x = { field: 'setting', type: 'nominal' as const, title: 'setting', sort: search.settings.map((s) => s.id), axis: { labelAngle: -35 } };
  const xOffset = { field: 'k', type: 'nominal' as const, sort: ks };
  const color = { field: 'k', type: 'nominal' as const, title: 'k', sort: ks };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: `Search${report.name ? `: ${report.name}` : ''}${report.random_weights ? ' — RANDOM WEIGHTS — not a result' : ''}`,
      subtitle: `dev score (×100, each task's selection metric) per setting; mean ± ${STD_NOTE}`,
    },
    config: { font: 'DejaVu Sans', view: { stroke: '#ccc' } },
    background: 'white',
    data: { values },
    facet: { field: 'panel', type: 'nominal', title: null, sort: Object.keys(search.selection_metric).map(panel) },
    columns: 3,
    spec: {
      width: Math.max(200, search.settings.length * ks.length * 16),
      height: 160,
      layer: [
        {
          mark: { type: 'rule' },
          encoding: { x, xOffset, color, y: { field: 'lo', type: 'quantitative', title: 'dev score (×100)', scale: { zero: true, nice: true } }, y2: { field: 'hi' } },
        },
        {
          mark: { type: 'point', filled: true, size: 50 },
          encoding: {
            x, xOffset, color,
            y: { field: 'mean', type: 'quantitative' },
            tooltip: [{ field: 'setting' }, { field: 'k' }, { field: 'mean', format: '.2f' }, { field: 'n' }, { field: 'won' }],
          },
        },
      ],
    },
    resolve: { scale: { y: 'independent' } },
  } as vl.TopLevelSpec;
}

/**
 * The chart as SVG (Vega-Lite → Vega view with renderer "none" → `toSVG`) and PNG (resvg, DejaVu Sans).
 *
 * @example
 * const { svg, png } = await renderChart(reportChartSpec(report));
 */
export async function renderChart(spec: vl.TopLevelSpec): Promise<{ svg: string; png: Uint8Array }> {
  const compiled = vl.compile(spec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    const svg = await view.toSVG();
    const png = new Resvg(svg, {
      font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans', sansSerifFamily: 'DejaVu Sans' },
      fitTo: { mode: 'zoom', value: 2 },
      background: 'white',
    }).render().asPng();
    return { svg, png: new Uint8Array(png.buffer, png.byteOffset, png.byteLength) };
  } finally {
    view.finalize();
  }
}

/**
 * Writes `results.json`, `results.csv`, `report.md`, `report.svg` and `report.png` into the grid folder
 * (atomically) from its finished cells; with a search, first the selection of every cell whose sub-runs are all
 * finished, then also `search.csv`, `search.svg` and `search.png`. Files of those names that dept did not write
 * (not in the folder's `.dept.json`) are refused, not replaced.
 *
 * @example
 * const { table, paths } = await writeReport('runs/quickstart');
 * process.stdout.write(table);
 */
export async function writeReport(runDir: string): Promise<WrittenReport> {
  completeSelections(runDir);
  const report = buildReport(runDir);
  // Report files replace only report files dept wrote: a folder's own results.json or report.md is refused.
  claimGridFolder(runDir, REPORT_FILES);
  const { markdown, table } = reportMarkdown(report);
  const { svg, png } = await renderChart(reportChartSpec(report));
  const paths: ReportPaths = {
    json: join(runDir, 'results.json'),
    csv: join(runDir, 'results.csv'),
    markdown: join(runDir, 'report.md'),
    svg: join(runDir, 'report.svg'),
    png: join(runDir, 'report.png'),
  };
  writeJsonAtomic(paths.json, report);
  writeFileAtomic(paths.csv, reportCsv(report));
  writeFileAtomic(paths.markdown, markdown);
  writeFileAtomic(paths.svg, svg);
  writeFileAtomic(paths.png, png);
  if (report.search) {
    const chart = await renderChart(searchChartSpec(report));
    paths.search_csv = join(runDir, 'search.csv');
    paths.search_svg = join(runDir, 'search.svg');
    paths.search_png = join(runDir, 'search.png');
    writeFileAtomic(paths.search_csv, searchCsv(report));
    writeFileAtomic(paths.search_svg, chart.svg);
    writeFileAtomic(paths.search_png, chart.png);
  }
  return { report, markdown, table, paths };
}

/** Writes the selection of every searched cell whose sub-runs are all finished (the report is then one of "whoever finds them finished"). */
function completeSelections(runDir: string): void {
  if (!isDir(runDir)) return;
  const grid = readGridFile(runDir);
  const settings = gridSearchSettings(grid);
  if (!grid || !settings) return;
  for (const cell of grid.cells) selectCell(runDir, cell, settings, gridFlavour(grid));
}
