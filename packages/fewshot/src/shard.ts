/**
 * Which shard of a grid this process runs: `--shard i/n`, a Slurm job array or a Kubernetes indexed Job.
 *
 * A Slurm array task knows its own id, but the array it belongs to may not be the grid's: a failed task re-run
 * alone (`sbatch --array=4 job.sh`) sees `SLURM_ARRAY_TASK_COUNT=1` and `MIN=MAX=4`. So the first array that runs a
 * grid folder records its layout in `<grid>/.shards/slurm-array.json` (shard j is array task `first + j·step`, of
 * `count`), and every later array task of that folder takes its shard from the record, by its id. Observed on
 * Slurm 22.05 (see test/slurm/): `--array=1-3` gives MIN 1, MAX 3, STEP 1, COUNT 3; `--array=0-5:2` MIN 0, MAX 4,
 * STEP 2, COUNT 3; a `%` throttle changes none of them; a list `--array=1,4,7` gives MIN 1, MAX 7, STEP 1, COUNT 3;
 * `scontrol requeue` keeps them all and sets `SLURM_RESTART_COUNT`.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DeptError, ensureFolder, readJsonFile } from '@dept/core';
import { createExclusive } from '@dept/train';
import { claimGridFolder } from './grid-folder.ts';

/** A shard: this process runs the cells with `index % count == index`. */
export interface Shard {
  index: number;
  count: number;
}

type Env = Readonly<Record<string, string | undefined>>;

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

function envInt(env: Env, name: string, min: number): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  if (!/^\s*-?\d+\s*$/.test(raw) || Number(raw) < min) throw new DeptError(`environment variable ${name} is "${raw}", expected an integer ≥ ${min}`);
  return Number(raw);
}

/** A Slurm array task as its environment describes it (the array's fields are null when Slurm did not set them). */
export interface SlurmArrayTask {
  /** `SLURM_ARRAY_TASK_ID`. */
  id: number;
  /** `SLURM_ARRAY_JOB_ID`: the array's job id (a re-submission gets a new one; a requeue keeps it). */
  jobId: string | null;
  /** `SLURM_ARRAY_TASK_MIN`, `_MAX`, `_STEP`, `_COUNT`: the array this task was submitted in. */
  min: number | null;
  max: number | null;
  step: number | null;
  count: number | null;
  /** `SLURM_RESTART_COUNT`: how often this task was requeued (0 when unset). */
  restarts: number;
}

/**
 * The Slurm array task of this process's environment, or null outside a job array.
 *
 * @example
 * readSlurmArrayTask({ SLURM_ARRAY_TASK_ID: '2', SLURM_ARRAY_TASK_MIN: '1', SLURM_ARRAY_TASK_MAX: '3', SLURM_ARRAY_TASK_COUNT: '3' });
 * // { id: 2, jobId: null, min: 1, max: 3, step: null, count: 3, restarts: 0 }
 */
export function readSlurmArrayTask(env: Env): SlurmArrayTask | null {
  const id = envInt(env, 'SLURM_ARRAY_TASK_ID', 0);
  if (id === undefined) return null;
  const jobId = env.SLURM_ARRAY_JOB_ID?.trim();
  return {
    id,
    jobId: jobId ? jobId : null,
    min: envInt(env, 'SLURM_ARRAY_TASK_MIN', 0) ?? null,
    max: envInt(env, 'SLURM_ARRAY_TASK_MAX', 0) ?? null,
    step: envInt(env, 'SLURM_ARRAY_TASK_STEP', 1) ?? null,
    count: envInt(env, 'SLURM_ARRAY_TASK_COUNT', 1) ?? null,
    restarts: envInt(env, 'SLURM_RESTART_COUNT', 0) ?? 0,
  };
}

/** The array layout of a sharded grid: shard j is array task `first + j·step`, for j below `count`. */
export interface SlurmArrayLayout {
  count: number;
  first: number;
  step: number;
}

/** `<grid>/.shards/slurm-array.json`: the layout of the first array that ran the grid folder. */
export interface SlurmArrayRecord extends SlurmArrayLayout {
  /** The job id of that array (null when Slurm did not say). */
  array_job_id: string | null;
  recorded: string;
}

/**
 * Where a grid folder records its Slurm array layout.
 *
 * @example
 * slurmArrayRecordPath('runs/fs'); // 'runs/fs/.shards/slurm-array.json'
 */
export function slurmArrayRecordPath(outDir: string): string {
  return join(outDir, '.shards', 'slurm-array.json');
}

