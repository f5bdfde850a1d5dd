/**
 * A 2 × 2 search (lr × lora_lr) trained for real on the bundled sample (CB, k 16, two seeds) with a small random
 * model: each cell keeps the sub-run whose own files show the highest dev score, and reports that sub-run's test
 * metrics; shards of sub-runs run each one once and the shard that completes a cell selects it; a killed sub-run
 * resumes to the same numbers. RANDOM WEIGHTS — these numbers are not results.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PretrainedT5 } from '@dept/t5';
import { TrainingStopped } from '@dept/train';
import { loadGridModel, runGrid, writeReport, type GridEvent, type GridPlan } from '../src/index.ts';

const SAMPLE = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'datasets', 'sample');
const SETTINGS = ['lr3e-1_loralr1e-2', 'lr3e-1_loralr1', 'lr3_loralr1e-2', 'lr3_loralr1'];
const CELLS = ['superglue-cb/k16/seed1', 'superglue-cb/k16/seed2'];
/** CB is selected on macro-F1 (DePT's TASK_TO_METRICS["superglue-cb"][0]), written here, not taken from the code. */
const METRIC = 'f1_multiclass';

interface RunFile {
  dev: Record<string, number>;
  test: Record<string, number>;
  selected_step: number;
}
interface CellFile extends RunFile {
  search: { selected: string; metric: string; settings: { id: string; dev: number | null }[] };
}

const read = <T>(path: string): T => JSON.parse(readFileSync(path, 'utf8')) as T;

