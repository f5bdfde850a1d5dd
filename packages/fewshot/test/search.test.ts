/**
 * The search inside the grid without training: setting ids and order, the rank kept on budget, which search spaces a
 * started grid may move to, the selection from hand-written sub-run files (dev decides, test never, ties to the
 * first), sub-runs as the unit of shards, and the grid folder's refusals.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  claimGridFolder, finishedCells, gridCells, gridRuns, runGrid, searchGrowthProblem, searchSettings, selectSetting, settingId, shardCells, subRunTrain,
  writeSelection, type GridEvent, type GridPlan,
} from '../src/index.ts';

describe('settings of a search space', () => {
  it('names each setting as DePT names its runs: lr, loralr, pl, r, st first, numbers as 3e-1', () => {
    expect(settingId({ lora_lr: 0.005, lr: 0.3 })).toBe('lr3e-1_loralr5e-3');
    expect(settingId({ lr: 0.4, lora_lr: 0.0005 })).toBe('lr4e-1_loralr5e-4');
    expect(settingId({ max_steps: 40000, r: 45, num_virtual_tokens: 40 })).toBe('pl40_r45_st40000');
    expect(settingId({ warmup_steps: 5, lr: 1.5e-3 })).toBe('lr1.5e-3_warmupsteps5');
    expect(settingId({ dropout: false, prompt_init: 'RANDOM' })).toBe('promptinitRANDOM_dropoutfalse');
    expect(settingId({ lr: 2.5 })).toBe('lr2.5e0');
  });

  it('lists every combination in recipe order, the first field varying slowest', () => {
    const settings = searchSettings({ lr: [0.3, 0.4], lora_lr: [5e-3, 5e-4, 1e-4] });
    expect(settings.map((s) => s.id)).toEqual([
      'lr3e-1_loralr5e-3', 'lr3e-1_loralr5e-4', 'lr3e-1_loralr1e-4',
      'lr4e-1_loralr5e-3', 'lr4e-1_loralr5e-4', 'lr4e-1_loralr1e-4',
    ]);
    expect(settings[4]?.values).toEqual({ lr: 0.4, lora_lr: 5e-4 });
    // fields written the other way round: other order of the settings, same folder names
    expect(searchSettings({ lora_lr: [5e-3, 5e-4], lr: [0.3] }).map((s) => s.id)).toEqual(['lr3e-1_loralr5e-3', 'lr3e-1_loralr5e-4']);
  });

  it('refuses fields that cannot be searched, empty or repeated lists, wrong types and clashing names', () => {
    expect(() => searchSettings({})).toThrow('search: no field to search');
    expect(() => searchSettings({ learning_rate: [0.3] })).toThrow('search: unknown field "learning_rate"; a search runs over train fields: num_virtual_tokens, r');
    expect(() => searchSettings({ seed: [1, 2] })).toThrow('search: "seed" cannot be searched');
    expect(() => searchSettings({ micro_batch_size: [1, 2] })).toThrow('"micro_batch_size" cannot be searched: a memory setting');
    expect(() => searchSettings({ lr: [] })).toThrow('search.lr: expected a list of at least one value');
    expect(() => searchSettings({ lr: [0.3, 0.3] })).toThrow('search.lr: lists 0.3 twice');
    expect(() => searchSettings({ lr: ['0.3'] })).toThrow('search.lr: "0.3" is not a number');
    expect(() => searchSettings({ prompt_init_text: ['a b', 'a-b'] })).toThrow('get the same folder name "promptinittexta-b"');
  });
});

describe('the rank of a searched prompt length', () => {
  const base = { num_virtual_tokens: 60, r: 30, max_length: 256 };
  const space = { num_virtual_tokens: [40, 60, 80] };
  it('keeps m·d + r·(s + d) on the budget of the recipe\'s own m, r and s (DePT\'s 100·d for 60, 30)', () => {
    const ranks = searchSettings(space).map((s) => subRunTrain(base, s, space, 768));
    expect(ranks.map((r) => r.train.r)).toEqual([45, 30, 15]);
    expect(ranks.map((r) => r.train.num_virtual_tokens)).toEqual([40, 60, 80]);
    for (const r of ranks) {
      expect(r.budget).toMatchObject({ parameters: 100 * 768, exact: true, of: base });
      const t = r.train as { num_virtual_tokens: number; r: number };
      expect(t.num_virtual_tokens * 768 + t.r * (256 + 768)).toBe(100 * 768);
    }
  });
  it('rounds r down when no rank fits exactly, and refuses a prompt alone over the budget', () => {
    const sub = subRunTrain(base, { id: 'pl50', values: { num_virtual_tokens: 50 } }, { num_virtual_tokens: [50] }, 768);
    expect(sub.train.r).toBe(37); // (76800 − 50·768) / 1024 = 37.5
    expect(sub.budget?.exact).toBe(false);
    expect(() => subRunTrain(base, { id: 'pl101', values: { num_virtual_tokens: 101 } }, { num_virtual_tokens: [101] }, 768))
      .toThrow('search pl101: a prompt of m = 101 tokens already has 77568 parameters, over the budget of 76800');
  });
  it('takes r as given when r is searched too, and leaves other fields alone', () => {
    const both = { num_virtual_tokens: [40], r: [10] };
    const sub = subRunTrain(base, searchSettings(both)[0]!, both, 768);
    expect(sub.train).toMatchObject({ num_virtual_tokens: 40, r: 10 });
    expect(sub.budget).toBeNull();
    const lrs = { lr: [0.4] };
    expect(subRunTrain(base, searchSettings(lrs)[0]!, lrs, 768)).toEqual({ train: { ...base, lr: 0.4 }, budget: null });
  });
});

describe('a started grid\'s search may only grow', () => {
  it('accepts a space that contains the old one and names what a smaller or other one drops or adds', () => {
    expect(searchGrowthProblem({ lr: [0.3] }, { lr: [0.3, 0.4] })).toBeNull();
    expect(searchGrowthProblem({ lr: [0.3, 0.4], lora_lr: [5e-3] }, { lora_lr: [5e-4, 5e-3], lr: [0.4, 0.3] })).toBeNull();
    expect(searchGrowthProblem({ lr: [0.3, 0.4] }, { lr: [0.4] })).toBe('it drops lr 0.3');
    expect(searchGrowthProblem({ lr: [0.3] }, { lr: [0.3], lora_lr: [5e-3] })).toMatch(/^it adds the searched field "lora_lr"/);
    expect(searchGrowthProblem({ lr: [0.3], lora_lr: [5e-3] }, { lr: [0.3] })).toBe('it no longer searches "lora_lr"');
  });
});

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'dept-search-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** A finished sub-run's results.json, written by hand. */
function subRun(cellDir: string, id: string, dev: Record<string, number | null>, test: Record<string, number>): void {
  mkdirSync(join(cellDir, id), { recursive: true });
  writeFileSync(join(cellDir, id, 'results.json'), JSON.stringify({
    dev, test, selected_step: 4, selection_metric: 'f1_multiclass', max_steps: 4, wall_seconds: 1, backend: 'cpu',
    predict: 'score', random_weights: true, train_examples: 4, dev_examples: 10, test_examples: 10,
  }));
}

