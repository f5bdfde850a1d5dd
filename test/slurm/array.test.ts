/**
 * The grid under a real Slurm scheduler (issue 17): a one-node cluster on this machine runs
 * examples/slurm/fewshot-array.sh as a 3-task array with an offset and a throttle (`--array=1-3%2`) over a 6-cell
 * grid of a random tiny model; one task is cancelled mid-cell with `scancel` and re-submitted alone
 * (`sbatch --array=2`), another is requeued mid-cell with `scontrol requeue`; then `dept report` of the grid folder
 * must equal the report of the same grid run by one process (all numbers are of random weights: not results). A
 * grid with a hyper-parameter search runs as a 3-task array of sub-runs, and its selections and per-setting report
 * equal one process's.
 * Skips, saying why, where Slurm cannot start (not installed, not root).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/shared.ts';
import { bankBytes } from '../reliability/runs.ts';
import { clusterProcesses, slurmUnavailable, startSlurmCluster, type SlurmCluster } from './cluster.ts';

const CLI = join(REPO_ROOT, 'packages', 'cli', 'bin', 'dept.mjs');
const SCRIPT = join(REPO_ROOT, 'examples', 'slurm', 'fewshot-array.sh');
const SEEDS = [1, 2, 3];
const KS = [4, 8];
/** Grid order written out here: k, then seed (one task). Shard s of 3 runs cells s and s + 3. */
const CELLS = KS.flatMap((k) => SEEDS.map((seed) => `superglue-cb/k${k}/seed${seed}`));
const SHARD_CELLS = [0, 1, 2].map((s) => [CELLS[s], CELLS[s + 3]] as string[]);

const unavailable = slurmUnavailable();
const describeSlurm = unavailable ? describe.skip : describe;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function dept(args: string[], env: Record<string, string> = {}): { status: number | null; stdout: string; stderr: string } {
  const res = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 300_000, env: { ...cleanEnv(), DEPT_WASM_THREADS: '1', ...env } });
  return { status: res.status, stdout: res.stdout, stderr: res.stderr };
}

/** `dept` as a child process that runs beside the test's waiting; resolves when it ends. */
function deptAsync(args: string[]): Promise<{ status: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...cleanEnv(), DEPT_WASM_THREADS: '1' }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString('utf8')));
    child.on('close', (status) => resolve({ status, stderr }));
  });
}

/** This process's environment without any scheduler variables (the suite itself may run inside a Slurm job). */
function cleanEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) if (value !== undefined && !/^(SLURM_|JOB_COMPLETION_INDEX$)/.test(key)) env[key] = value;
  return env;
}

/** The report without what differs between two runs of the same cells: wall times. */
function stableReport(out: string): { json: unknown; md: string; csv: string[][] } {
  const json = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as { cells: Record<string, unknown>[] };
  const md = readFileSync(join(out, 'report.md'), 'utf8').split('\n').filter((l) => !l.includes('total training wall time')).join('\n');
  const csv = readFileSync(join(out, 'results.csv'), 'utf8').trim().split('\n').map((l) => l.split(','));
  const wall = (csv[0] as string[]).indexOf('wall_seconds');
  return { json: { ...json, cells: json.cells.map((c) => ({ ...c, wall_seconds: undefined })) }, md, csv: csv.map((row) => row.filter((_, i) => i !== wall)) };
}

const finished = (out: string, cell: string) => existsSync(join(out, cell, 'results.json'));
const checkpointed = (out: string, cell: string) => existsSync(join(out, cell, 'checkpoint', 'state.json'));

