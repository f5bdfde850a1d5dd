/** The grid's order, shards and their sources (flags, Slurm, Kubernetes), and the grid folder's guards. */
import { existsSync, mkdtempSync, rmSync, writeFileSync, mkdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { gridCells, parseShard, resolveShard, runGrid, shardCells, type GridPlan } from '../src/index.ts';

const PLAN = { tasks: ['super_glue/cb', 'rte'], k: [4, 16], seeds: [13, 21, 42] };

describe('grid order', () => {
  it('is task, then k, then seed, with DePT task names in folder names', () => {
    const cells = gridCells(PLAN);
    expect(cells).toHaveLength(12);
    expect(cells.map((c) => c.dir)).toEqual([
      'superglue-cb/k4/seed13', 'superglue-cb/k4/seed21', 'superglue-cb/k4/seed42',
      'superglue-cb/k16/seed13', 'superglue-cb/k16/seed21', 'superglue-cb/k16/seed42',
      'rte/k4/seed13', 'rte/k4/seed21', 'rte/k4/seed42',
      'rte/k16/seed13', 'rte/k16/seed21', 'rte/k16/seed42',
    ]);
    expect(cells.map((c) => c.index)).toEqual([...Array(12).keys()]);
    expect(cells[7]).toEqual({ index: 7, task: 'rte', k: 4, seed: 21, dir: 'rte/k4/seed21' });
  });

  it('refuses empty and repeated values, naming the field', () => {
    expect(() => gridCells({ ...PLAN, seeds: [] })).toThrow('grid: "seeds" is empty');
    expect(() => gridCells({ ...PLAN, k: [4, 4] })).toThrow('grid: "k" lists 4 twice');
    expect(() => gridCells({ ...PLAN, tasks: ['rte', 'glue/rte'] })).toThrow('grid: "tasks" lists "rte" twice');
    expect(() => gridCells({ ...PLAN, tasks: ['nope'] })).toThrow(/unknown task "nope"/);
  });
});

describe('shards', () => {
  it('parses i/n and refuses the rest', () => {
    expect(parseShard('1/4')).toEqual({ index: 1, count: 4 });
    expect(parseShard(' 0 / 1 ')).toEqual({ index: 0, count: 1 });
    expect(() => parseShard('4/4')).toThrow('--shard "4/4": i must be below n');
    expect(() => parseShard('0/0')).toThrow('n must be at least 1');
    expect(() => parseShard('1-4')).toThrow('expected i/n');
  });

  it('partitions the grid: every cell in exactly one shard, by index modulo n', () => {
    const cells = gridCells(PLAN);
    for (const n of [1, 2, 3, 5, 12, 20]) {
      const seen = new Map<number, number>();
      for (let i = 0; i < n; i++) {
        for (const c of shardCells(cells, { index: i, count: n })) {
          expect(c.index % n).toBe(i);
          seen.set(c.index, (seen.get(c.index) ?? 0) + 1);
        }
      }
      expect([...seen.keys()].sort((a, b) => a - b)).toEqual(cells.map((c) => c.index));
      expect([...seen.values()].every((v) => v === 1)).toBe(true);
    }
    expect(shardCells(cells, { index: 1, count: 5 }).map((c) => c.index)).toEqual([1, 6, 11]);
    expect(shardCells(cells, null)).toHaveLength(12);
  });

  it('comes from --shard first, then Slurm, then a Kubernetes indexed Job', () => {
    expect(resolveShard({ env: {} })).toBeNull();
    expect(resolveShard({ shard: '2/3', env: { SLURM_ARRAY_TASK_ID: '0', SLURM_ARRAY_TASK_COUNT: '5' } })).toEqual({ index: 2, count: 3 });
    expect(resolveShard({ env: { SLURM_ARRAY_TASK_ID: '3', SLURM_ARRAY_TASK_COUNT: '4' } })).toEqual({ index: 3, count: 4 });
    // --array=1-4: ids 1..4 are shards 0..3; --array=0-6:2: ids 0,2,4,6 are shards 0..3
    expect(resolveShard({ env: { SLURM_ARRAY_TASK_ID: '1', SLURM_ARRAY_TASK_MIN: '1', SLURM_ARRAY_TASK_COUNT: '4' } })).toEqual({ index: 0, count: 4 });
    expect(resolveShard({ env: { SLURM_ARRAY_TASK_ID: '6', SLURM_ARRAY_TASK_MIN: '0', SLURM_ARRAY_TASK_STEP: '2', SLURM_ARRAY_TASK_COUNT: '4' } })).toEqual({ index: 3, count: 4 });
    expect(resolveShard({ shards: 6, env: { SLURM_ARRAY_TASK_ID: '5' } })).toEqual({ index: 5, count: 6 });
    expect(resolveShard({ shards: 8, env: { JOB_COMPLETION_INDEX: '7' } })).toEqual({ index: 7, count: 8 });
  });

  it('refuses incomplete or contradictory shard settings with one line each', () => {
    expect(() => resolveShard({ env: { SLURM_ARRAY_TASK_ID: '1' } })).toThrow(/SLURM_ARRAY_TASK_COUNT is not; give --shards n/);
    expect(() => resolveShard({ env: { JOB_COMPLETION_INDEX: '1' } })).toThrow(/JOB_COMPLETION_INDEX is set .* give --shards n/);
    expect(() => resolveShard({ shards: 2, env: {} })).toThrow(/--shards 2 needs the shard index/);
    expect(() => resolveShard({ shards: 2, env: { JOB_COMPLETION_INDEX: '2' } })).toThrow('JOB_COMPLETION_INDEX gives shard 2 but there are only 2 shards');
    expect(() => resolveShard({ shard: '0/2', shards: 3, env: {} })).toThrow(/disagree/);
    expect(() => resolveShard({ env: { SLURM_ARRAY_TASK_ID: 'x', SLURM_ARRAY_TASK_COUNT: '2' } })).toThrow('environment variable SLURM_ARRAY_TASK_ID is "x"');
    expect(() => resolveShard({ env: { SLURM_ARRAY_TASK_ID: '3', SLURM_ARRAY_TASK_STEP: '2', SLURM_ARRAY_TASK_COUNT: '4' } })).toThrow('SLURM_ARRAY_TASK_ID 3 is not a task of the array 0-6:2');
  });
});

describe('grid folder guards', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'dept-grid-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  const plan = (): GridPlan => ({
    name: 'g', tasks: ['superglue-cb'], k: [4], seeds: [13], model: { path: join(dir, 'no-model') },
    train: { max_steps: 2, lr: 0.3 }, outDir: join(dir, 'out'),
  });

  /** A grid folder that dept made (its first run stopped at the missing model), with its one cell then finished. */
  const gridWithFinishedCell = async (p: GridPlan) => {
    await expect(runGrid(p)).rejects.toThrow(/no-model: no model here/);
    mkdirSync(join(p.outDir, 'superglue-cb', 'k4', 'seed13'), { recursive: true });
    writeFileSync(join(p.outDir, 'superglue-cb', 'k4', 'seed13', 'results.json'), '{}');
  };

  it('writes grid.json and skips finished cells without loading the model', async () => {
    const p = plan();
    await gridWithFinishedCell(p);
    const events: string[] = [];
    const result = await runGrid(p, { onEvent: (e) => events.push(e.type) });
    expect(result.skipped.map((c) => c.dir)).toEqual(['superglue-cb/k4/seed13']);
    expect(result.ran).toEqual([]);
    expect(events).toEqual(['plan', 'skip']);
    const grid = JSON.parse(readFileSync(join(p.outDir, 'grid.json'), 'utf8')) as { name: string; cells: unknown[]; settings: { train: { lr: number } } };
    expect(grid.name).toBe('g');
    expect(grid.cells).toEqual([{ index: 0, task: 'superglue-cb', k: 4, seed: 13, dir: 'superglue-cb/k4/seed13' }]);
    expect(grid.settings.train.lr).toBe(0.3);
  });

  it('says in one line when the grid folder cannot be made', async () => {
    writeFileSync(join(dir, 'a-file'), '');
    const outDir = join(dir, 'a-file', 'out');
    await expect(runGrid({ ...plan(), outDir })).rejects.toThrow(`${outDir}: cannot make a grid folder: ${join(dir, 'a-file')} is a file, not a folder`);
  });

  it('refuses to continue a grid folder run with other settings', async () => {
    const p = plan();
    await gridWithFinishedCell(p);
    await runGrid(p);
    await expect(runGrid({ ...p, train: { max_steps: 2, lr: 0.4 } })).rejects.toThrow(`${join(p.outDir, 'grid.json')}: this grid folder was run with a different "train.lr"`);
    // more seeds or tasks are fine: the settings of the finished cells did not change
    await expect(runGrid({ ...p, seeds: [13] })).resolves.toBeDefined();
    // so are smaller micro-batches or evaluation batches (memory only: the remedy a full wasm heap names)
    await expect(runGrid({ ...p, train: { ...p.train, micro_batch_size: 1, eval_batch_size: 3 } })).resolves.toBeDefined();
  });

  it('a shard leaves the grid folder\'s temporaries alone: their writers may be live processes of other machines', async () => {
    const p = plan();
    await gridWithFinishedCell(p);
    // a grid.json being written by a shard on another node: its process id is not alive here
    const foreign = join(p.outDir, `.grid.json.tmp-${2 ** 22 + 4321}-0123abcd`);
    writeFileSync(foreign, '{"half": ');
    await runGrid(p, { shard: { index: 0, count: 2 } });
    expect(existsSync(foreign)).toBe(true);
    // an unsharded run owns the whole folder: leftovers of dead processes go
    await runGrid(p);
    expect(existsSync(foreign)).toBe(false);
  });

  it('refuses a second process on the same grid folder or shard, and shards beside an unsharded run', async () => {
    const p = plan();
    mkdirSync(p.outDir, { recursive: true });
    // a live process (this test's parent) holds the grid's lock
    writeFileSync(join(p.outDir, '.lock'), JSON.stringify({ pid: process.ppid, started: 'now' }));
    await expect(runGrid(p)).rejects.toThrow(`${p.outDir}: in use by process ${process.ppid}`);
    await expect(runGrid(p, { shard: { index: 0, count: 2 } })).rejects.toThrow(`${p.outDir}: an unsharded run of this grid is in progress (process ${process.ppid})`);
    rmSync(join(p.outDir, '.lock'));
    // a live process holds shard 1 of 2: the same shard refuses, and so does an unsharded run
    mkdirSync(join(p.outDir, '.shards', '1-of-2'), { recursive: true });
    writeFileSync(join(p.outDir, '.shards', '1-of-2', '.lock'), JSON.stringify({ pid: process.ppid, started: 'now' }));
    await expect(runGrid(p, { shard: { index: 1, count: 2 } })).rejects.toThrow(`${join(p.outDir, '.shards', '1-of-2')}: in use by process ${process.ppid}`);
    await expect(runGrid(p)).rejects.toThrow(`${p.outDir}: shard 1-of-2 of this grid is running (process ${process.ppid})`);
    // shard 0 runs beside it, and a stale grid lock (dead process) is no obstacle: it reaches its cell's (missing) model
    writeFileSync(join(p.outDir, '.lock'), JSON.stringify({ pid: 2 ** 22 + 12345, started: 'long ago' }));
    await expect(runGrid(p, { shard: { index: 0, count: 2 } })).rejects.toThrow(/no-model: no model here/);
  });
});