describe('selection on dev', () => {
  const settings = searchSettings({ lr: [0.3, 0.4], lora_lr: [5e-3, 5e-4] });
  const ids = settings.map((s) => s.id);

  it('keeps the sub-run with the highest dev score by the selection metric; test scores take no part', () => {
    const cell = join(dir, 'cell');
    // dev f1 ranks the third best; test ranks it worst, and accuracy on dev ranks another first
    subRun(cell, ids[0] as string, { f1_multiclass: 40, accuracy: 90 }, { f1_multiclass: 90, accuracy: 90 });
    subRun(cell, ids[1] as string, { f1_multiclass: 45, accuracy: 50 }, { f1_multiclass: 80, accuracy: 80 });
    expect(selectSetting(cell, settings, 'f1_multiclass')).toBeNull(); // unfinished: two sub-runs missing
    subRun(cell, ids[2] as string, { f1_multiclass: 60, accuracy: 50 }, { f1_multiclass: 10, accuracy: 10 });
    subRun(cell, ids[3] as string, { f1_multiclass: 50, accuracy: 50 }, { f1_multiclass: 70, accuracy: 70 });
    const chosen = selectSetting(cell, settings, 'f1_multiclass');
    expect(chosen?.search.selected).toBe('lr4e-1_loralr5e-3');
    const own = JSON.parse(readFileSync(join(cell, 'lr4e-1_loralr5e-3', 'results.json'), 'utf8')) as Record<string, unknown>;
    const { search, ...copied } = chosen as NonNullable<typeof chosen>;
    expect(copied).toEqual(own);
    expect(search.settings.map((s) => [s.id, s.dev])).toEqual([[ids[0], 40], [ids[1], 45], [ids[2], 60], [ids[3], 50]]);
    expect(search.metric).toBe('f1_multiclass');
  });

  it('breaks ties to the first setting in recipe order, and ranks a dev score that is not a number last', () => {
    const cell = join(dir, 'ties');
    subRun(cell, ids[0] as string, { f1_multiclass: null }, { f1_multiclass: 99 });
    subRun(cell, ids[1] as string, { f1_multiclass: 50 }, { f1_multiclass: 1 });
    subRun(cell, ids[2] as string, { f1_multiclass: 50 }, { f1_multiclass: 2 });
    subRun(cell, ids[3] as string, { f1_multiclass: 20 }, { f1_multiclass: 3 });
    expect(selectSetting(cell, settings, 'f1_multiclass')?.search.selected).toBe(ids[1]);
    // all ties: the first
    for (const id of ids) subRun(cell, id, { f1_multiclass: 33 }, { f1_multiclass: Math.random() });
    expect(selectSetting(cell, settings, 'f1_multiclass')?.search.selected).toBe(ids[0]);
  });

  it('refuses a sub-run without the selection metric, naming its file', () => {
    const cell = join(dir, 'bad');
    for (const id of ids) subRun(cell, id, { accuracy: 50 }, { accuracy: 50 });
    expect(() => selectSetting(cell, settings, 'f1_multiclass')).toThrow(`${join(cell, ids[0] as string, 'results.json')}: no dev "f1_multiclass"`);
  });

  it('writes the selection once, and never over a run\'s own results.json', () => {
    const cell = join(dir, 'write');
    for (const [i, id] of ids.entries()) subRun(cell, id, { f1_multiclass: i }, { f1_multiclass: i });
    const chosen = selectSetting(cell, settings, 'f1_multiclass') as NonNullable<ReturnType<typeof selectSetting>>;
    expect(writeSelection(cell, chosen)).toBe(true);
    expect(writeSelection(cell, chosen)).toBe(false);
    const plain = join(dir, 'plain');
    mkdirSync(plain);
    writeFileSync(join(plain, 'results.json'), '{"dev": {}, "test": {}}');
    expect(() => writeSelection(plain, chosen)).toThrow(`${join(plain, 'results.json')}: holds the results of a run, not the selection of a search`);
    expect(readFileSync(join(plain, 'results.json'), 'utf8')).toBe('{"dev": {}, "test": {}}');
  });
});