let tmp: string;
let pretrained: PretrainedT5;
function plan(out: string): GridPlan {
  return {
    name: 'search-run-test',
    tasks: ['superglue-cb'],
    k: [16],
    seeds: [1, 2],
    model: { path: join(tmp, 'model'), init: { preset: 'mini', seed: 0 } },
    dataDir: SAMPLE,
    train: { num_virtual_tokens: 3, r: 2, max_length: 24, max_steps: 12, eval_steps: 3, save_steps: 3, warmup_steps: 1, batch_size: 4, lr: 0.3, lora_lr: 0.01, predict: 'score' },
    search: { lr: [0.3, 3], lora_lr: [0.01, 1] },
    outDir: join(tmp, out),
  };
}

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'dept-search-run-'));
  pretrained = (await loadGridModel(plan('x'))).pretrained;
});
afterAll(() => {
  pretrained?.model.dispose();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe.skipIf(!existsSync(SAMPLE))('a 2 × 2 search on a small random model (datasets/sample)', () => {
  it('keeps, in each cell, the sub-run with the highest dev score in its own files, and reports its test metrics', async () => {
    const p = plan('full');
    const result = await runGrid(p, { pretrained });
    expect(result.ran.map((r) => r.run.dir)).toEqual(CELLS.flatMap((c) => SETTINGS.map((s) => `${c}/${s}`)));
    let distinct = 0;
    for (const cell of CELLS) {
      const runs = SETTINGS.map((id) => ({ id, ...read<RunFile>(join(p.outDir, cell, id, 'results.json')) }));
      // each sub-run's dev score is that of its best-on-dev checkpoint: the highest dev score it logged while training
      for (const run of runs) {
        const logged = readFileSync(join(p.outDir, cell, run.id, 'metrics.jsonl'), 'utf8').trim().split('\n')
          .map((line) => JSON.parse(line) as Record<string, number>).filter((r) => `eval_${METRIC}` in r).map((r) => r[`eval_${METRIC}`] as number);
        expect(run.dev[METRIC]).toBe(Math.max(...logged));
      }
      // the expected choice, from the files: the highest dev score, the first of equals in recipe order
      let best = runs[0] as (typeof runs)[number];
      for (const run of runs) if ((run.dev[METRIC] as number) > (best.dev[METRIC] as number)) best = run;
      if (new Set(runs.map((r) => r.dev[METRIC])).size > 1) distinct += 1;
      const chosen = read<CellFile>(join(p.outDir, cell, 'results.json'));
      expect(chosen.search.selected, cell).toBe(best.id);
      expect(chosen.test).toEqual(best.test);
      expect(chosen.dev).toEqual(best.dev);
      expect(chosen.selected_step).toBe(best.selected_step);
      expect(chosen.search.settings.map((s) => [s.id, s.dev])).toEqual(runs.map((r) => [r.id, r.dev[METRIC]]));
    }
    // the settings really differ on dev somewhere (else this test could not tell a selection from a default)
    expect(distinct).toBeGreaterThan(0);

    const { report } = await writeReport(p.outDir);
    expect(report.random_weights).toBe(true);
    for (const c of report.cells) {
      const cell = `superglue-cb/k16/seed${c.seed}`;
      const chosen = read<CellFile>(join(p.outDir, cell, 'results.json'));
      expect(c.setting).toBe(chosen.search.selected);
      expect(c.metrics).toEqual(read<RunFile>(join(p.outDir, cell, chosen.search.selected, 'results.json')).test);
    }
    for (const row of report.search?.per_setting ?? []) {
      const won = CELLS.filter((cell) => read<CellFile>(join(p.outDir, cell, 'results.json')).search.selected === row.setting).length;
      expect([row.setting, row.won, row.cells]).toEqual([row.setting, won, 2]);
    }
    expect(report.search?.per_setting).toHaveLength(4);
  }, 120_000);

  it('shards take sub-runs: each runs once, and the shard that finishes a cell\'s last sub-run selects it', async () => {
    const p = plan('sharded');
    const ran: string[] = [];
    const selectedBy: [number, string][] = [];
    for (const index of [0, 1, 2]) {
      const events: GridEvent[] = [];
      const result = await runGrid(p, { pretrained, shard: { index, count: 3 }, onEvent: (e) => events.push(e) });
      ran.push(...result.ran.map((r) => r.run.dir));
      selectedBy.push(...result.selections.map((s) => [index, s.cell.dir] as [number, string]));
      const plan0 = events.find((e) => e.type === 'plan');
      expect(plan0?.type === 'plan' ? plan0.selectedRuns.map((r) => r.index) : null).toEqual([0, 1, 2, 3, 4, 5, 6, 7].filter((i) => i % 3 === index));
    }
    expect(ran.sort()).toEqual(CELLS.flatMap((c) => SETTINGS.map((s) => `${c}/${s}`)).sort());
    // runs 0–3 are seed 1's, 4–7 seed 2's: shard 2 runs 2 and 5, the last missing sub-run of each cell
    expect(selectedBy).toEqual([[2, CELLS[0]], [2, CELLS[1]]]);
    for (const cell of CELLS) {
      const a = read<CellFile>(join(tmp, 'full', cell, 'results.json'));
      const b = read<CellFile>(join(p.outDir, cell, 'results.json'));
      expect({ selected: b.search.selected, test: b.test, dev: b.dev }).toEqual({ selected: a.search.selected, test: a.test, dev: a.dev });
    }
    // a selection lost (killed before it was written) is made again by the next run, even of another cell's sub-run
    rmSync(join(p.outDir, CELLS[0] as string, 'results.json'));
    rmSync(join(p.outDir, CELLS[1] as string, 'results.json'));
    rmSync(join(p.outDir, CELLS[1] as string, SETTINGS[3] as string), { recursive: true });
    const again = await runGrid(p, { pretrained });
    expect(again.ran.map((r) => r.run.dir)).toEqual([`${CELLS[1]}/${SETTINGS[3]}`]);
    expect(again.selections.map((s) => s.cell.dir).sort()).toEqual([...CELLS].sort());
    expect(read<CellFile>(join(p.outDir, CELLS[0] as string, 'results.json')).search.selected).toBe(read<CellFile>(join(tmp, 'full', CELLS[0] as string, 'results.json')).search.selected);
  }, 120_000);

  it('resumes a killed sub-run from its checkpoint to the numbers of an uninterrupted one', async () => {
    const p = { ...plan('killed'), seeds: [1] };
    await expect(runGrid(p, { pretrained, stopAfterSteps: 4 })).rejects.toBeInstanceOf(TrainingStopped);
    expect(existsSync(join(p.outDir, CELLS[0] as string, SETTINGS[0] as string, 'checkpoint', 'state.json'))).toBe(true);
    const starts: [string, boolean][] = [];
    await runGrid(p, { pretrained, onEvent: (e) => { if (e.type === 'start') starts.push([e.run.setting?.id ?? '', e.resumed]); } });
    expect(starts[0]).toEqual([SETTINGS[0], true]);
    expect(starts.slice(1).every(([, resumed]) => !resumed)).toBe(true);
    for (const cell of [CELLS[0] as string]) {
      for (const id of SETTINGS) {
        const a = read<RunFile>(join(tmp, 'full', cell, id, 'results.json'));
        const b = read<RunFile>(join(p.outDir, cell, id, 'results.json'));
        expect({ dev: b.dev, test: b.test, step: b.selected_step }, `${cell}/${id}`).toEqual({ dev: a.dev, test: a.test, step: a.selected_step });
      }
    }
  }, 120_000);
});
