/**
 * `dept train` as a real process (issue 8, items 5, 6 and 7, and the command-line basics of item 1):
 *
 * - one-line errors with exit status 2 and no stack trace, the stack only with `--verbose`;
 * - a NaN loss stops the run with a message and keeps the last good checkpoint;
 * - two processes on one run folder: the second refuses naming the first's PID, the first's output is intact;
 *   a lock left by a dead process is taken over;
 * - SIGKILL at random moments (seeded), at least 20 times: after every kill each file in the run folder is
 *   complete and no checkpointed step is lost, every resume completes, and the final bank and test metrics equal
 *   an uninterrupted run's.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '@dept/core';
import { writeSafetensors } from '@dept/tensor';
import { presetConfig, writeRandomT5 } from '@dept/t5';
import { readBank } from '@dept/prompt';
import { HostileCounter, expectRefusal, killAtRandom, put, rawSafetensors, remove, runDept, spawnDept, spawnDeptSync, tempDir } from './helpers.ts';
import { bankBytes, checkRunFolder, stableResults } from './runs.ts';

/** SIGKILLs in the crash loop (at least 20; `DEPT_RELIABILITY_KILLS` raises it for longer soaks). */
const KILLS = Math.max(20, Number(process.env.DEPT_RELIABILITY_KILLS ?? 20));

const hostile = new HostileCounter('training processes');
const dir = tempDir('train');
const model = join(dir, 'model');

/** The run every test here trains: 60 tiny steps, a checkpoint every 3, dev every 20 (a few seconds). */
const trainArgs = (out: string, ...extra: string[]) => [
  'train', '--task', 'superglue-cb', '--data-dir', 'datasets/sample', '--model', model, '--k', '8', '--seed', '1',
  '--m', '4', '--r', '2', '--max-length', '32', '--batch-size', '8', '--max-steps', '60', '--eval-steps', '20',
  '--save-steps', '3', '--warmup-steps', '10', '--predict', 'score', '--out', out, ...extra,
];

let reference: { bank: Buffer; results: unknown; seconds: number } | null = null;

beforeAll(() => {
  writeRandomT5(model, presetConfig('tiny-relu'), { seed: 0, sampleTexts: [readFileSync('datasets/sample/CB/train.jsonl', 'utf8')] });
});

afterAll(() => {
  hostile.print();
  remove(dir);
});

