/**
 * Shards from Slurm job arrays, with the environment values a real Slurm 22.05 set (measured on a one-node cluster,
 * see test/slurm/): offsets, steps, throttles, a list, a requeue and the re-submission of one failed task, with and
 * without the grid folder's record of its first array.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { claimGridFolder, readSlurmArrayTask, resolveShard, slurmArrayRecordPath } from '../src/index.ts';

type Env = Record<string, string>;

/** What `sbatch --array=<spec>` gave array task `id` (SLURM_ARRAY_TASK_* and SLURM_ARRAY_JOB_ID, as observed). */
function observed(job: string, id: number, min: number, max: number, step: number, count: number, extra: Env = {}): Env {
  return {
    SLURM_ARRAY_JOB_ID: job, SLURM_ARRAY_TASK_ID: String(id), SLURM_ARRAY_TASK_MIN: String(min), SLURM_ARRAY_TASK_MAX: String(max),
    SLURM_ARRAY_TASK_STEP: String(step), SLURM_ARRAY_TASK_COUNT: String(count), ...extra,
  };
}

// --array=1-3: ids 1, 2, 3
const OFFSET = [1, 2, 3].map((id) => observed('1', id, 1, 3, 1, 3));
// --array=0-5:2: ids 0, 2, 4 (MAX is the last id, 4, not 5)
const STEPPED = [0, 2, 4].map((id) => observed('2', id, 0, 4, 2, 3));
// --array=0-3%1: the throttle changes none of the variables
const THROTTLED = [0, 1, 2, 3].map((id) => observed('3', id, 0, 3, 1, 4));
// --array=1 (a re-run of task 1 alone): its own array of one task
const RERUN_1 = observed('4', 1, 1, 1, 1, 1);
// --array=1,4,7: a list; STEP stays 1 and MAX is 7
const LIST_4 = observed('5', 4, 1, 7, 1, 3);
// scontrol requeue of task 1 of --array=0-1: the same variables, and SLURM_RESTART_COUNT
const REQUEUED = observed('15', 1, 0, 1, 1, 2, { SLURM_RESTART_COUNT: '1' });

describe('Slurm array variables, without a grid folder', () => {
  it('reads the task and its array', () => {
    expect(readSlurmArrayTask({})).toBeNull();
    expect(readSlurmArrayTask(REQUEUED)).toEqual({ id: 1, jobId: '15', min: 0, max: 1, step: 1, count: 2, restarts: 1 });
    expect(readSlurmArrayTask({ SLURM_ARRAY_TASK_ID: '2' })).toEqual({ id: 2, jobId: null, min: null, max: null, step: null, count: null, restarts: 0 });
  });

  it('numbers the shards from the array\'s first id in its steps, whatever the throttle', () => {
    expect(OFFSET.map((env) => resolveShard({ env }))).toEqual([0, 1, 2].map((index) => ({ index, count: 3 })));
    expect(STEPPED.map((env) => resolveShard({ env }))).toEqual([0, 1, 2].map((index) => ({ index, count: 3 })));
    expect(THROTTLED.map((env) => resolveShard({ env }))).toEqual([0, 1, 2, 3].map((index) => ({ index, count: 4 })));
    expect(resolveShard({ env: REQUEUED })).toEqual({ index: 1, count: 2 });
    expect(OFFSET.map((env) => resolveShard({ env, shards: 3 }))).toEqual([0, 1, 2].map((index) => ({ index, count: 3 })));
  });

  it('refuses a list, and a re-run alone whose array is not --shards', () => {
    expect(() => resolveShard({ env: LIST_4 })).toThrow('SLURM_ARRAY_TASK_MIN 1, MAX 7, STEP 1 and COUNT 3 describe no range min-max:step (a list such as --array=1,4,7?), so the shard of task 4 cannot be told');
    expect(() => resolveShard({ env: RERUN_1, shards: 3 })).toThrow('Slurm array job 4 has 1 tasks (SLURM_ARRAY_TASK_COUNT) but --shards is 3: the first array of a grid needs one task per shard (--array=0-2)');
  });
});

