/**
 * The grid training real cells in-process on the bundled sample data (datasets/sample, no ../shared) with a tiny
 * random model: one model load for all cells, a killed cell resumed from its checkpoint to the same results as an
 * uninterrupted run, and the initial bank of every cell taken from the source bank.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readBank } from '@dept/prompt';
import { readJsonFile } from '@dept/core';
import { TrainingStopped } from '@dept/train';
import { evaluateBank, loadGridModel, openBank, readCellResults, runEvaluationDefaults, runGrid, type GridEvent, type GridPlan } from '../src/index.ts';

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

describe('which data a cell reads, and what it records (issue 16)', () => {
  let data: string;
  const rte = (n: number, tag: string, label: (i: number) => number = (i) => i % 2) => ['index\tsentence1\tsentence2\tlabel', ...Array.from({ length: n }, (_, i) => `${i}\tthe ${tag} ${i} is here\tit is ${tag}\t${label(i)}`)].join('\n');
  beforeAll(() => {
    data = mkdtempSync(join(tmpdir(), 'dept-grid-data-'));
    const w = (rel: string, text: string) => {
      mkdirSync(join(data, rel, '..'), { recursive: true });
      writeFileSync(join(data, rel), text);
    };
    w('glue/RTE/train.tsv', rte(12, 'full'));
    w('glue/RTE/dev.tsv', rte(8, 'full'));
    // Seed 2's folder has no row of class 1: DePT's sampler stops at 2 of k 4.
    for (const seed of [1, 2]) {
      w(`glue-kshot/RTE/16-${seed}/train.tsv`, rte(6, `shot${seed}`, seed === 2 ? () => 0 : undefined));
      w(`glue-kshot/RTE/16-${seed}/dev.tsv`, rte(8, `dev${seed}`));
      w(`glue-kshot/RTE/16-${seed}/test.tsv`, rte(8, `test${seed}`));
    }
  });
  afterAll(() => rmSync(data, { recursive: true, force: true }));

  it('each seed reads its own LM-BFF folder, is scored on max_eval_examples rows, and records folder and layout', async () => {
    const events: GridEvent[] = [];
    const p = plan('lmbff', { dataDir: data, layout: 'lmbff-kshot', maxEvalExamples: 3, model: { path: join(tmp, 'model-lmbff'), init: { preset: 'tiny-relu', seed: 0 } } });
    await runGrid(p, { onEvent: (e) => events.push(e) });
    for (const seed of [1, 2]) {
      const dir = join(p.outDir, `rte/k4/seed${seed}`);
      const origin = { folder: `glue-kshot/RTE/16-${seed}`, layout: 'lmbff-kshot', subset: `16-${seed}` };
      const results = readCellResults(p.outDir, { dir: `rte/k4/seed${seed}` });
      expect(results.data).toEqual(origin);
      expect([results.dev_examples, results.test_examples]).toEqual([3, 3]);
      const resolved = readJsonFile<{ data: unknown; max_eval_examples: number; train: { log_steps: number } }>(join(dir, 'config.resolved.json'));
      expect(resolved.data).toEqual(origin);
      expect(resolved.max_eval_examples).toBe(3);
      // A k-shot cell takes the few-shot default for what the plan leaves out: the loss every hundredth of 4 steps, not every 50.
      expect(resolved.train.log_steps).toBe(1);
      const sources = readFileSync(join(dir, 'predictions.jsonl'), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { source: string }).source);
      expect(sources).toHaveLength(3);
      expect(sources.every((x) => x.includes(`test${seed}`))).toBe(true);
    }
    // dept eval of a cell's bank reads the folder, layout and subsample it recorded: its results.json again.
    const { pretrained } = await loadGridModel(p);
    try {
      for (const split of ['dev', 'test'] as const) {
        const { bank, run } = openBank(join(p.outDir, 'rte/k4/seed2'), pretrained);
        const again = await evaluateBank({ pretrained, bank, ...runEvaluationDefaults(run!), split });
        expect([again.examples, again.metrics.dept]).toEqual([3, readCellResults(p.outDir, { dir: 'rte/k4/seed2' })[split]]);
        expect(again.predictions.every((e) => e.source.includes(`${split}2`))).toBe(true);
      }
    } finally {
      pretrained.model.dispose();
    }
    const grid = readJsonFile<{ settings: Record<string, unknown> }>(join(p.outDir, 'grid.json'));
    expect([grid.settings.layout, grid.settings.max_eval_examples]).toEqual(['lmbff-kshot', 3]);
    const warnings = events.flatMap((e) => (e.type === 'warn' ? [`${e.cell.seed}: ${e.line}`] : []));
    expect(warnings).toEqual(['2: DePT\'s k-shot sampler returned 2 rows, not 4: class "1" has 0 rows in the train part, under its quota of k // 2 = 2; DePT\'s rule takes a row past a quota only once exactly k − 1 = 3 rows are in, and it stopped at 2']);
    // Without a layout the GLUE folder comes first by priority, and a note says so.
    const notes: string[] = [];
    const q = plan('priority', { dataDir: data, seeds: [1], train: { ...plan('').train, max_steps: 1, eval_steps: 1 }, model: p.model });
    await runGrid(q, { onEvent: (e) => { if (e.type === 'log') notes.push(e.line); } });
    expect(readCellResults(q.outDir, { dir: 'rte/k4/seed1' }).data).toEqual({ folder: 'glue/RTE', layout: 'glue-tsv', subset: null });
    expect(notes).toContain('rte: 2 folders hold it; using glue/RTE (glue-tsv), the first by layout priority (glue-tsv, lmbff-kshot); also glue-kshot/RTE/16-1 (lmbff-kshot); choose with --layout, --subset (data.layout, data.subset)');
  });
});