describe('sub-runs in the grid', () => {
  const cells = gridCells({ tasks: ['superglue-cb', 'rte'], k: [4], seeds: [13, 21] });
  const settings = searchSettings({ lr: [0.3, 0.4], lora_lr: [5e-3, 5e-4] });

  it('are numbered cell by cell, settings in recipe order, and partitioned by shards', () => {
    const runs = gridRuns(cells, settings);
    expect(runs).toHaveLength(16);
    expect(runs.map((r) => r.index)).toEqual([...Array(16).keys()]);
    expect(runs.slice(0, 5).map((r) => r.dir)).toEqual([
      'superglue-cb/k4/seed13/lr3e-1_loralr5e-3', 'superglue-cb/k4/seed13/lr3e-1_loralr5e-4',
      'superglue-cb/k4/seed13/lr4e-1_loralr5e-3', 'superglue-cb/k4/seed13/lr4e-1_loralr5e-4',
      'superglue-cb/k4/seed21/lr3e-1_loralr5e-3',
    ]);
    for (const n of [1, 3, 4, 16, 20]) {
      const seen: number[] = [];
      for (let i = 0; i < n; i++) seen.push(...shardCells(runs, { index: i, count: n }).map((r) => r.index));
      expect(seen.sort((a, b) => a - b)).toEqual(runs.map((r) => r.index));
    }
    // 4 shards: every shard holds one setting of each cell, so a cell's sub-runs run side by side
    expect(shardCells(runs, { index: 1, count: 4 }).map((r) => r.setting?.id)).toEqual(Array(4).fill('lr3e-1_loralr5e-4'));
    // without a search, the runs are the cells
    expect(gridRuns(cells, null).map((r) => [r.index, r.dir])).toEqual(cells.map((c) => [c.index, c.dir]));
  });
});