describe('Slurm array tasks of a grid folder', () => {
  let dir: string;
  let lines: string[];
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'dept-shard-'));
    lines = [];
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  const shardOf = (env: Env, shards?: number) => resolveShard({ env, outDir: dir, log: (l) => lines.push(l), ...(shards !== undefined ? { shards } : {}) });
  const record = () => JSON.parse(readFileSync(slurmArrayRecordPath(dir), 'utf8')) as Record<string, unknown>;

  it('records the first array\'s layout, and a re-run of one task keeps its shard of that array', () => {
    expect(OFFSET.map((env) => shardOf(env, 3))).toEqual([0, 1, 2].map((index) => ({ index, count: 3 })));
    expect(slurmArrayRecordPath(dir)).toBe(join(dir, '.shards', 'slurm-array.json'));
    expect(record()).toMatchObject({ count: 3, first: 1, step: 1, array_job_id: '1' });
    expect(lines[0]).toBe(`shard 0/3: Slurm array job 1 task 1; recorded --array=1-3 in ${slurmArrayRecordPath(dir)}`);
    expect(lines[1]).toBe(`shard 1/3: Slurm array job 1 task 2; the layout --array=1-3 in ${slurmArrayRecordPath(dir)}`);
    // sbatch --array=2 job.sh after task 2 failed: COUNT=1, MIN=MAX=2, yet it is shard 1 of 3 (its own array says 0 of 1)
    expect(resolveShard({ env: observed('9', 2, 2, 2, 1, 1) })).toEqual({ index: 0, count: 1 });
    expect(shardOf(observed('9', 2, 2, 2, 1, 1), 3)).toEqual({ index: 1, count: 3 });
    expect(shardOf(observed('9', 2, 2, 2, 1, 1))).toEqual({ index: 1, count: 3 });
    expect(shardOf(observed('10', 3, 3, 3, 1, 1))).toEqual({ index: 2, count: 3 });
    // a re-run of two tasks as a list (--array=1,3), and the whole array again
    expect(shardOf(observed('11', 3, 1, 3, 1, 2))).toEqual({ index: 2, count: 3 });
    expect(shardOf(observed('12', 1, 1, 3, 1, 3), 3)).toEqual({ index: 0, count: 3 });
    // a requeued task keeps its array's variables and says so
    expect(shardOf({ ...OFFSET[1] as Env, SLURM_RESTART_COUNT: '2' })).toEqual({ index: 1, count: 3 });
    expect(lines.at(-1)).toBe(`shard 1/3: Slurm array job 1 task 2, restart 2; the layout --array=1-3 in ${slurmArrayRecordPath(dir)}`);
    expect(record()).toMatchObject({ count: 3, first: 1, step: 1, array_job_id: '1' });
  });

  it('maps a stepped array through its record', () => {
    expect(STEPPED.map((env) => shardOf(env))).toEqual([0, 1, 2].map((index) => ({ index, count: 3 })));
    expect(shardOf(observed('7', 4, 4, 4, 1, 1))).toEqual({ index: 2, count: 3 });
    expect(() => shardOf(observed('7', 3, 3, 3, 1, 1))).toThrow(`SLURM_ARRAY_TASK_ID 3 is not a task of the array that started this grid (--array=0-4:2, job 2; recorded in ${slurmArrayRecordPath(dir)})`);
  });

  it('refuses, in one line, a re-run that does not fit the recorded array', () => {
    OFFSET.forEach((env) => shardOf(env));
    const started = `the array that started this grid (--array=1-3, job 1; recorded in ${slurmArrayRecordPath(dir)})`;
    expect(() => shardOf(observed('9', 2, 2, 2, 1, 1), 4)).toThrow(`--shards 4 differs from the 3 shards of ${started}: re-run its tasks with --shards 3`);
    expect(() => shardOf(observed('9', 4, 4, 4, 1, 1))).toThrow(`SLURM_ARRAY_TASK_ID 4 is not a task of ${started}`);
    expect(() => shardOf(observed('9', 0, 0, 0, 1, 1))).toThrow(`SLURM_ARRAY_TASK_ID 0 is not a task of ${started}`);
    // a whole new array of another layout: every task refuses, also those whose ids the record knows
    expect(() => shardOf(observed('13', 1, 0, 3, 1, 4))).toThrow(`Slurm array job 13 (--array=0-3) is not made of tasks of ${started}`);
    expect(() => shardOf(observed('13', 2, 0, 4, 2, 3))).toThrow(`Slurm array job 13 (--array=0-4:2) is not made of tasks of ${started}`);
  });

  it('records nothing when the first array does not match --shards or is a list', () => {
    expect(() => shardOf(RERUN_1, 3)).toThrow('Slurm array job 4 has 1 tasks (SLURM_ARRAY_TASK_COUNT) but --shards is 3');
    expect(() => shardOf(LIST_4)).toThrow(/describe no range/);
    expect(existsSync(slurmArrayRecordPath(dir))).toBe(false);
    // then the whole array starts the grid
    expect(shardOf(OFFSET[2] as Env, 3)).toEqual({ index: 2, count: 3 });
  });

  it('takes the record another task wrote first, and refuses a broken one naming the file', () => {
    claimGridFolder(dir, ['.shards'], { newFolder: true }); // as the other task did before writing its record
    mkdirSync(join(dir, '.shards'));
    writeFileSync(slurmArrayRecordPath(dir), JSON.stringify({ count: 5, first: 10, step: 1, array_job_id: '77', recorded: 'earlier' }));
    expect(shardOf(observed('78', 12, 12, 12, 1, 1))).toEqual({ index: 2, count: 5 });
    expect(lines[0]).toContain('the layout --array=10-14');
    writeFileSync(slurmArrayRecordPath(dir), JSON.stringify({ count: 0, first: 1, step: 1 }));
    expect(() => shardOf(OFFSET[0] as Env)).toThrow(`${slurmArrayRecordPath(dir)}: not a Slurm array record (expected integers "count" ≥ 1, "first" ≥ 0 and "step" ≥ 1)`);
    writeFileSync(slurmArrayRecordPath(dir), '{"count": 3,');
    expect(() => shardOf(OFFSET[0] as Env)).toThrow(`${slurmArrayRecordPath(dir)}: not valid JSON`);
  });

  it('says in one line when the grid folder cannot be made', () => {
    writeFileSync(join(dir, 'a-file'), '');
    const out = join(dir, 'a-file', 'grid');
    expect(() => resolveShard({ env: OFFSET[0] as Env, outDir: out })).toThrow(`${out}: cannot make a grid folder: ${join(dir, 'a-file')} is a file, not a folder`);
  });

  it('leaves --shard and Kubernetes indexes alone', () => {
    expect(resolveShard({ shard: '1/4', env: OFFSET[0] as Env, outDir: dir })).toEqual({ index: 1, count: 4 });
    expect(resolveShard({ shards: 4, env: { JOB_COMPLETION_INDEX: '3' }, outDir: dir })).toEqual({ index: 3, count: 4 });
    expect(existsSync(join(dir, '.shards'))).toBe(false);
  });
});
