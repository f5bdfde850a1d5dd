/**
 * `dept fewshot`, `dept report` and `dept quickstart` as a user runs them (child processes): a tiny random model on
 * real data from ../shared (two tasks × two k × two seeds), resumed, sharded by flag and by Slurm variables, and the
 * report files checked against numbers recomputed here from each cell's own results.json.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { T5Tokenizer } from '@dept/t5';
import { loadDeptDataset } from '@dept/tasks';
import { REPO_ROOT, describeShared, sharedPath } from './helpers/shared.ts';

const CLI = join(REPO_ROOT, 'packages', 'cli', 'bin', 'dept.mjs');
const BACKEND = process.env.DEPT_BACKEND ?? 'wasm';

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function dept(args: string[], opts: { cwd?: string; env?: Record<string, string | undefined> } = {}): Run {
  const env: Record<string, string | undefined> = { ...process.env, CI: '1', DEPT_BACKEND: BACKEND, ...opts.env };
  for (const key of Object.keys(env)) if (env[key] === undefined) delete env[key];
  for (const key of ['SLURM_ARRAY_TASK_ID', 'SLURM_ARRAY_TASK_COUNT', 'SLURM_ARRAY_TASK_MIN', 'SLURM_ARRAY_TASK_STEP', 'JOB_COMPLETION_INDEX']) {
    if (!opts.env || !(key in opts.env)) delete env[key];
  }
  const res = spawnSync(process.execPath, [CLI, ...args], { cwd: opts.cwd ?? REPO_ROOT, env: env as NodeJS.ProcessEnv, encoding: 'utf8', timeout: 300_000 });
  return { status: res.status, stdout: res.stdout, stderr: res.stderr };
}

function expectOk(run: Run): void {
  if (run.status !== 0) throw new Error(`dept exited with ${run.status}:\n${run.stderr.slice(-3000)}`);
}

interface CellResultsFile {
  test: Record<string, number>;
  dev: Record<string, number>;
  selected_step: number;
  wall_seconds: number;
  random_weights: boolean;
}

const TASKS = ['superglue-cb', 'superglue-copa'];
const KS = [4, 8];
const SEEDS = [13, 21];
/** Grid order, written out here independently of the code: tasks, then k, then seeds. */
const CELLS = TASKS.flatMap((task) => KS.flatMap((k) => SEEDS.map((seed) => ({ task, k, seed, dir: `${task}/k${k}/seed${seed}` }))));

function readCell(out: string, dir: string): CellResultsFile {
  return JSON.parse(readFileSync(join(out, dir, 'results.json'), 'utf8')) as CellResultsFile;
}

function meanStd(values: number[]): { mean: number; std: number } {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const std = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / (values.length - 1));
  return { mean, std };
}