describe('a searched grid folder', () => {
  const plan = (search: GridPlan['search']): GridPlan => ({
    name: 'g', tasks: ['superglue-cb'], k: [4], seeds: [13, 21], model: { path: join(dir, 'no-model') },
    train: { max_steps: 2, lr: 0.3, lora_lr: 0.01 }, outDir: join(dir, 'out'), ...(search ? { search } : {}),
  });
  const finish = (space: NonNullable<GridPlan['search']>) => {
    claimGridFolder(join(dir, 'out'), ['superglue-cb'], { newFolder: true }); // a dept grid whose sub-runs finished
    for (const cell of ['seed13', 'seed21']) {
      for (const [i, s] of searchSettings(space).entries()) subRun(join(dir, 'out', 'superglue-cb', 'k4', cell), s.id, { f1_multiclass: 10 * ((i + 1) % 2) }, { f1_multiclass: i, accuracy: 0 });
    }
  };

  it('skips finished sub-runs without loading the model, and writes the selection of each complete cell', async () => {
    const space = { lr: [0.3, 0.4] };
    finish(space);
    const events: GridEvent[] = [];
    const result = await runGrid(plan(space), { onEvent: (e) => events.push(e) });
    expect(result.ran).toEqual([]);
    expect(result.skipped.map((r) => r.dir)).toEqual(['superglue-cb/k4/seed13/lr3e-1', 'superglue-cb/k4/seed13/lr4e-1', 'superglue-cb/k4/seed21/lr3e-1', 'superglue-cb/k4/seed21/lr4e-1']);
    expect(result.selections.map((s) => [s.cell.dir, s.setting])).toEqual([['superglue-cb/k4/seed13', 'lr3e-1'], ['superglue-cb/k4/seed21', 'lr3e-1']]);
    expect(events.filter((e) => e.type === 'select')).toHaveLength(2);
    const cell = JSON.parse(readFileSync(join(dir, 'out', 'superglue-cb/k4/seed13/results.json'), 'utf8')) as { search: { selected: string }; test: unknown };
    expect(cell.search.selected).toBe('lr3e-1');
    expect(cell.test).toEqual({ f1_multiclass: 0, accuracy: 0 });
    const grid = JSON.parse(readFileSync(join(dir, 'out', 'grid.json'), 'utf8')) as { settings: { search: unknown; train: Record<string, unknown> }; search: { settings: { id: string }[] } };
    expect(grid.settings.search).toEqual([{ field: 'lr', values: [0.3, 0.4] }]);
    expect(grid.settings.train.lr).toBeUndefined(); // the setting decides lr, not the train block
    expect(grid.search.settings.map((s) => s.id)).toEqual(['lr3e-1', 'lr4e-1']);
    // a second call finds nothing to write
    expect((await runGrid(plan(space))).selections).toEqual([]);
  });

  it('refuses a search that does not contain the old one, and a search where there was none (or the reverse)', async () => {
    finish({ lr: [0.3, 0.4] });
    await runGrid(plan({ lr: [0.3, 0.4] }));
    const gridJson = join(dir, 'out', 'grid.json');
    await expect(runGrid(plan({ lr: [0.3] }))).rejects.toThrow(`${gridJson}: this grid folder was run with another search, and the new one does not contain it: it drops lr 0.4; a started grid's search may only grow`);
    await expect(runGrid(plan({ lr: [0.3, 0.4], lora_lr: [0.01] }))).rejects.toThrow('it adds the searched field "lora_lr"');
    await expect(runGrid(plan(undefined))).rejects.toThrow(`${gridJson}: this grid folder was run with a search over lr (a sub-run per setting under each cell)`);
    // a different value of a field that the search sets is no change; another train field is
    await expect(runGrid({ ...plan({ lr: [0.3, 0.4] }), train: { max_steps: 2, lr: 0.9, lora_lr: 0.01 } })).resolves.toBeDefined();
    await expect(runGrid({ ...plan({ lr: [0.3, 0.4] }), train: { max_steps: 2, lr: 0.3, lora_lr: 0.02 } })).rejects.toThrow('a different "train.lora_lr"');
    // the refusals left every file as it was
    expect(JSON.parse(readFileSync(gridJson, 'utf8')).settings.search).toEqual([{ field: 'lr', values: [0.3, 0.4] }]);

    const plainDir = join(dir, 'plain');
    claimGridFolder(plainDir, ['superglue-cb'], { newFolder: true });
    mkdirSync(join(plainDir, 'superglue-cb', 'k4', 'seed13'), { recursive: true });
    mkdirSync(join(plainDir, 'superglue-cb', 'k4', 'seed21'), { recursive: true });
    writeFileSync(join(plainDir, 'superglue-cb', 'k4', 'seed13', 'results.json'), '{}');
    writeFileSync(join(plainDir, 'superglue-cb', 'k4', 'seed21', 'results.json'), '{}');
    await runGrid({ ...plan(undefined), outDir: plainDir });
    await expect(runGrid({ ...plan({ lr: [0.3] }), outDir: plainDir })).rejects.toThrow(`${join(plainDir, 'grid.json')}: this grid folder was run without a search (its cells are run folders)`);
  });

  it('runs only the new settings of a grown search, and keeps the old selections until they are complete again', async () => {
    finish({ lr: [0.3, 0.4] });
    await runGrid(plan({ lr: [0.3, 0.4] }));
    const events: GridEvent[] = [];
    // lr 0.5 is new: its sub-runs need the model (missing here), the finished ones are skipped
    await expect(runGrid(plan({ lr: [0.3, 0.4, 0.5] }), { onEvent: (e) => events.push(e) })).rejects.toThrow(/no-model: no model here/);
    expect(events.filter((e) => e.type === 'skip').map((e) => (e.type === 'skip' ? e.run.dir : ''))).toEqual([
      'superglue-cb/k4/seed13/lr3e-1', 'superglue-cb/k4/seed13/lr4e-1', 'superglue-cb/k4/seed21/lr3e-1', 'superglue-cb/k4/seed21/lr4e-1',
    ]);
    const grid = JSON.parse(readFileSync(join(dir, 'out', 'grid.json'), 'utf8')) as { search: { settings: { id: string }[] } };
    expect(grid.search.settings.map((s) => s.id)).toEqual(['lr3e-1', 'lr4e-1', 'lr5e-1']);
    expect(existsSync(join(dir, 'out', 'superglue-cb/k4/seed13/results.json'))).toBe(true);
    // …but a cell counts as finished only with a selection among all of the grid's settings
    const cells = gridCells(plan(undefined));
    expect(finishedCells(join(dir, 'out'), cells)).toEqual([]);
    // once lr 0.5 has finished with the best dev score, the selection moves to it
    for (const cell of ['seed13', 'seed21']) subRun(join(dir, 'out', 'superglue-cb', 'k4', cell), 'lr5e-1', { f1_multiclass: 99 }, { f1_multiclass: 5, accuracy: 5 });
    const result = await runGrid(plan({ lr: [0.3, 0.4, 0.5] }));
    expect(result.selections.map((s) => s.setting)).toEqual(['lr5e-1', 'lr5e-1']);
    expect(finishedCells(join(dir, 'out'), cells).map((c) => c.dir)).toEqual(['superglue-cb/k4/seed13', 'superglue-cb/k4/seed21']);
  });
});