describe('dept train as a process', () => {
  it('an uninterrupted reference run (in-process)', async () => {
    const out = join(dir, 'reference');
    const r = await runDept(trainArgs(out));
    expect(r.status, r.stderr).toBe(0);
    expect(checkRunFolder(out)).toMatchObject({ finished: true, temporaries: [] });
    const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as { wall_seconds: number };
    reference = { bank: bankBytes(out), results: stableResults(out), seconds: results.wall_seconds };
  });

  it('refuses bad input with one line and exit status 2, and prints the stack only with --verbose', () => {
    const bank = join(dir, 'cut-bank');
    put(join(bank, 'adapter_config.json'), JSON.stringify({ peft_type: 'PROMPT_TUNING_LORA', num_virtual_tokens: 1, token_dim: 2, max_length: 4, r: 0 }));
    writeFileSync(join(bank, 'adapter_model.safetensors'), hostile.add(rawSafetensors({ prompt_embeddings: { dtype: 'F32', shape: [1, 2], data_offsets: [0, 8] } }, new Uint8Array(5))));
    const plain = spawnDeptSync(['bank', 'inspect', bank]);
    expect(plain.stderr).toBe(`dept: error: ${join(bank, 'adapter_model.safetensors')}: tensor "prompt_embeddings": data_offsets [0, 8] run past the end of the data (5 bytes)\n`);
    expect(plain.status).toBe(2);
    expect(plain.stdout).toBe('');
    const verbose = spawnDeptSync(['bank', 'inspect', bank, '--verbose']);
    expect(verbose.status).toBe(2);
    expect(verbose.stderr.split('\n')[0]).toBe(plain.stderr.trim());
    expect(verbose.stderr).toMatch(/\n\s+at .*safetensors\/header\.ts/);
  });

  it('a full wasm heap is one line and exit status 2, and so is a bad DEPT_WASM_HEAP_HEADROOM_MB', () => {
    // 4095 MiB kept free: every tensor must end below the heap's first MiB; the tiny model loads, its first step does not fit.
    const full = spawnDeptSync(trainArgs(join(dir, 'heap-full')), { env: { DEPT_WASM_HEAP_HEADROOM_MB: '4095', DEPT_BACKEND: 'wasm' } });
    expect(full.status).toBe(2);
    const lines = full.stderr.trimEnd().split('\n');
    expect(lines.at(-1)).toMatch(/^dept: error: step 1: a micro-batch of 6 rows × 32 input tokens does not fit in the wasm heap; set micro_batch_size to 3 or less \(it is 0, the whole batch\) \(the wasm heap \(at most 4 GiB\) is full: a [\d.]+ MiB tensor does not fit below 1 MiB \(4095 MiB kept free for XNNPACK\)/);
    expect(full.stderr).not.toMatch(/\n\s+at /); // no stack trace
    const bad = spawnDeptSync(trainArgs(join(dir, 'heap-bad')), { env: { DEPT_WASM_HEAP_HEADROOM_MB: 'lots' } });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toBe('dept: error: DEPT_WASM_HEAP_HEADROOM_MB is "lots", expected an integer number of MiB from 0 to 4096\n');
  });

  it('a NaN loss stops the run with a message naming the step, and keeps the last good checkpoint', async () => {
    const out = join(dir, 'nan');
    // An enormous learning rate: step 1 is finite, its update sends P to ~1e38, and step 2's loss is NaN.
    const r = await runDept(trainArgs(out, ...hostile.add(['--lr', '1e38', '--lora-lr', '1e38', '--warmup-steps', '0', '--save-steps', '1'])));
    expectRefusal(r, 'step 2: the training loss is NaN; stopping; the last good checkpoint is kept in', join(out, 'checkpoint'));
    expect(checkRunFolder(out)).toMatchObject({ step: 1, finished: false });
    expect(existsSync(join(out, 'bank'))).toBe(false);
    // resuming meets the same NaN again and says so (it neither loops nor overwrites the checkpoint)
    const again = await runDept(trainArgs(out, '--resume', '--lr', '1e38', '--lora-lr', '1e38', '--warmup-steps', '0', '--save-steps', '1'));
    expectRefusal(again, 'step 2: the training loss is NaN');
    expect(checkRunFolder(out).step).toBe(1);
  });

  it('a loss that is NaN from the first step (a source bank whose A·B overflows) says no checkpoint exists yet', async () => {
    const bank = join(dir, 'huge-bank');
    put(join(bank, 'adapter_config.json'), JSON.stringify({ peft_type: 'PROMPT_TUNING_LORA', num_virtual_tokens: 4, token_dim: 32, max_length: 32, r: 2 }));
    const fill = (n: number, v: number) => ({ data: new Float32Array(n).fill(v), shape: [] as number[] });
    writeSafetensors(join(bank, 'adapter_model.safetensors'), {
      prompt_embeddings: { ...fill(128, 0.1), shape: [4, 32] },
      'prompt_encoder.lora_embedding_A': { ...fill(64, 3e38), shape: [32, 2] },
      'prompt_encoder.lora_embedding_B': { ...fill(64, 3e38), shape: [2, 32] },
    });
    hostile.add(bank);
    const r = await runDept(trainArgs(join(dir, 'nan-first'), '--bank', bank));
    expectRefusal(r, /step 1: the training loss is (NaN|Infinity|-Infinity|finite but a gradient is not); stopping; no checkpoint had been written yet/);
  });

  it('a second process on the same run folder refuses, naming the first; the first finishes intact', async () => {
    const out = join(dir, 'concurrent');
    const first = spawnDept(trainArgs(out));
    await first.waitFor(/training \(/);
    // Paused while the second starts (a short run may otherwise end before the second process is up); resumed after.
    first.child.kill('SIGSTOP');
    let second: ReturnType<typeof spawnDeptSync>;
    try {
      second = spawnDeptSync(trainArgs(out, '--resume'));
    } finally {
      first.child.kill('SIGCONT');
    }
    hostile.add(out);
    expectRefusal(second, `${out}: in use by process ${first.child.pid} (since `, `lock file ${join(out, '.lock')}`);
    const done = await first.exited;
    expect(done.status, first.stderr()).toBe(0);
    expect(checkRunFolder(out)).toMatchObject({ finished: true, temporaries: [] });
    expect(existsSync(join(out, '.lock'))).toBe(false);
    expect(bankBytes(out).equals(reference!.bank)).toBe(true);
    expect(stableResults(out)).toEqual(reference!.results);
  });

  it('a lock held by a live process refuses; a lock of a dead process (or an empty one) is taken over; a .lock that is not dept\'s is refused and kept', async () => {
    // The test's parent is alive, and the lock was written after it started: it holds.
    const since = new Date().toISOString();
    const live = join(dir, 'locked');
    put(join(live, '.lock'), hostile.add(JSON.stringify({ pid: process.ppid, started: since })));
    expectRefusal(await runDept(trainArgs(live)), `in use by process ${process.ppid} (since ${since})`);
    const grid = join(dir, 'grid-locked');
    put(join(grid, '.lock'), hostile.add(JSON.stringify({ pid: process.ppid, started: since })));
    expectRefusal(await runDept(['fewshot', '--task', 'superglue-cb', '--data-dir', 'datasets/sample', '--model', model, '--k', '4', '--seeds', '1', '--out', grid]),
      `${grid}: in use by process ${process.ppid}`);
    const deadPid = spawnSync(process.execPath, ['-e', '0']).pid as number;
    // A live PID whose process started after the lock was written (the PID was reused): stale too.
    for (const [name, lock] of [['dead', JSON.stringify({ pid: deadPid, started: 'then' })], ['reused', JSON.stringify({ pid: process.ppid, started: '2020-01-01T00:00:00.000Z' })], ['empty', '']] as const) {
      const out = join(dir, `stale-${name}`);
      put(join(out, '.lock'), hostile.add(lock));
      const r = await runDept(trainArgs(out, '--max-steps', '3', '--eval-steps', '3'));
      expect(r.status, r.stderr).toBe(0);
      expect(existsSync(join(out, '.lock'))).toBe(false);
    }
    const foreign = join(dir, 'foreign-lock');
    put(join(foreign, '.lock'), hostile.add('\u0000\u0001not json'));
    expectRefusal(await runDept(trainArgs(foreign)), `${join(foreign, '.lock')}: exists and is not a dept lock`);
    expect(readFileSync(join(foreign, '.lock'), 'utf8')).toBe('\u0000\u0001not json');
  });

  it(`SIGKILL at ${KILLS} random moments: every file stays whole, every resume completes, the result equals the reference`, async () => {
    const out = join(dir, 'crash');
    const rng = new Rng(20260808);
    // Kill within [0, window] seconds after the backend is up: setup, training, checkpoints, evaluation, final writes.
    const window = 3;
    let kills = 0;
    let finishedCycles = 0;
    let lastStep = -1;
    let mode: '--resume' | '--overwrite' | null = null;
    const log: string[] = [];
    const keep = (why: string) => {
      // keep the folder of a failure for a post-mortem (the temporary folder is removed)
      const saved = `${out}-failure-${Date.now()}`.replace(dir, join(tmpdir(), 'dept-reliability-failures'));
      cpSync(out, saved, { recursive: true });
      return `${why}; the run folder is kept in ${saved}\n${log.join('\n')}`;
    };
    while (kills < KILLS) {
      const child = spawnDept(trainArgs(out, ...(mode ? [mode] : []), '--verbose'));
      const { killed, status, signal, delay } = await killAtRandom(child, rng, window);
      if (killed) {
        kills += 1;
        hostile.add(1);
      } else {
        if (status !== 0) expect.fail(keep(`a resume must complete; it exited with ${status}:\n${child.stderr()}`));
      }
      let state: ReturnType<typeof checkRunFolder>;
      try {
        state = checkRunFolder(out);
      } catch (error) {
        expect.fail(keep(`after a kill, a file of the run folder is not whole: ${(error as Error).message}`));
      }
      log.push(`${signal ?? status} after ${(delay / 1000).toFixed(2)} s: step ${state.step}${state.finished ? ' finished' : ''}${state.temporaries.length ? ` (${state.temporaries.length} temporaries)` : ''}`);
      if (state.finished) {
        expect(bankBytes(out).equals(reference!.bank), `cycle ${finishedCycles}: final bank equals the reference`).toBe(true);
        expect(stableResults(out)).toEqual(reference!.results);
        finishedCycles += 1;
        lastStep = -1;
        mode = '--overwrite';
      } else {
        expect(state.step, `no checkpointed step is lost (before: ${lastStep})`).toBeGreaterThanOrEqual(lastStep);
        lastStep = state.step;
        mode = '--resume';
      }
    }
    console.log(`train crash loop: ${kills} kills, ${finishedCycles} runs finished between kills\n  ${log.join('\n  ')}`);
    if (!existsSync(join(out, 'results.json'))) {
      const last = spawnDeptSync(trainArgs(out, '--resume'));
      expect(last.status, last.stderr).toBe(0);
    } else {
      // finished just before the last kill: the next process on the folder refuses to redo it, and tidies up
      expectRefusal(await runDept(trainArgs(out, '--resume')), 'already holds a finished run (results.json); use --overwrite');
    }
    expect(checkRunFolder(out)).toMatchObject({ finished: true, temporaries: [] });
    expect(bankBytes(out).equals(reference!.bank)).toBe(true);
    expect(stableResults(out)).toEqual(reference!.results);
    expect(readBank(join(out, 'bank')).config.num_virtual_tokens).toBe(4);
  }, 600_000);
});
