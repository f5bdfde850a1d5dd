/**
 * Aggregation and report files from hand-written cell folders (no training): the numbers below are chosen so the
 * expected means and sample standard deviations are exact by hand.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildReport, collectResults, formatMeanStd, headlineMetric, summarizeResults, writeReport } from '../src/index.ts';

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
