/**
 * Aggregation and report files from hand-written cell folders (no training): the numbers below are chosen so the
 * expected means and sample standard deviations are exact by hand.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildReport, claimGridFolder, collectResults, formatMeanStd, headlineMetric, runGrid, summarizeResults, writeReport, type GridPlan } from '../src/index.ts';

let dir: string;

function cell(task: string, k: number, seed: number, test: Record<string, number>, extra: { random?: boolean; step?: number; wall?: number } = {}): void {
  const d = join(dir, task, `k${k}`, `seed${seed}`);
  mkdirSync(d, { recursive: true });
  writeFileSync(join(d, 'results.json'), JSON.stringify({
    dev: {}, test, selected_step: extra.step ?? 10, selection_metric: Object.keys(test)[0], max_steps: 20,
    wall_seconds: extra.wall ?? 1.5, backend: 'cpu', predict: 'generate', random_weights: extra.random ?? false,
    train_examples: k, dev_examples: 10, test_examples: 10,
  }));
  writeFileSync(join(d, 'config.resolved.json'), JSON.stringify({ model: 'models/t5-base', task, k, seed }));
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'dept-report-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('headline metric', () => {
  it('follows the paper tables: accuracy for CB, Pearson for STS-B, MCC for CoLA, F1 for MultiRC', () => {
    expect(headlineMetric('superglue-cb', ['f1_multiclass', 'accuracy'])).toBe('accuracy');
    expect(headlineMetric('mrpc', ['f1', 'accuracy'])).toBe('accuracy');
    expect(headlineMetric('stsb', ['pearson', 'spearmanr'])).toBe('pearson');
    expect(headlineMetric('cola', ['matthews_correlation'])).toBe('matthews_correlation');
    expect(headlineMetric('superglue-multirc', ['f1'])).toBe('f1');
    expect(headlineMetric('nq', ['em', 'f1'])).toBe('f1');
    expect(headlineMetric('not-a-task', ['bleu'])).toBe('bleu');
  });
});

describe('aggregation', () => {
  beforeEach(() => {
    // CB k=4: accuracy 50, 60, 70 → mean 60, sample std 10; f1_multiclass 40, 40, 46 → mean 42, std sqrt(12).
    cell('superglue-cb', 4, 13, { f1_multiclass: 40, accuracy: 50 });
    cell('superglue-cb', 4, 21, { f1_multiclass: 40, accuracy: 60 });
    cell('superglue-cb', 4, 42, { f1_multiclass: 46, accuracy: 70 });
    // CB k=16: accuracy 80, 90 → mean 85, std sqrt(50).
    cell('superglue-cb', 16, 13, { f1_multiclass: 70, accuracy: 80 });
    cell('superglue-cb', 16, 21, { f1_multiclass: 72, accuracy: 90 });
    // STS-B k=4: one seed only → std null.
    cell('stsb', 4, 13, { pearson: 12.5, spearmanr: 10 }, { random: false });
    // an unfinished cell (no results.json) and a stray folder are ignored
    mkdirSync(join(dir, 'stsb', 'k16', 'seed13'), { recursive: true });
    mkdirSync(join(dir, 'notes'), { recursive: true });
  });

  it('collects one row per finished cell, ordered by task name, k and seed without grid.json', () => {
    const table = collectResults(dir);
    expect(table.numRows()).toBe(6);
    const rows = table.objects() as { task: string; k: number; seed: number }[];
    expect(rows.map((r) => `${r.task}/${r.k}/${r.seed}`)).toEqual([
      'stsb/4/13', 'superglue-cb/4/13', 'superglue-cb/4/21', 'superglue-cb/4/42', 'superglue-cb/16/13', 'superglue-cb/16/21',
    ]);
  });

  it('takes the task order of grid.json when there is one', () => {
    writeFileSync(join(dir, 'grid.json'), JSON.stringify({
      name: 'g', recipe: {}, settings: { model: 'models/t5-base' }, updated: '',
      cells: [{ index: 0, task: 'superglue-cb', k: 4, seed: 13, dir: 'superglue-cb/k4/seed13' }, { index: 1, task: 'stsb', k: 4, seed: 13, dir: 'stsb/k4/seed13' }],
    }));
    const rows = collectResults(dir).objects() as { task: string }[];
    expect(rows[0]?.task).toBe('superglue-cb');
    expect(rows[rows.length - 1]?.task).toBe('stsb');
    expect(buildReport(dir).expected_cells).toBe(2);
  });

  it('computes mean and sample standard deviation (n - 1) per task × k × metric', () => {
    const summary = summarizeResults(collectResults(dir));
    const get = (task: string, k: number, metric: string) => summary.find((s) => s.task === task && s.k === k && s.metric === metric);
    expect(get('superglue-cb', 4, 'accuracy')).toEqual({ task: 'superglue-cb', k: 4, metric: 'accuracy', mean: 60, std: 10, n: 3 });
    expect(get('superglue-cb', 4, 'f1_multiclass')?.mean).toBeCloseTo(42, 10);
    expect(get('superglue-cb', 4, 'f1_multiclass')?.std).toBeCloseTo(Math.sqrt(12), 10);
    expect(get('superglue-cb', 16, 'accuracy')?.std).toBeCloseTo(Math.sqrt(50), 10);
    expect(get('stsb', 4, 'pearson')).toEqual({ task: 'stsb', k: 4, metric: 'pearson', mean: 12.5, std: null, n: 1 });
    expect(summary).toHaveLength(2 * 2 + 2);
  });

  it('writes results.json, results.csv, report.md, report.svg and report.png', async () => {
    const { paths, table } = await writeReport(dir);
    const json = JSON.parse(readFileSync(paths.json, 'utf8')) as { cells: unknown[]; summary: unknown[]; model: string; backend: string; random_weights: boolean; headline: Record<string, string> };
    expect(json.cells).toHaveLength(6);
    expect(json.cells).toContainEqual({ task: 'superglue-cb', k: 4, seed: 21, metrics: { f1_multiclass: 40, accuracy: 60 }, selected_step: 10, wall_seconds: 1.5 });
    expect(json.model).toBe('models/t5-base');
    expect(json.backend).toBe('cpu');
    expect(json.random_weights).toBe(false);
    expect(json.headline).toEqual({ stsb: 'pearson', 'superglue-cb': 'accuracy' });

    const csv = readFileSync(paths.csv, 'utf8').trim().split('\n');
    expect(csv[0]).toBe('task,k,seed,selected_step,wall_seconds,pearson,spearmanr,f1_multiclass,accuracy');
    expect(csv).toHaveLength(7);
    expect(csv).toContain('superglue-cb,4,42,10,1.5,,,46,70');
    expect(csv).toContain('stsb,4,13,10,1.5,12.5,10,,');

    const md = readFileSync(paths.markdown, 'utf8');
    expect(md.startsWith(table)).toBe(true);
    expect(md).not.toContain('RANDOM WEIGHTS');
    expect(md).toContain('sample standard deviation (n - 1)');
    expect(md).toContain('| task (metric) | k=4 | k=16 |');
    expect(md).toContain('| superglue-cb (accuracy) | 60.0 ± 10.0 | 85.0 ± 7.1 |');
    expect(md).toContain('| stsb (pearson) | 12.5 (n=1) | – |');
    expect(md).toContain('| superglue-cb | 4 | f1_multiclass | 42.00 | 3.46 | 3 |');

    const svg = readFileSync(paths.svg, 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('superglue-cb (accuracy)');
    expect(svg).toContain('stsb (pearson)');
    expect(svg).toContain('DejaVu Sans');
    for (const label of ['60.0', '85.0', '12.5']) expect(svg).toContain(`>${label}</text>`);
    expect(svg).not.toContain('RANDOM WEIGHTS');
    const png = readFileSync(paths.png);
    expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    expect(png.length).toBeGreaterThan(5000);
  });

  it('says RANDOM WEIGHTS in the title of the Markdown and the chart when any cell used random weights', async () => {
    cell('superglue-cb', 16, 42, { f1_multiclass: 70, accuracy: 85 }, { random: true });
    const { paths, report } = await writeReport(dir);
    expect(report.random_weights).toBe(true);
    const md = readFileSync(paths.markdown, 'utf8');
    expect(md.split('\n')[0]).toContain('RANDOM WEIGHTS — not a result');
    expect(readFileSync(paths.svg, 'utf8')).toContain('RANDOM WEIGHTS — not a result');
    // accuracy 80, 90, 85 → mean 85, sample std 5
    expect(md).toContain('| superglue-cb (accuracy) | 60.0 ± 10.0 | 85.0 ± 5.0 |');
  });
});

describe('errors', () => {
  it('refuses a folder with no finished cell, naming it', async () => {
    await expect(writeReport(dir)).rejects.toThrow(`${dir}: no finished cells to report`);
    expect(existsSync(join(dir, 'results.json'))).toBe(false);
  });
  it('refuses a missing folder', () => {
    expect(() => collectResults(join(dir, 'nope'))).toThrow(/not a folder/);
  });
  it('refuses a results.json without test metrics', () => {
    mkdirSync(join(dir, 'rte', 'k4', 'seed1'), { recursive: true });
    writeFileSync(join(dir, 'rte', 'k4', 'seed1', 'results.json'), '{"dev": {}}');
    expect(() => collectResults(dir)).toThrow(/rte\/k4\/seed1\/results.json: no "test" metrics/);
  });
  it('formats a single seed without a std', () => {
    expect(formatMeanStd({ mean: 1.25, std: null, n: 1 })).toBe('1.3 (n=1)');
    expect(formatMeanStd({ mean: 1.25, std: 0.5, n: 2 }, 2)).toBe('1.25 ± 0.50');
  });
});

describe('a searched grid', () => {
  /** A finished sub-run: dev macro-F1 (CB's selection metric) and test accuracy (its headline metric), by hand. */
  function subRun(seed: number, id: string, devF1: number, testAcc: number, random = false): void {
    const d = join(dir, 'superglue-cb', 'k4', `seed${seed}`, id);
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, 'results.json'), JSON.stringify({
      dev: { f1_multiclass: devF1, accuracy: 100 - devF1 }, test: { f1_multiclass: testAcc - 10, accuracy: testAcc }, selected_step: 10,
      selection_metric: 'f1_multiclass', max_steps: 20, wall_seconds: 2, backend: 'cpu', predict: 'score', random_weights: random,
      train_examples: 4, dev_examples: 10, test_examples: 10,
    }));
    writeFileSync(join(d, 'config.resolved.json'), JSON.stringify({ model: 'models/t5-base', task: 'superglue-cb', k: 4, seed }));
  }
  const plan = (): GridPlan => ({
    name: 'searched', tasks: ['superglue-cb'], k: [4], seeds: [13, 21, 42], model: { path: join(dir, 'no-model') },
    train: { max_steps: 20 }, search: { lr: [0.3, 0.4] }, outDir: dir,
  });
  // seed 13: lr 0.3 wins on dev (50 > 40) though lr 0.4 has the better test; 21: lr 0.4 (60 > 30); 42: lr 0.3 (55 > 20)
  const all = () => {
    claimGridFolder(dir, ['superglue-cb'], { newFolder: true }); // a dept grid whose sub-runs finished
    subRun(13, 'lr3e-1', 50, 60); subRun(13, 'lr4e-1', 40, 90);
    subRun(21, 'lr3e-1', 30, 70); subRun(21, 'lr4e-1', 60, 80);
    subRun(42, 'lr3e-1', 55, 70); subRun(42, 'lr4e-1', 20, 50);
  };

  it('reports the selected sub-runs as the cells, every setting with mean ± std of dev and test, and how often it won', async () => {
    all();
    await runGrid(plan());
    const { report, paths, table } = await writeReport(dir);
    expect(report.cells.map((c) => [c.seed, c.setting, c.metrics.accuracy])).toEqual([[13, 'lr3e-1', 60], [21, 'lr4e-1', 80], [42, 'lr3e-1', 70]]);
    // selected test accuracy 60, 80, 70 → 70 ± 10
    expect(table).toContain('| superglue-cb (accuracy) | 70.0 ± 10.0 |');
    expect(table).toContain('among 2 settings (search over lr)');
    const md = readFileSync(paths.markdown, 'utf8');
    // lr 0.3: dev 50, 30, 55 → 45 ± √175; test 60, 70, 70 → 66.7 ± 5.8; lr 0.4: dev 40, 60, 20 → 40 ± 20; test 90, 80, 50 → 73.3 ± 20.8
    expect(md).toContain('| task | k | setting | dev (metric) | test (metric) | won |');
    expect(md).toContain('| superglue-cb | 4 | lr3e-1 | 45.0 ± 13.2 (f1_multiclass) | 66.7 ± 5.8 (accuracy) | 2/3 |');
    expect(md).toContain('| superglue-cb | 4 | lr4e-1 | 40.0 ± 20.0 (f1_multiclass) | 73.3 ± 20.8 (accuracy) | 1/3 |');
    expect(md).toContain('- sub-runs: 6 finished of 6 (2 settings per cell)');
    expect(md).toContain('- total training wall time: 12.0 s (all sub-runs)');
    expect(md).not.toContain('RANDOM WEIGHTS');
    const row = report.search?.per_setting.find((r) => r.setting === 'lr3e-1');
    expect(row?.dev?.std).toBeCloseTo(Math.sqrt(175), 10);

    expect(readFileSync(paths.csv, 'utf8').split('\n')[0]).toBe('task,k,seed,setting,selected_step,wall_seconds,f1_multiclass,accuracy');
    const csv = readFileSync(paths.search_csv as string, 'utf8').trim().split('\n');
    expect(csv[0]).toBe('task,k,seed,setting,selected,dev_metric,dev,selected_step,wall_seconds,f1_multiclass,accuracy');
    expect(csv.slice(1)).toEqual([
      'superglue-cb,4,13,lr3e-1,true,f1_multiclass,50,10,2,50,60', 'superglue-cb,4,13,lr4e-1,false,f1_multiclass,40,10,2,80,90',
      'superglue-cb,4,21,lr3e-1,false,f1_multiclass,30,10,2,60,70', 'superglue-cb,4,21,lr4e-1,true,f1_multiclass,60,10,2,70,80',
      'superglue-cb,4,42,lr3e-1,true,f1_multiclass,55,10,2,60,70', 'superglue-cb,4,42,lr4e-1,false,f1_multiclass,20,10,2,40,50',
    ]);
    const svg = readFileSync(paths.search_svg as string, 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    for (const text of ['superglue-cb (dev f1_multiclass)', '>lr3e-1</text>', '>lr4e-1</text>', 'k=4']) expect(svg).toContain(text);
    expect(svg).not.toContain('RANDOM WEIGHTS');
    expect([...readFileSync(paths.search_png as string).subarray(1, 4)]).toEqual([0x50, 0x4e, 0x47]);
  });

  it('never shows a selection its sub-runs do not make, and writes the right one back', async () => {
    all();
    await runGrid(plan());
    const cellFile = join(dir, 'superglue-cb', 'k4', 'seed13', 'results.json');
    const wrong = JSON.parse(readFileSync(cellFile, 'utf8')) as { search: { selected: string }; test: Record<string, number> };
    writeFileSync(cellFile, JSON.stringify({ ...wrong, test: { accuracy: 90 }, search: { ...wrong.search, selected: 'lr4e-1' } }));
    expect(buildReport(dir).cells[0]).toMatchObject({ seed: 13, setting: 'lr3e-1', metrics: { accuracy: 60 } });
    await writeReport(dir);
    expect(JSON.parse(readFileSync(cellFile, 'utf8')).search.selected).toBe('lr3e-1');
  });

  it('reports an unfinished search: complete cells only in the main table, every finished sub-run per setting, RANDOM WEIGHTS', async () => {
    // no cell complete yet: still a report (a shard of sub-runs may complete none); shard 2 of 6 is seed 21's lr 0.3
    claimGridFolder(dir, ['superglue-cb'], { newFolder: true });
    subRun(21, 'lr3e-1', 30, 70, true);
    await runGrid(plan(), { shard: { index: 2, count: 6 } });
    const early = await writeReport(dir);
    expect(early.report.cells).toEqual([]);
    expect(early.table).toContain('| superglue-cb (accuracy) | – |');
    expect(early.table.split('\n')[0]).toContain('RANDOM WEIGHTS — not a result');
    expect(readFileSync(early.paths.search_svg as string, 'utf8')).toContain('RANDOM WEIGHTS — not a result');
    subRun(13, 'lr3e-1', 50, 60); subRun(13, 'lr4e-1', 40, 90);
    const { report, markdown } = await writeReport(dir);
    expect(report.cells.map((c) => c.seed)).toEqual([13]);
    expect(markdown).toContain('| superglue-cb | 4 | lr3e-1 | 40.0 ± 14.1 (f1_multiclass) | 65.0 ± 7.1 (accuracy) | 1/1 |');
    expect(markdown).toContain('| superglue-cb | 4 | lr4e-1 | 40.0 (n=1) (f1_multiclass) | 90.0 (n=1) (accuracy) | 0/1 |');
    expect(markdown).toContain('- cells: 1 finished of 3 in grid.json (incomplete');
    expect(markdown).toContain('- sub-runs: 3 finished of 6');
    const csv = readFileSync(join(dir, 'search.csv'), 'utf8');
    expect(csv).toContain('superglue-cb,4,21,lr3e-1,,f1_multiclass,30,');
    expect(existsSync(join(dir, 'superglue-cb', 'k4', 'seed21', 'results.json'))).toBe(false);
  });
});