/** `--array=` for a layout, e.g. `0-7`, `1-3`, `0-4:2`, `5`. */
function arraySpec(layout: SlurmArrayLayout): string {
  const last = layout.first + (layout.count - 1) * layout.step;
  if (layout.count === 1) return `${layout.first}`;
  return `${layout.first}-${last}${layout.step > 1 ? `:${layout.step}` : ''}`;
}

/** The shard of array task `id` in `layout`, or null when `id` is not one of its tasks. */
function shardOfTask(layout: SlurmArrayLayout, id: number): number | null {
  const offset = id - layout.first;
  if (offset < 0 || offset % layout.step !== 0 || offset / layout.step >= layout.count) return null;
  return offset / layout.step;
}

/**
 * The layout of the array `task` was submitted in, as the grid's shards (`shards`: the count the job script
 * declares). Refuses an array that is not a range (a list such as `--array=1,4,7`: the shard of task 4 cannot be told
 * from the environment) and an array whose size is not `shards`.
 */
function layoutOfArray(task: SlurmArrayTask, shards: number | undefined): SlurmArrayLayout {
  const first = task.min ?? 0;
  const step = task.step ?? 1;
  const count = task.count ?? shards;
  if (count === undefined) throw new DeptError('SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not; give --shards n (the array size) or --shard i/n');
  if (task.count !== null && shards !== undefined && task.count !== shards) {
    throw new DeptError(
      `Slurm array${task.jobId ? ` job ${task.jobId}` : ''} has ${task.count} tasks (SLURM_ARRAY_TASK_COUNT) but --shards is ${shards}: the first array of a grid needs one task per shard (--array=0-${shards - 1}); re-runs of single tasks come after it`,
    );
  }
  if (task.max !== null && task.count !== null && task.max !== first + (count - 1) * step) {
    throw new DeptError(
      `SLURM_ARRAY_TASK_MIN ${first}, MAX ${task.max}, STEP ${step} and COUNT ${count} describe no range min-max:step (a list such as --array=1,4,7?), so the shard of task ${task.id} cannot be told; start the grid with a range, e.g. --array=0-${count - 1}`,
    );
  }
  return { count, first, step };
}

function readRecord(path: string): SlurmArrayRecord {
  const value = readJsonFile<Partial<SlurmArrayRecord>>(path, 'the Slurm array record of a grid');
  const ok = (v: unknown, min: number): v is number => typeof v === 'number' && Number.isInteger(v) && v >= min;
  if (typeof value !== 'object' || value === null || !ok(value.count, 1) || !ok(value.first, 0) || !ok(value.step, 1)) {
    throw new DeptError(`${path}: not a Slurm array record (expected integers "count" ≥ 1, "first" ≥ 0 and "step" ≥ 1)`);
  }
  return { count: value.count, first: value.first, step: value.step, array_job_id: value.array_job_id ?? null, recorded: String(value.recorded ?? '') };
}

/**
 * The recorded layout of the grid folder, made from this task's array when there is none yet (the first start; the
 * tasks of one array that start together all try to write the same record, and the first one wins). A task whose
 * own array cannot start a grid (a re-run of one task) needs the record to exist.
 */
function recordedLayout(outDir: string, task: SlurmArrayTask, shards: number | undefined): { record: SlurmArrayRecord; created: boolean } {
  const path = slurmArrayRecordPath(outDir);
  let layout: SlurmArrayLayout | DeptError;
  try {
    layout = layoutOfArray(task, shards);
  } catch (error) {
    if (!(error instanceof DeptError)) throw error;
    layout = error;
  }
  if (!(layout instanceof DeptError)) {
    const fresh: SlurmArrayRecord = { ...layout, array_job_id: task.jobId, recorded: new Date().toISOString() };
    // The record may be the first thing a grid folder holds: the folder is claimed (made) as dept's first.
    claimGridFolder(outDir, ['.shards'], { newFolder: true });
    ensureFolder(join(outDir, '.shards'), 'the shards folder of a grid');
    if (createExclusive(path, `${JSON.stringify(fresh, null, 2)}\n`)) return { record: fresh, created: true };
  } else if (!existsSync(path)) {
    throw layout;
  }
  return { record: readRecord(path), created: false };
}

/** The options of {@link resolveShard}. */
export interface ResolveShardOptions {
  /** `--shard i/n`: wins over the environment. */
  shard?: string;
  /** `--shards n`: the grid's number of shards (needed with `JOB_COMPLETION_INDEX`, checked with Slurm). */
  shards?: number;
  /** The environment to read (default `process.env`). */
  env?: Env;
  /** The grid folder: a Slurm array task maps its id through the folder's record (made at the first start). */
  outDir?: string;
  /** Told one line on where the shard came from (Slurm only). */
  log?: (line: string) => void;
}