describeSlurm(unavailable ? `dept fewshot on a Slurm cluster (skipped: ${unavailable})` : 'dept fewshot on a Slurm cluster', () => {
  let cluster: SlurmCluster | null = null;
  let startError: Error | null = null;
  let tmp: string;
  let out: string;
  let recipe: string;
  let submitEnv: Record<string, string>;
  const jobs: string[] = [];
  /** The same grid run by one process, outside Slurm (started beside the array, to use the cores while it waits). */
  let reference: Promise<{ status: number | null; stderr: string }> | null = null;

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'dept-slurm-grid-'));
    out = join(tmp, 'grid');
    recipe = join(tmp, 'recipe.yaml');
    mkdirSync(join(tmp, 'logs'));
    writeFileSync(recipe, [
      'name: slurm-array',
      'model:',
      `  path: ${JSON.stringify(join(tmp, 'model'))}`,
      '  init: {preset: tiny-relu, seed: 5}',
      `data: {dir: ${JSON.stringify(join(REPO_ROOT, 'datasets', 'sample'))}}`,
      'tasks: [superglue-cb]',
      `k: [${KS.join(', ')}]`,
      `seeds: [${SEEDS.join(', ')}]`,
      // 80 steps (a second or more a cell): long enough to stop a cell after its first checkpoints
      'train: {num_virtual_tokens: 4, r: 2, max_length: 32, max_steps: 80, eval_steps: 40, save_steps: 4, warmup_steps: 5, batch_size: 8, lr: 3, lora_lr: 1, predict: score, log_steps: 20}',
      '',
    ].join('\n'));
    submitEnv = { DEPT: `${process.execPath} ${CLI}`, DEPT_RECIPE: recipe, DEPT_OUT: out, DEPT_SHARDS: '3', DEPT_WASM_THREADS: '1', CI: '1' };
    const started = await startSlurmCluster();
    try {
      await started.ready();
      cluster = started;
    } catch (error) {
      startError = error as Error;
      console.warn(`test/slurm: skipping, the Slurm cluster did not start: ${startError.message}`);
      await started.stop();
    }
  }, 120_000);

  afterAll(async () => {
    await reference;
    await cluster?.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  }, 60_000);

  const logOf = (job: string, task: number) => readFileSync(join(tmp, 'logs', `dept-fewshot-${job}_${task}.log`), 'utf8');
  const sbatch = (array: string) => {
    const job = (cluster as SlurmCluster).sbatch([`--array=${array}`, '--cpus-per-task=1', '--mem=200', SCRIPT], { cwd: tmp, env: submitEnv });
    jobs.push(job);
    return job;
  };
  /** Waits until `cell` has a checkpoint and no results (mid-cell), then runs `act`. */
  const midCell = async (cell: string, act: () => void) => {
    const end = Date.now() + 120_000;
    while (!checkpointed(out, cell)) {
      if (finished(out, cell)) throw new Error(`${cell} finished before it was seen mid-cell`);
      if (Date.now() > end) throw new Error(`${cell}: no checkpoint within 120 s\n${cluster?.logs()}`);
      await sleep(50);
    }
    act();
    expect(finished(out, cell), `${cell} was still training when it was stopped`).toBe(false);
  };

  it('runs the array with an offset and a throttle; a task cancelled and re-submitted, one requeued, all resume', async (ctx) => {
    if (!cluster) ctx.skip(`the Slurm cluster did not start: ${startError?.message}`);
    const c = cluster as SlurmCluster;
    const job = sbatch('1-3%2');
    reference = deptAsync(['fewshot', recipe, '--out', join(tmp, 'one-process')]);
    // task 2 (shard 1) is cancelled during its first cell; task 3 (shard 2, started after one of the others ended) is
    // requeued during its first cell
    await midCell(SHARD_CELLS[1]![0]!, () => c.command('scancel', [`${job}_2`]));
    await midCell(SHARD_CELLS[2]![0]!, () => c.command('scontrol', ['requeue', `${job}_3`]));
    await c.waitGone(job, 180_000);
    expect(c.command('scontrol', ['show', 'job', `${job}_2`])).toContain('JobState=CANCELLED');
    expect(c.command('scontrol', ['show', 'job', `${job}_3`])).toMatch(/JobState=COMPLETED .*\n.*Restarts=1/);
    expect(CELLS.filter((cell) => finished(out, cell))).toEqual(CELLS.filter((cell) => !SHARD_CELLS[1]!.includes(cell)));
    expect(checkpointed(out, SHARD_CELLS[1]![0]!)).toBe(true);
    expect(existsSync(join(out, SHARD_CELLS[1]![1]!))).toBe(false);
    // the grid folder recorded the first array: ids 1-3 are shards 0-2
    expect(JSON.parse(readFileSync(join(out, '.shards', 'slurm-array.json'), 'utf8'))).toMatchObject({ count: 3, first: 1, step: 1, array_job_id: job });

    // the cancelled task alone: its own array is --array=2 (COUNT 1, MIN = MAX = 2), its shard still 1 of 3
    const rerun = sbatch('2');
    await c.waitGone(rerun, 180_000);
    expect(c.command('scontrol', ['show', 'job', `${rerun}_2`])).toContain('JobState=COMPLETED');
    for (const cell of CELLS) expect(finished(out, cell), cell).toBe(true);

    const logs = { 1: logOf(job, 1), 2: logOf(job, 2), 3: logOf(job, 3), rerun: logOf(rerun, 2) };
    const ran = (log: string) => [...log.matchAll(/superglue-cb k=(\d+) seed=(\d+): done/g)].map((m) => `superglue-cb/k${m[1]}/seed${m[2]}`);
    expect(logs[1]).toContain(`shard 0/3: Slurm array job ${job} task 1;`);
    expect(ran(logs[1])).toEqual(SHARD_CELLS[0]);
    expect(logs[2]).toContain(`shard 1/3: Slurm array job ${job} task 2;`);
    expect(logs[2]).toMatch(/CANCELLED AT/);
    expect(ran(logs[2])).toEqual([]);
    expect(logs.rerun).toContain(`shard 1/3: Slurm array job ${rerun} task 2; the layout --array=1-3`);
    expect(logs.rerun).toMatch(/superglue-cb k=4 seed=2: resuming at step \d+/);
    expect(ran(logs.rerun)).toEqual(SHARD_CELLS[1]);
    // the requeued task's log holds both attempts (--open-mode=append), and the second one resumed
    expect(logs[3]).toContain(`dept-array: job ${job}_3 restart 0`);
    expect(logs[3]).toMatch(/DUE TO JOB REQUEUE/);
    expect(logs[3]).toContain(`dept-array: job ${job}_3 restart 1`);
    expect(logs[3]).toContain(`shard 2/3: Slurm array job ${job} task 3, restart 1;`);
    expect(logs[3]).toMatch(/superglue-cb k=4 seed=3: resuming at step \d+/);
    expect(ran(logs[3])).toEqual(SHARD_CELLS[2]);
    for (const log of Object.values(logs)) expect(log).not.toContain('dept: error');

    // an array that is not made of the first array's tasks (here 0-1 of 1-3) is refused: one line, exit 2, nothing touched
    const before = CELLS.map((cell) => readFileSync(join(out, cell, 'results.json'), 'utf8'));
    const wrong = sbatch('0-1');
    await c.waitGone(wrong, 120_000);
    for (const task of [0, 1]) {
      expect(c.command('scontrol', ['show', 'job', `${wrong}_${task}`])).toMatch(/JobState=FAILED .*\n.*ExitCode=2:0/);
      const errors = logOf(wrong, task).split('\n').filter((l) => l.startsWith('dept: error: '));
      expect(errors).toEqual([`dept: error: Slurm array job ${wrong} (--array=0-1) is not made of tasks of the array that started this grid (--array=1-3, job ${job}; recorded in ${join(out, '.shards', 'slurm-array.json')}); re-run a failed task by its own id (sbatch --array=<id>), or use another --out`]);
    }
    expect(CELLS.map((cell) => readFileSync(join(out, cell, 'results.json'), 'utf8'))).toEqual(before);
  }, 420_000);

  it('dept report of the grid equals the report of the same grid run by one process', async (ctx) => {
    if (!cluster || !reference || !CELLS.every((cell) => finished(out, cell))) ctx.skip('the array did not finish (see the test before)');
    const report = dept(['report', out]);
    expect(report.status, report.stderr).toBe(0);
    expect(report.stdout).toContain('RANDOM WEIGHTS — not a result');
    const one = join(tmp, 'one-process');
    const run = await (reference as Promise<{ status: number | null; stderr: string }>);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stderr).toContain('grid: 6 cells trained, 0 skipped');
    const sharded = stableReport(out);
    const single = stableReport(one);
    expect(sharded).toEqual(single);
    // every cell's selected bank, byte for byte (the random tiny model scores every cell alike, but the banks of
    // different seeds and k differ, so a cell trained with another cell's settings would show)
    for (const cell of CELLS) expect(bankBytes(join(out, cell)).equals(bankBytes(join(one, cell))), cell).toBe(true);
    expect(new Set(CELLS.map((cell) => bankBytes(join(one, cell)).toString('hex'))).size).toBe(CELLS.length);
  }, 300_000);

  it('a searched grid: array tasks take sub-runs by index through the record, cells are selected, the report equals one process\'s', async (ctx) => {
    if (!cluster) ctx.skip(`the Slurm cluster did not start: ${startError?.message}`);
    const c = cluster as SlurmCluster;
    const sOut = join(tmp, 'search-grid');
    const sOne = join(tmp, 'search-one-process');
    const sRecipe = join(tmp, 'search.yaml');
    writeFileSync(sRecipe, [
      'name: slurm-search',
      `model: {path: ${JSON.stringify(join(tmp, 'search-model'))}, init: {preset: tiny-relu, seed: 5}}`,
      `data: {dir: ${JSON.stringify(join(REPO_ROOT, 'datasets', 'sample'))}}`,
      'tasks: [superglue-cb]',
      'k: [4]',
      'seeds: [1, 2]',
      'train: {num_virtual_tokens: 4, r: 2, max_length: 32, max_steps: 4, eval_steps: 2, save_steps: 2, warmup_steps: 1, batch_size: 4, predict: score}',
      'search: {lr: [0.3, 3], lora_lr: [0.01, 1]}',
      '',
    ].join('\n'));
    // 2 cells × 4 settings = 8 sub-runs; --array=0-2 is 3 shards: task i runs sub-runs i, i + 3, i + 6 (written out here)
    const settings = ['lr3e-1_loralr1e-2', 'lr3e-1_loralr1', 'lr3_loralr1e-2', 'lr3_loralr1'];
    const subRuns = [1, 2].flatMap((seed) => settings.map((id) => `seed=${seed} ${id}`));
    const job = c.sbatch(['--array=0-2', '--cpus-per-task=1', '--mem=200', SCRIPT], { cwd: tmp, env: { ...submitEnv, DEPT_RECIPE: sRecipe, DEPT_OUT: sOut } });
    jobs.push(job);
    const one = await deptAsync(['fewshot', sRecipe, '--out', sOne]);
    expect(one.status, one.stderr).toBe(0);
    await c.waitGone(job, 240_000);
    expect(JSON.parse(readFileSync(join(sOut, '.shards', 'slurm-array.json'), 'utf8'))).toMatchObject({ count: 3, first: 0, step: 1, array_job_id: job });
    for (const task of [0, 1, 2]) {
      const log = logOf(job, task);
      expect(log).toContain(`shard ${task}/3: Slurm array job ${job} task ${task};`);
      expect(log).toContain(`grid: 2 cells × 4 settings = 8 sub-runs; shard ${task}/3 runs ${task < 2 ? 3 : 2}`);
      const ran = [...log.matchAll(/superglue-cb k=4 (seed=\d+ \S+): done/g)].map((m) => m[1]);
      expect(ran, log).toEqual(subRuns.filter((_, i) => i % 3 === task));
      expect(log).not.toContain('dept: error');
    }
    for (const cell of ['seed1', 'seed2']) {
      const a = JSON.parse(readFileSync(join(sOne, 'superglue-cb', 'k4', cell, 'results.json'), 'utf8')) as { search: { selected: string }; test: unknown };
      const b = JSON.parse(readFileSync(join(sOut, 'superglue-cb', 'k4', cell, 'results.json'), 'utf8')) as { search: { selected: string }; test: unknown };
      expect({ selected: b.search.selected, test: b.test }, cell).toEqual({ selected: a.search.selected, test: a.test });
    }
    const report = dept(['report', sOut]);
    expect(report.status, report.stderr).toBe(0);
    const perSetting = (dir: string) => (JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as { search: { per_setting: unknown } }).search.per_setting;
    expect(perSetting(sOut)).toEqual(perSetting(sOne));
    expect(stableReport(sOut).md).toEqual(stableReport(sOne).md);
  }, 420_000);

  it('stops the cluster and leaves no process and no folder behind', async (ctx) => {
    if (!cluster) ctx.skip(`the Slurm cluster did not start: ${startError?.message}`);
    const dir = (cluster as SlurmCluster).dir;
    const { killed } = await (cluster as SlurmCluster).stop();
    expect(killed, 'every job step and daemon ended with the cluster\'s shutdown').toEqual([]);
    expect(clusterProcesses(dir)).toEqual([]);
    expect(existsSync(dir)).toBe(false);
    // one log per array task (a requeued task appends to its own), in the folder the job script names
    const expected = [`${jobs[0]}_1`, `${jobs[0]}_2`, `${jobs[0]}_3`, `${jobs[1]}_2`, `${jobs[2]}_0`, `${jobs[2]}_1`, `${jobs[3]}_0`, `${jobs[3]}_1`, `${jobs[3]}_2`];
    expect(readdirSync(join(tmp, 'logs')).sort()).toEqual(expected.map((id) => `dept-fewshot-${id}.log`).sort());
  }, 60_000);
});
