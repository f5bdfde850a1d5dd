/**
 * The grid training real cells in-process on the bundled sample data (datasets/sample, no ../shared) with a tiny
 * random model: one model load for all cells, a killed cell resumed from its checkpoint to the same results as an
 * uninterrupted run, and the initial bank of every cell taken from the source bank.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readBank } from '@dept/prompt';
import { readJsonFile } from '@dept/core';
import { TrainingStopped } from '@dept/train';
import { loadGridModel, readCellResults, runGrid, type GridEvent, type GridPlan } from '../src/index.ts';

const SAMPLE = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'datasets', 'sample');

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'dept-grid-run-'));
});
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

function plan(out: string, extra: Partial<GridPlan> = {}): GridPlan {
  return {
    name: 'run-test',
    tasks: ['rte'],
    k: [4],
    seeds: [1, 2],
    model: { path: join(tmp, 'model'), init: { preset: 'tiny-relu', seed: 0 } },
    dataDir: SAMPLE,
    train: { num_virtual_tokens: 3, r: 2, max_length: 24, max_steps: 4, eval_steps: 2, save_steps: 2, warmup_steps: 1, batch_size: 2, lr: 0.3, lora_lr: 0.01, predict: 'score', max_target_length: 0 },
    outDir: join(tmp, out),
    ...extra,
  };
}

describe.skipIf(!existsSync(SAMPLE))('grid runs (datasets/sample)', () => {
  it('makes the model once, with a tokenizer built from the data, and trains every cell', async () => {
    const events: GridEvent[] = [];
    const result = await runGrid(plan('full'), { onEvent: (e) => events.push(e) });
    expect(result.ran.map((r) => r.cell.dir)).toEqual(['rte/k4/seed1', 'rte/k4/seed2']);
    const models = events.filter((e) => e.type === 'model');
    expect(models).toEqual([{ type: 'model', dir: join(tmp, 'model'), created: true, randomWeights: true }]);
    const { pretrained } = await loadGridModel(plan('x'));
    try {
      // the words of the sample are covered by the demo tokenizer: no <unk> (id 2)
      const ids = pretrained.tokenizer!.encode('sentence1: the');
      expect(ids).not.toContain(2);
    } finally {
      pretrained.model.dispose();
    }
    for (const r of result.ran) expect(readCellResults(join(tmp, 'full'), r.cell)).toEqual(r.results);
  });

  it('resumes a killed cell from its checkpoint to the results of an uninterrupted run', async () => {
    const p = plan('killed');
    const starts: boolean[] = [];
    await expect(runGrid(p, { stopAfterSteps: 2 })).rejects.toBeInstanceOf(TrainingStopped);
    expect(existsSync(join(p.outDir, 'rte/k4/seed1/checkpoint/state.json'))).toBe(true);
    expect(existsSync(join(p.outDir, 'rte/k4/seed1/results.json'))).toBe(false);
    const result = await runGrid(p, { onEvent: (e) => { if (e.type === 'start') starts.push(e.resumed); } });
    expect(starts).toEqual([true, false]);
    expect(result.ran).toHaveLength(2);
    for (const seed of [1, 2]) {
      const a = readCellResults(join(tmp, 'full'), { dir: `rte/k4/seed${seed}` });
      const b = readCellResults(p.outDir, { dir: `rte/k4/seed${seed}` });
      expect({ dev: b.dev, test: b.test, step: b.selected_step }).toEqual({ dev: a.dev, test: a.test, step: a.selected_step });
    }
    // finished: a third call skips both
    const again = await runGrid(p);
    expect(again.ran).toEqual([]);
    expect(again.skipped.map((c) => c.dir)).toEqual(['rte/k4/seed1', 'rte/k4/seed2']);
  });

  it('starts every cell from the source bank when one is given', async () => {
    const source = join(tmp, 'full', 'rte/k4/seed1/bank');
    const sourceBank = readBank(source);
    // learning rates so small that the trained bank is the initial one to float precision
    const tiny = { lr: 1e-12, lora_lr: 1e-12 };
    const withBank = plan('transfer', { train: { ...plan('').train, ...tiny }, bank: { paths: [source], mode: 'single' } });
    await runGrid(withBank);
    const without = plan('no-transfer', { train: { ...plan('').train, ...tiny } });
    await runGrid(without);
    const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - (b[i] as number))), 0);
    for (const seed of [1, 2]) {
      const bank = readBank(join(withBank.outDir, `rte/k4/seed${seed}/bank`));
      expect(maxDiff(bank.prompt_embeddings.data, sourceBank.prompt_embeddings.data)).toBeLessThan(1e-6);
      expect(maxDiff(bank.lora_embedding_A!.data, sourceBank.lora_embedding_A!.data)).toBeLessThan(1e-6);
      expect(maxDiff(bank.lora_embedding_B!.data, sourceBank.lora_embedding_B!.data)).toBeLessThan(1e-6);
      const plain = readBank(join(without.outDir, `rte/k4/seed${seed}/bank`));
      expect(maxDiff(plain.prompt_embeddings.data, sourceBank.prompt_embeddings.data)).toBeGreaterThan(1e-3);
      const resolved = readJsonFile<{ bank_source: { paths: string[] } }>(join(withBank.outDir, `rte/k4/seed${seed}/config.resolved.json`));
      expect(resolved.bank_source.paths).toEqual([source]);
    }
  });
});
