/**
 * `dept fewshot` (a k-shot grid) killed with SIGKILL at seeded random moments, including while it makes its random
 * model: after every kill each file is complete; every resume completes; the final cell banks, cell results and the
 * grid's `results.json` equal an uninterrupted run's (issue 8, item 5).
 */
import { cpSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Rng } from '@dept/core';
import { HostileCounter, killAtRandom, remove, runDept, spawnDept, spawnDeptSync, tempDir } from './helpers.ts';
import { bankBytes, checkRunFolder, stableResults } from './runs.ts';

/** SIGKILLs of the grid (the training loop next door does at least 20 more). */
const KILLS = Math.max(12, Number(process.env.DEPT_RELIABILITY_GRID_KILLS ?? 12));

const hostile = new HostileCounter('grid processes');
const dir = tempDir('grid');
const CELLS = ['superglue-cb/k8/seed1', 'superglue-cb/k8/seed2'];

/** Two cells of 24 steps; the model is made at first use (a random tiny T5). */
const gridArgs = (out: string, model: string, ...extra: string[]) => [
  'fewshot', '--task', 'superglue-cb', '--data-dir', 'datasets/sample', '--model', model, '--set', 'model.init={preset: tiny-relu, seed: 3}',
  '--k', '8', '--seeds', '1,2', '--m', '4', '--r', '2', '--max-length', '32', '--batch-size', '8', '--max-steps', '24', '--eval-steps', '12',
  '--save-steps', '2', '--warmup-steps', '5', '--predict', 'score', '--json', '--out', out, ...extra,
];

/** The grid report without what may differ between runs (wall time, the model's path). */
function gridResults(out: string): unknown {
  const r = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as { cells: Record<string, unknown>[]; model?: unknown };
  return { ...r, model: undefined, cells: r.cells.map((c) => ({ ...c, wall_seconds: undefined })) };
}

/** Every file of the grid folder and of its cells is complete; returns the cells finished and the steps checkpointed. */
function checkGrid(out: string): { finished: number; steps: number[]; report: boolean } {
  checkRunFolder(out);
  let finished = 0;
  const steps = CELLS.map((cell) => {
    const state = checkRunFolder(join(out, cell));
    if (state.finished) finished += 1;
    return state.finished ? Number.POSITIVE_INFINITY : state.step;
  });
  return { finished, steps, report: existsSync(join(out, 'report.md')) };
}

afterAll(() => {
  hostile.print();
  remove(dir);
});

describe('dept fewshot killed and resumed', () => {
  let reference: { banks: Buffer[]; cells: unknown[]; grid: unknown } | null = null;

  it('an uninterrupted reference grid (in-process)', async () => {
    const out = join(dir, 'reference');
    const r = await runDept(gridArgs(out, join(dir, 'model-ref')));
    expect(r.status, r.stderr).toBe(0);
    reference = { banks: CELLS.map((c) => bankBytes(join(out, c))), cells: CELLS.map((c) => stableResults(join(out, c))), grid: gridResults(out) };
    expect(checkGrid(out)).toMatchObject({ finished: 2, report: true });
  });

  it(`SIGKILL at ${KILLS} random moments, then resume to the end`, async () => {
    const out = join(dir, 'crash');
    const model = join(dir, 'model-crash');
    const rng = new Rng(4242);
    let kills = 0;
    let restarts = 0;
    let last = CELLS.map(() => -1);
    const log: string[] = [];
    while (kills < KILLS) {
      const child = spawnDept(gridArgs(out, model, '--verbose'));
      const { killed, status, signal, delay } = await killAtRandom(child, rng, 1.5);
      if (killed) {
        kills += 1;
        hostile.add(1);
      } else {
        expect(status, `a resumed grid must complete; it exited with ${status}:\n${child.stderr()}`).toBe(0);
      }
      let state: ReturnType<typeof checkGrid>;
      try {
        state = checkGrid(out);
      } catch (error) {
        const saved = join(tmpdir(), 'dept-reliability-failures', `grid-${Date.now()}`);
        cpSync(out, saved, { recursive: true });
        expect.fail(`after a kill, a file of the grid is not whole: ${(error as Error).message}; the folder is kept in ${saved}\n${log.join('\n')}`);
      }
      log.push(`${signal ?? status} after ${(delay / 1000).toFixed(2)} s: cells ${state.steps.map((s) => (s === Number.POSITIVE_INFINITY ? 'done' : s)).join(', ')}${state.report ? ', report' : ''}`);
      state.steps.forEach((s, i) => expect(s, `cell ${CELLS[i]}: no checkpointed step is lost`).toBeGreaterThanOrEqual(last[i] as number));
      last = state.steps;
      if (state.report && state.finished === CELLS.length && signal !== 'SIGKILL') {
        if (kills >= KILLS || ++restarts > KILLS) break;
        // The grid finished before enough kills (a fast machine): start it over, keeping the model, and go on.
        rmSync(out, { recursive: true, force: true });
        last = CELLS.map(() => -1);
        log.push('finished early: started over');
      }
    }
    console.log(`grid crash loop: ${kills} kills\n  ${log.join('\n  ')}`);
    const final = spawnDeptSync(gridArgs(out, model));
    expect(final.status, final.stderr).toBe(0);
    expect(checkGrid(out)).toMatchObject({ finished: 2, report: true });
    CELLS.forEach((c, i) => {
      expect(bankBytes(join(out, c)).equals(reference!.banks[i] as Buffer), `${c}: bank equals the reference`).toBe(true);
      expect(stableResults(join(out, c))).toEqual(reference!.cells[i]);
      expect(checkRunFolder(join(out, c)).temporaries).toEqual([]);
    });
    expect(checkRunFolder(out).temporaries, 'temporaries of killed processes are cleaned up').toEqual([]);
    expect(existsSync(join(out, '.lock'))).toBe(false);
    expect(gridResults(out)).toEqual(reference!.grid);
    expect(kills).toBeGreaterThanOrEqual(Math.min(KILLS, 6));
  }, 600_000);
});