describeShared('dept fewshot on real data (../shared)', () => {
  let tmp: string;
  let recipe: string;
  let out: string;
  let first: Run;

  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), 'dept-fewshot-e2e-'));
    out = join(tmp, 'grid');
    recipe = join(tmp, 'recipe.yaml');
    writeFileSync(recipe, [
      'name: e2e',
      'model:',
      `  path: ${JSON.stringify(join(tmp, 'model'))}`,
      '  init: {preset: tiny-relu, seed: 0}',
      `data: {dir: ${JSON.stringify(sharedPath('data', 'superglue-fewglue'))}}`,
      `tasks: [${TASKS.join(', ')}]`,
      `k: [${KS.join(', ')}]`,
      `seeds: [${SEEDS.join(', ')}]`,
      'train: {num_virtual_tokens: 4, r: 2, max_length: 32, max_steps: 4, eval_steps: 4, save_steps: 2, warmup_steps: 1, batch_size: 4, lr: 3, lora_lr: 1, predict: score, log_steps: 2}',
      `out: ${JSON.stringify(out)}`,
      '',
    ].join('\n'));
    first = dept(['fewshot', recipe]);
  }, 300_000);

  afterAll(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('trains every cell into <out>/<task>/k<k>/seed<seed> and prints the Markdown table', () => {
    expectOk(first);
    expect(first.stderr).toContain('grid: 8 cells');
    expect(first.stderr).toContain('grid: 8 cells trained, 0 skipped');
    for (const c of CELLS) expect(existsSync(join(out, c.dir, 'results.json')), c.dir).toBe(true);
    expect(first.stdout).toContain('| task (metric) | k=4 | k=8 |');
    expect(first.stdout).toContain('RANDOM WEIGHTS — not a result');
    for (const name of ['results.json', 'results.csv', 'report.md', 'report.svg', 'report.png']) {
      expect(first.stderr).toContain(`wrote ${join(out, name)}`);
      expect(first.stdout).not.toContain(join(out, name));
    }
    const grid = JSON.parse(readFileSync(join(out, 'grid.json'), 'utf8')) as { cells: { dir: string; index: number }[] };
    expect(grid.cells.map((c) => c.dir)).toEqual(CELLS.map((c) => c.dir));
  });

  it('skips every finished cell when run again', () => {
    const before = CELLS.map((c) => statSync(join(out, c.dir, 'results.json')).mtimeMs);
    const again = dept(['fewshot', recipe]);
    expectOk(again);
    expect(again.stderr).toContain('grid: 0 cells trained, 8 skipped');
    expect(again.stderr.match(/finished, skipped/g)).toHaveLength(8);
    expect(again.stderr).not.toContain('training (');
    expect(CELLS.map((c) => statSync(join(out, c.dir, 'results.json')).mtimeMs)).toEqual(before);
  });

  it('writes results.json, results.csv, report.md and report.svg from the cells\' own numbers', () => {
    const cells = new Map(CELLS.map((c) => [c.dir, readCell(out, c.dir)]));
    const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as {
      cells: { task: string; k: number; seed: number; metrics: Record<string, number>; selected_step: number; wall_seconds: number }[];
      summary: { task: string; k: number; metric: string; mean: number; std: number | null; n: number }[];
      model: string; backend: string; random_weights: boolean;
    };
    expect(results.random_weights).toBe(true);
    expect(results.model).toBe(join(tmp, 'model'));
    expect(results.backend).toBe(BACKEND);
    expect(results.cells.map((c) => `${c.task}/k${c.k}/seed${c.seed}`)).toEqual(CELLS.map((c) => c.dir));
    for (const c of results.cells) {
      const own = cells.get(`${c.task}/k${c.k}/seed${c.seed}`) as CellResultsFile;
      expect(c.metrics).toEqual(own.test);
      expect(c.selected_step).toBe(own.selected_step);
      expect(c.wall_seconds).toBe(own.wall_seconds);
    }
    // every task × k × metric: mean and sample std over the two seeds, recomputed here
    const md = readFileSync(join(out, 'report.md'), 'utf8');
    const svg = readFileSync(join(out, 'report.svg'), 'utf8');
    let rows = 0;
    for (const task of TASKS) {
      const metrics = Object.keys((cells.get(`${task}/k${KS[0]}/seed${SEEDS[0]}`) as CellResultsFile).test);
      expect(metrics.length).toBeGreaterThan(0);
      const headline = 'accuracy'; // CB and COPA: the paper's tables report accuracy
      const mdCells: string[] = [];
      for (const k of KS) {
        for (const metric of metrics) {
          const values = SEEDS.map((seed) => (cells.get(`${task}/k${k}/seed${seed}`) as CellResultsFile).test[metric] as number);
          const { mean, std } = meanStd(values);
          const row = results.summary.find((s) => s.task === task && s.k === k && s.metric === metric);
          expect(row, `${task} k=${k} ${metric}`).toBeDefined();
          expect(row?.n).toBe(2);
          expect(row?.mean).toBeCloseTo(mean, 9);
          expect(row?.std).toBeCloseTo(std, 9);
          expect(md).toContain(`| ${task} | ${k} | ${metric} | ${mean.toFixed(2)} | ${std.toFixed(2)} | 2 |`);
          rows++;
          if (metric === headline) {
            mdCells.push(`${mean.toFixed(1)} ± ${std.toFixed(1)}`);
            expect(svg).toContain(`>${mean.toFixed(1)}</text>`);
          }
        }
      }
      expect(md).toContain(`| ${task} (${headline}) | ${mdCells.join(' | ')} |`);
      expect(svg).toContain(`${task} (${headline})`);
    }
    expect(results.summary).toHaveLength(rows);
    expect(md.split('\n')[0]).toBe('# Few-shot results: e2e — RANDOM WEIGHTS — not a result');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('RANDOM WEIGHTS — not a result');

    const csv = readFileSync(join(out, 'results.csv'), 'utf8').trim().split('\n');
    const header = (csv[0] as string).split(',');
    expect(header.slice(0, 8)).toEqual(['task', 'k', 'seed', 'selected_step', 'wall_seconds', 'random_weights', 'data_folder', 'data_layout']);
    expect(csv).toHaveLength(1 + CELLS.length);
    for (const [i, c] of CELLS.entries()) {
      const fields = (csv[i + 1] as string).split(',');
      expect(fields.slice(0, 3)).toEqual([c.task, String(c.k), String(c.seed)]);
      const own = cells.get(c.dir) as CellResultsFile & { data: { folder: string; layout: string } };
      // A random model: every row says so; the folder and layout the cell read, as its results.json records them.
      expect(fields.slice(5, 8)).toEqual(['true', own.data.folder, own.data.layout]);
      for (const [j, name] of header.entries()) {
        if (j < 8) continue;
        const expected = own.test[name];
        expect(fields[j]).toBe(expected === undefined ? '' : String(expected));
      }
    }
    const png = readFileSync(join(out, 'report.png'));
    expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
  });

  it('dept report regenerates the files, and --json prints the results JSON on stdout', () => {
    const before = readFileSync(join(out, 'results.json'), 'utf8');
    rmSync(join(out, 'report.md'));
    rmSync(join(out, 'report.png'));
    const run = dept(['report', out, '--json']);
    expectOk(run);
    expect(existsSync(join(out, 'report.md'))).toBe(true);
    expect(existsSync(join(out, 'report.png'))).toBe(true);
    expect(JSON.parse(run.stdout)).toEqual(JSON.parse(before));
    expect(run.stderr).toContain(`wrote ${join(out, 'report.svg')}`);
    const bad = dept(['report', join(tmp, 'nothing-here')]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain(`dept: error: ${join(tmp, 'nothing-here')}: not a folder`);
  });

  it('--shard 0/2 and --shard 1/2 together run each cell exactly once, with the same results as one process', () => {
    const sharded = join(tmp, 'sharded');
    const even = CELLS.filter((_, i) => i % 2 === 0).map((c) => c.dir);
    const s0 = dept(['fewshot', recipe, '--out', sharded, '--shard', '0/2']);
    expectOk(s0);
    expect(s0.stderr).toContain('grid: 8 cells; shard 0/2 runs 4');
    expect(CELLS.filter((c) => existsSync(join(sharded, c.dir, 'results.json'))).map((c) => c.dir)).toEqual(even);
    expect(CELLS.filter((c) => existsSync(join(sharded, c.dir))).map((c) => c.dir)).toEqual(even);
    const mtimes = even.map((d) => statSync(join(sharded, d, 'results.json')).mtimeMs);
    // the report of a partial grid says so
    expect(readFileSync(join(sharded, 'report.md'), 'utf8')).toContain('cells: 4 finished of 8 in grid.json (incomplete');

    const s1 = dept(['fewshot', recipe, '--out', sharded, '--shard', '1/2']);
    expectOk(s1);
    expect(s1.stderr).toContain('grid: 4 cells trained, 0 skipped');
    expect(s1.stderr).not.toMatch(/seed=\d+: finished, skipped/);
    for (const c of CELLS) expect(existsSync(join(sharded, c.dir, 'results.json')), c.dir).toBe(true);
    expect(even.map((d) => statSync(join(sharded, d, 'results.json')).mtimeMs)).toEqual(mtimes);
    for (const c of CELLS) {
      const a = readCell(out, c.dir);
      const b = readCell(sharded, c.dir);
      expect({ test: b.test, dev: b.dev, step: b.selected_step }, c.dir).toEqual({ test: a.test, dev: a.dev, step: a.selected_step });
    }
    const report = JSON.parse(readFileSync(join(sharded, 'results.json'), 'utf8')) as { cells: unknown[] };
    expect(report.cells).toHaveLength(8);
  });

  it('takes the shard from Slurm array variables', () => {
    const slurm = join(tmp, 'slurm');
    // --k 4 → 4 cells: cb/k4/seed13 (0), cb/k4/seed21 (1), copa/k4/seed13 (2), copa/k4/seed21 (3)
    const r1 = dept(['fewshot', recipe, '--out', slurm, '--k', '4'], { env: { SLURM_ARRAY_TASK_ID: '1', SLURM_ARRAY_TASK_COUNT: '2' } });
    expectOk(r1);
    expect(r1.stderr).toContain('grid: 4 cells; shard 1/2 runs 2');
    const done = () => CELLS.filter((c) => existsSync(join(slurm, c.dir, 'results.json'))).map((c) => c.dir);
    expect(done()).toEqual(['superglue-cb/k4/seed21', 'superglue-copa/k4/seed21']);
    const r0 = dept(['fewshot', recipe, '--out', slurm, '--k', '4'], { env: { SLURM_ARRAY_TASK_ID: '0', SLURM_ARRAY_TASK_COUNT: '2' } });
    expectOk(r0);
    expect(r0.stderr).toContain('grid: 2 cells trained, 0 skipped');
    expect(done()).toEqual(['superglue-cb/k4/seed13', 'superglue-cb/k4/seed21', 'superglue-copa/k4/seed13', 'superglue-copa/k4/seed21']);
    // an explicit --shard wins over the environment; a Kubernetes index needs --shards
    const k8s = dept(['fewshot', recipe, '--out', slurm, '--k', '4'], { env: { JOB_COMPLETION_INDEX: '1' } });
    expect(k8s.status).toBe(2);
    expect(k8s.stderr).toContain('JOB_COMPLETION_INDEX is set');
    const both = dept(['fewshot', recipe, '--out', slurm, '--k', '4', '--shards', '2'], { env: { JOB_COMPLETION_INDEX: '1' } });
    expectOk(both);
    expect(both.stderr).toContain('grid: 0 cells trained, 2 skipped');
  });

  it('refuses to reuse a grid folder with other settings, in one line', () => {
    const run = dept(['fewshot', recipe, '--lr', '0.5']);
    expect(run.status).toBe(2);
    expect(run.stderr.trim().split('\n').pop()).toBe(`dept: error: ${join(out, 'grid.json')}: this grid folder was run with a different "train.lr"; use --overwrite to re-run its cells or another --out`);
  });
});