/**
 * The shard this process runs: `--shard i/n` when given; otherwise a Slurm job array task (`SLURM_ARRAY_TASK_ID`
 * through the array layout recorded in `outDir`, or, without `outDir` or record, through the array's own
 * `SLURM_ARRAY_TASK_MIN/MAX/STEP/COUNT`) or a Kubernetes indexed Job (`JOB_COMPLETION_INDEX` with `--shards n`);
 * otherwise none (all cells). One clear error when they disagree.
 *
 * @example
 * resolveShard({ env: { SLURM_ARRAY_TASK_ID: '3', SLURM_ARRAY_TASK_COUNT: '4' } }); // { index: 3, count: 4 }
 * resolveShard({ shards: 8, env: { JOB_COMPLETION_INDEX: '5' } });               // { index: 5, count: 8 }
 * resolveShard({ shards: 3, outDir: 'runs/fs', env: process.env });              // a re-run of task 2 of --array=1-3: { index: 1, count: 3 }
 */
export function resolveShard(options: ResolveShardOptions): Shard | null {
  if (options.shard !== undefined) {
    const shard = parseShard(options.shard);
    if (options.shards !== undefined && options.shards !== shard.count) {
      throw new DeptError(`--shard ${options.shard} and --shards ${options.shards} disagree on the number of shards; give one of them`);
    }
    return shard;
  }
  const env = options.env ?? process.env;
  const shards = options.shards;
  if (shards !== undefined && (!Number.isInteger(shards) || shards < 1)) {
    throw new DeptError(`--shards ${shards}: expected a positive integer`);
  }
  const task = readSlurmArrayTask(env);
  if (task) return slurmShard(task, options);
  const k8sIndex = envInt(env, 'JOB_COMPLETION_INDEX', 0);
  if (k8sIndex !== undefined) {
    if (shards === undefined) throw new DeptError('JOB_COMPLETION_INDEX is set (Kubernetes indexed Job): give --shards n (the Job\'s completions) or --shard i/n');
    if (k8sIndex >= shards) throw new DeptError(`JOB_COMPLETION_INDEX gives shard ${k8sIndex} but there are only ${shards} shards (0 … ${shards - 1})`);
    return { index: k8sIndex, count: shards };
  }
  if (shards !== undefined) {
    throw new DeptError(`--shards ${shards} needs the shard index from SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX; neither is set (use --shard i/n)`);
  }
  return null;
}

function slurmShard(task: SlurmArrayTask, options: ResolveShardOptions): Shard {
  const shards = options.shards;
  const job = task.jobId ? `job ${task.jobId} ` : '';
  const restart = task.restarts > 0 ? `, restart ${task.restarts}` : '';
  if (options.outDir === undefined) {
    const layout = layoutOfArray(task, shards);
    const index = shardOfTask(layout, task.id);
    if (index === null) {
      throw new DeptError(`SLURM_ARRAY_TASK_ID ${task.id} is not a task of the array ${arraySpec(layout)} (SLURM_ARRAY_TASK_MIN/STEP/COUNT); use --shard i/n`);
    }
    return { index, count: layout.count };
  }
  const path = slurmArrayRecordPath(options.outDir);
  const { record, created } = recordedLayout(options.outDir, task, shards);
  const started = `the array that started this grid (--array=${arraySpec(record)}${record.array_job_id ? `, job ${record.array_job_id}` : ''}; recorded in ${path})`;
  if (shards !== undefined && shards !== record.count) {
    throw new DeptError(`--shards ${shards} differs from the ${record.count} shards of ${started}: re-run its tasks with --shards ${record.count}, or, to split the grid anew, remove that file while no shard runs`);
  }
  const own = task.min !== null && task.max !== null && task.step !== null && task.count !== null && task.max === task.min + (task.count - 1) * task.step
    ? { first: task.min, step: task.step, count: task.count }
    : null;
  const inRecord = (id: number) => shardOfTask(record, id) !== null;
  if (own && own.count > 1 && !(inRecord(own.first) && inRecord(own.first + (own.count - 1) * own.step) && own.step % record.step === 0)) {
    throw new DeptError(`Slurm array ${job}(--array=${arraySpec(own)}) is not made of tasks of ${started}; re-run a failed task by its own id (sbatch --array=<id>), or use another --out`);
  }
  const index = shardOfTask(record, task.id);
  if (index === null) {
    throw new DeptError(`SLURM_ARRAY_TASK_ID ${task.id} is not a task of ${started}; re-run a failed task by its own id (sbatch --array=<id>)`);
  }
  options.log?.(`shard ${index}/${record.count}: Slurm array ${job}task ${task.id}${restart}; ${created ? 'recorded' : 'the layout'} --array=${arraySpec(record)} in ${path}`);
  return { index, count: record.count };
}
