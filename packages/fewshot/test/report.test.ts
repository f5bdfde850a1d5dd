/**
 * Aggregation and report files from hand-written cell folders (no training): the numbers below are chosen so the
 * expected means and sample standard deviations are exact by hand.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import * as vl from 'vega-lite';
import * as vega from 'vega';
import { buildReport, claimGridFolder, collectResults, formatMeanStd, headlineMetric, majorityBaseline, reportChartSpec, runGrid, summarizeResults, writeReport, type GridPlan } from '../src/index.ts';

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
    expect(json.cells).toContainEqual({ task: 'superglue-cb', k: 4, seed: 21, metrics: { f1_multiclass: 40, accuracy: 60 }, selected_step: 10, wall_seconds: 1.5, random_weights: false });
    expect(json.model).toBe('models/t5-base');
    expect(json.backend).toBe('cpu');
    expect(json.random_weights).toBe(false);
    expect(json.headline).toEqual({ stsb: 'pearson', 'superglue-cb': 'accuracy' });

    const csv = readFileSync(paths.csv, 'utf8').trim().split('\n');
    expect(csv[0]).toBe('task,k,seed,selected_step,wall_seconds,random_weights,data_folder,data_layout,pearson,spearmanr,f1_multiclass,accuracy');
    expect(csv).toHaveLength(7);
    expect(csv).toContain('superglue-cb,4,42,10,1.5,false,,,,,46,70');
    expect(csv).toContain('stsb,4,13,10,1.5,false,,,12.5,10,,');

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

    expect(readFileSync(paths.csv, 'utf8').split('\n')[0]).toBe('task,k,seed,setting,selected_step,wall_seconds,random_weights,data_folder,data_layout,f1_multiclass,accuracy');
    const csv = readFileSync(paths.search_csv as string, 'utf8').trim().split('\n');
    expect(csv[0]).toBe('task,k,seed,setting,selected,dev_metric,dev,selected_step,wall_seconds,random_weights,data_folder,data_layout,f1_multiclass,accuracy');
    expect(csv.slice(1)).toEqual([
      'superglue-cb,4,13,lr3e-1,true,f1_multiclass,50,10,2,false,,,50,60', 'superglue-cb,4,13,lr4e-1,false,f1_multiclass,40,10,2,false,,,80,90',
      'superglue-cb,4,21,lr3e-1,false,f1_multiclass,30,10,2,false,,,60,70', 'superglue-cb,4,21,lr4e-1,true,f1_multiclass,60,10,2,false,,,70,80',
      'superglue-cb,4,42,lr3e-1,true,f1_multiclass,55,10,2,false,,,60,70', 'superglue-cb,4,42,lr4e-1,false,f1_multiclass,20,10,2,false,,,40,50',
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

describe('the report\'s conventions (issue 16)', () => {
  /** A finished cell with its test predictions (the majority baseline reads the targets). */
  function cellWith(task: string, k: number, seed: number, test: Record<string, number>, targets: string[], extra: { random?: boolean; data?: unknown } = {}): void {
    cell(task, k, seed, test, extra);
    const d = join(dir, task, `k${k}`, `seed${seed}`);
    writeFileSync(join(d, 'predictions.jsonl'), targets.map((t, i) => `${JSON.stringify({ index: i, source: 's', target: t, prediction: t })}\n`).join(''));
    if (extra.data) {
      const results = JSON.parse(readFileSync(join(d, 'results.json'), 'utf8')) as Record<string, unknown>;
      writeFileSync(join(d, 'results.json'), JSON.stringify({ ...results, data: extra.data }));
    }
  }

  /** Panel titles and the picture's size, as Vega lays the chart out (positions summed over the groups). */
  async function layout(spec: vl.TopLevelSpec): Promise<{ width: number; titles: { text: string; top: number; right: number }[]; right: number }> {
    // width: the SVG's; right: the right edge of the rightmost plot (its x axis line).
    const view = new vega.View(vega.parse(vl.compile(spec).spec), { renderer: 'none' });
    await view.runAsync();
    const titles: { text: string; top: number; right: number }[] = [];
    let right = 0;
    type Item = { x?: number; y?: number; text?: unknown; bounds: { x1: number; y1: number; x2: number }; items?: Mark[] };
    type Mark = { marktype: string; role: string; items: Item[] };
    const walk = (mark: Mark, ox: number, oy: number) => {
      for (const item of mark.items) {
        if (mark.marktype === 'text' && mark.role === 'title-text') titles.push({ text: String(item.text), top: oy + item.bounds.y1, right: ox + item.bounds.x2 });
        if (mark.role === 'axis-domain') right = Math.max(right, ox + item.bounds.x2);
        if (mark.marktype === 'group') for (const child of item.items ?? []) walk(child, ox + (item.x ?? 0), oy + (item.y ?? 0));
      }
    };
    // The scenegraph's root sits at the view's origin (left of it: the y axes, above it: the title).
    const [ox, oy] = (view as unknown as { origin: () => [number, number] }).origin();
    walk((view.scenegraph() as unknown as { root: Mark }).root, ox, oy);
    const svg = await view.toSVG();
    view.finalize();
    return { width: Number(/width="(\d+(?:\.\d+)?)"/.exec(svg)?.[1]), titles, right };
  }

  it('results.csv says per row whether the model had random weights, and which data folder and layout', async () => {
    const data = { folder: 'glue-kshot/RTE/16-13', layout: 'lmbff-kshot', subset: '16-13' };
    cell('rte', 4, 13, { accuracy: 50 }, { random: true });
    cellWith('rte', 4, 21, { accuracy: 60 }, ['0', '1'], { data });
    const { paths, report } = await writeReport(dir);
    const csv = readFileSync(paths.csv, 'utf8').trim().split('\n');
    expect(csv).toEqual([
      'task,k,seed,selected_step,wall_seconds,random_weights,data_folder,data_layout,accuracy',
      'rte,4,13,10,1.5,true,,,50',
      'rte,4,21,10,1.5,false,glue-kshot/RTE/16-13,lmbff-kshot,60',
    ]);
    expect(report.cells.map((c) => [c.random_weights, c.data ?? null])).toEqual([[true, null], [false, data]]);
  });

  it('scores the majority class of the test labels with each task\'s metric: a column of report.md, a dashed line in the chart', async () => {
    cellWith('rte', 4, 13, { accuracy: 50 }, ['0', '0', '1']);
    cellWith('cola', 4, 13, { matthews_correlation: 5 }, ['1', '1', '0']);
    cellWith('mrpc', 4, 13, { accuracy: 50, f1: 40 }, ['0', '0', '1']);
    cellWith('superglue-cb', 4, 13, { accuracy: 50, f1_multiclass: 30 }, ['0', '0', '1', '2']);
    cellWith('stsb', 4, 13, { pearson: 10, spearmanr: 10 }, ['2.5', '3.0']);
    const { report, markdown } = await writeReport(dir);
    // RTE: "0" is 2 of 3 rows; CoLA: constant predictions have Matthews 0; MRPC's headline is accuracy; CB accuracy 2/4.
    expect(report.majority.rte).toMatchObject({ label: '0', metric: 'accuracy', test_examples: 3 });
    expect(report.majority.rte?.value).toBeCloseTo(200 / 3, 10);
    expect(report.majority.cola).toMatchObject({ label: '1', metric: 'matthews_correlation', value: 0 });
    expect(report.majority.mrpc).toMatchObject({ label: '0', metric: 'accuracy' });
    expect(report.majority.mrpc?.value).toBeCloseTo(200 / 3, 10);
    expect(report.majority['superglue-cb']).toMatchObject({ label: '0', metric: 'accuracy', value: 50 });
    expect(report.majority.stsb).toBeUndefined();
    // With F1 of the positive class, a majority of "0" scores 0; CB's macro-F1: (2/3) / 3 classes.
    expect(majorityBaseline('mrpc', ['0', '0', '1'], 'f1')?.value).toBe(0);
    expect(majorityBaseline('superglue-cb', ['0', '0', '1', '2'], 'f1_multiclass')?.value).toBeCloseTo(200 / 9, 10);
    expect(markdown).toContain('| task (metric) | k=4 | majority class |');
    expect(markdown).toContain('| rte (accuracy) | 50.0 (n=1) | 66.7 ("0") |');
    expect(markdown).toContain('| stsb (pearson) | 10.0 (n=1) | – |');
    expect(markdown).toContain('Majority class: the most frequent test label predicted for every test row');
    const svg = readFileSync(join(dir, 'report.svg'), 'utf8');
    expect(svg).toContain('majority "0" 66.7');
    expect(svg).toContain('stroke-dasharray="5,4"');
  });

  it('the chart: each panel\'s y scale from 0 to a round number above its values (below 0 only for negative ones); no empty columns; titles in a row at one height', async () => {
    for (const [task, v] of [['rte', 45], ['superglue-cb', 61.5], ['cola', -7], ['stsb', 30], ['mrpc', 70]] as const) {
      const metric = { rte: 'accuracy', 'superglue-cb': 'accuracy', cola: 'matthews_correlation', stsb: 'pearson', mrpc: 'accuracy' }[task];
      cell(task, 4, 13, { [metric]: v });
      cell(task, 4, 21, { [metric]: v + 2 });
    }
    const report = buildReport(dir);
    const spec = reportChartSpec(report) as unknown as { columns: number; concat: { title: string; layer: { encoding: { y?: { scale?: { domain?: number[] } } } }[] }[] };
    const domains = Object.fromEntries(spec.concat.map((p) => [p.title, p.layer[0]?.encoding.y?.scale?.domain]));
    expect(domains['rte (accuracy)']?.[0]).toBe(0);
    expect(domains['superglue-cb (accuracy)']?.[0]).toBe(0);
    expect(domains['stsb (pearson)']?.[0]).toBe(0);
    expect(domains['cola (matthews_correlation)']?.[0]).toBeLessThan(-7);
    for (const [title, d] of Object.entries(domains)) {
      const values = report.summary.filter((s) => title.startsWith(`${s.task} (${s.metric})`)).flatMap((s) => [s.mean - (s.std ?? 0), s.mean + (s.std ?? 0)]);
      expect(d?.[1], title).toBeGreaterThan(Math.max(...values));
      expect(d?.[1], title).toBeLessThanOrEqual(100);
    }
    // 5 panels: rows of 3; 2 panels: one row of 2, and the picture is no wider than its panels.
    expect(spec.columns).toBe(3);
    const five = await layout(reportChartSpec(report));
    const firstRow = five.titles.filter((t) => ['cola (matthews_correlation)', 'mrpc (accuracy)', 'rte (accuracy)'].includes(t.text));
    expect(firstRow).toHaveLength(3);
    expect(new Set(firstRow.map((t) => Math.round(t.top))).size).toBe(1);
    const two = buildReport(dir);
    two.headline = { rte: 'accuracy', 'superglue-cb': 'accuracy' };
    two.random_weights = true; // the longest title
    const pair = await layout(reportChartSpec(two));
    expect(pair.titles.filter((t) => t.text.includes('(accuracy)')).map((t) => Math.round(t.top))).toEqual([expect.any(Number), expect.any(Number)]);
    const [a, b] = pair.titles.filter((t) => t.text.includes('(accuracy)'));
    expect(Math.round(a!.top)).toBe(Math.round(b!.top));
    expect(pair.width - pair.right).toBeLessThan(40);
  });
});