describe('dept quickstart', () => {
  let tmp: string;
  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), 'dept-quickstart-'));
  });
  afterAll(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('runs recipes/quickstart.yaml from any folder, offline, with --out, on the bundled sample', async () => {
    const out = join(tmp, 'qs');
    const model = join(tmp, 'model');
    const elsewhere = join(tmp, 'cwd');
    mkdirSync(elsewhere);
    // A short version of the grid (the recipe's 40 steps take about a minute); everything else as shipped.
    const run = dept(['quickstart', '--out', out, '--model', model, '--max-steps', '2', '--eval-steps', '2', '--save-steps', '2', '--warmup-steps', '1'], {
      cwd: elsewhere,
      env: { DEPT_SHARED: join(tmp, 'no-shared-here'), DEPT_DATA: undefined },
    });
    expectOk(run);
    expect(run.stderr).toContain('grid: 8 cells trained, 0 skipped');
    expect(run.stdout).toContain('# Few-shot results: quickstart — RANDOM WEIGHTS — not a result');
    expect(run.stdout).toContain('| task (metric) | k=4 | k=16 |');
    expect(run.stdout).toMatch(/\| superglue-cb \(accuracy\) \| [\d.]+ ± [\d.]+ \| [\d.]+ ± [\d.]+ \|/);
    expect(run.stdout).toMatch(/\| rte \(accuracy\) \| [\d.]+ ± [\d.]+ \| [\d.]+ ± [\d.]+ \|/);
    const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as { cells: unknown[]; random_weights: boolean };
    expect(results.cells).toHaveLength(8);
    expect(results.random_weights).toBe(true);
    const grid = JSON.parse(readFileSync(join(out, 'grid.json'), 'utf8')) as { recipe: { data: { dir: string } } };
    expect(grid.recipe.data.dir).toBe(join(REPO_ROOT, 'datasets', 'sample'));
    expect(existsSync(join(elsewhere, 'runs'))).toBe(false);

    // The demo tokenizer was built from the sample data: no word of it is <unk>, and each word is one token.
    const tok = T5Tokenizer.fromFolder(model);
    const unk = tok.tokenId('<unk>');
    for (const task of ['superglue-cb', 'rte']) {
      const ds = await loadDeptDataset(task, { dataDir: join(REPO_ROOT, 'datasets', 'sample') });
      let parts = 0;
      let tokens = 0;
      for (const e of [...ds.train, ...ds.dev, ...ds.test]) {
        const ids = tok.encode(e.source);
        expect(ids.includes(unk as number), e.source).toBe(false);
        tokens += ids.length - 1;
        parts += (e.source.match(/[\p{L}\p{N}]+|[^\p{L}\p{N}\s]/gu) ?? []).length;
      }
      expect(Math.abs(tokens - parts)).toBeLessThanOrEqual(parts * 0.02);
    }
  }, 300_000);
});
