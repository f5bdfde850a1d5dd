/**
 * A short multitask pretraining on two real source tasks (QQP and QNLI from `../shared/data/glue-pretrain`) with a
 * tiny random T5 and the real T5 tokenizer: the banks and the manifest it writes, a target run initialised from
 * the shared bank by name through transfer, and an interrupted pretraining resumed to identical banks.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { isDeptError } from '@dept/core';
import { loadPretrainedT5, presetConfig, writeRandomT5, type PretrainedT5 } from '@dept/t5';
import { readBank, type Bank } from '@dept/prompt';
import { trainPrompt, TrainingStopped, type TrainConfig } from '@dept/train';
import { importSourceBank } from '@dept/transfer';
import { loadSourceTask, readPretrainManifest, runPretrain, singleTaskEvaluation, type PretrainEvent, type PretrainOptions } from '@dept/pretrain';
import { describeShared, sharedPath } from '../../../test/helpers/shared.ts';

const TRAIN: Partial<TrainConfig> = {
  max_steps: 4, batch_size: 4, eval_batch_size: 12, max_length: 32, num_virtual_tokens: 4, r: 2, warmup_steps: 1,
  eval_steps: 2, save_steps: 2, log_steps: 2, max_new_tokens: 2, lr: 0.3, lora_lr: 0.01,
};

const values = (bank: Bank) => ({
  P: Array.from(bank.prompt_embeddings.data),
  A: Array.from(bank.lora_embedding_A?.data ?? []),
  B: Array.from(bank.lora_embedding_B?.data ?? []),
});

describeShared('multitask source pretraining (QQP + QNLI, tiny random T5)', () => {
  let tmp = '';
  let pretrained: PretrainedT5;
  let options: (outDir: string) => PretrainOptions;

  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), 'dept-pretrain-'));
    const modelDir = join(tmp, 'model');
    writeRandomT5(modelDir, presetConfig('mini'), { seed: 3, tokenizerDir: sharedPath('models', 't5-tokenizer') });
    pretrained = loadPretrainedT5(modelDir);
    options = (outDir) => ({
      pretrained,
      sources: ['qqp', 'glue/qnli'],
      dataDir: sharedPath('data', 'glue-pretrain'),
      mixing: { kind: 'temperature', temperature: 2, cap: 30 },
      limits: { train: 40, dev: 6, test: 4, tasks: { qnli: { train: 20 } } },
      train: TRAIN,
      perTaskSteps: 3,
      perTaskTrain: { warmup_steps: 1, eval_steps: 3 },
      outDir,
      name: 'sources',
    });
  });
  afterAll(() => {
    pretrained?.model.dispose();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('writes a shared bank, one bank per task and the manifest', async () => {
    const out = join(tmp, 'a');
    const events: PretrainEvent[] = [];
    const manifest = await runPretrain({ ...options(out), onEvent: (e) => events.push(e) });

    expect(manifest.tasks).toEqual(['qqp', 'qnli']);
    expect(manifest.examples.qqp).toMatchObject({ train: 40, dev: 6, test: 4, available_train: 7999, split: 'dept' });
    expect(manifest.examples.qnli).toMatchObject({ train: 20, dev: 6, test: 4, available_train: 7999, split: 'dept' });
    // T = 2 after the cap K = 30: √min(40, 30) = √30, √min(20, 30) = √20; √30 / (√30 + √20) = √1.5 / (√1.5 + 1)
    expect(manifest.mixing).toMatchObject({ kind: 'temperature', cap: 30, temperature: 2 });
    expect(manifest.mixing.rates.qqp).toBeCloseTo(0.5505102572, 9);
    expect(manifest.mixing.rates.qnli).toBeCloseTo(0.4494897428, 9);
    expect(manifest.steps).toEqual({ shared: 4, per_task: 3 });
    expect(manifest.model).toBe(pretrained.dir);
    expect(manifest.random_weights).toBe(true);
    expect(manifest.banks).toEqual({ shared: 'banks/shared', qqp: 'banks/qqp', qnli: 'banks/qnli' });

    // Dev metrics per task, and the selection metric is their mean (QQP and QNLI both select on accuracy).
    expect(Object.keys(manifest.dev)).toEqual(['qqp', 'qnli']);
    expect(Object.keys(manifest.dev.qqp!)).toEqual(['f1', 'accuracy']);
    expect(Object.keys(manifest.dev.qnli!)).toEqual(['accuracy']);
    expect(manifest.shared.selection_metric).toBe('average');
    expect(manifest.shared.dev.average).toBeCloseTo((manifest.dev.qqp!.accuracy! + manifest.dev.qnli!.accuracy!) / 2, 10);
    for (const task of ['qqp', 'qnli']) {
      expect(manifest.per_task[task]).toMatchObject({ bank: `banks/${task}`, run: `runs/${task}`, max_steps: 3, selection_metric: 'accuracy' });
    }

    // The file on disk is what was returned; the stages ran in order.
    expect(readPretrainManifest(out)).toEqual(manifest);
    expect(events.filter((e) => e.type === 'stage').map((e) => (e as { stage: string }).stage)).toEqual(['shared', 'qqp', 'qnli']);
    expect(events.filter((e) => e.type === 'train' && e.stage === 'shared' && e.event.type === 'step')).toHaveLength(4);
    expect(events.filter((e) => e.type === 'train' && e.stage === 'qnli' && e.event.type === 'step')).toHaveLength(3);

    // Bank shapes: P [m, d], A [s, r], B [r, d]; the shared bank is the shared run's selected bank.
    const shared = readBank(join(out, 'banks', 'shared'));
    expect(shared.prompt_embeddings.shape).toEqual([4, 64]);
    expect(shared.lora_embedding_A?.shape).toEqual([32, 2]);
    expect(shared.lora_embedding_B?.shape).toEqual([2, 64]);
    expect(values(shared)).toEqual(values(readBank(join(out, 'runs', 'shared', 'bank'))));
    // Per-task banks moved away from the shared bank they started from.
    for (const task of ['qqp', 'qnli']) expect(values(readBank(join(out, 'banks', task))).P).not.toEqual(values(shared).P);

    // A finished folder is refused without --resume/--overwrite, and returned as is with --resume.
    await expect(runPretrain(options(out))).rejects.toThrow(/already holds a finished pretraining/);
    const again: PretrainEvent[] = [];
    expect(await runPretrain({ ...options(out), resume: true, onEvent: (e) => again.push(e) })).toEqual(manifest);
    expect(again.map((e) => e.type)).toEqual(['done']);
  });

  it('initialises a target run from the shared bank by name', async () => {
    const out = join(tmp, 'a');
    const source = readBank(join(out, 'banks', 'shared'));
    const byName = importSourceBank(`${out}#shared`).bank;
    expect(values(importSourceBank(out).bank)).toEqual(values(source));
    expect(values(byName)).toEqual(values(source));
    // A per-task name gives that bank, not the shared one.
    expect(values(importSourceBank(out, { name: 'qnli' }).bank)).toEqual(values(readBank(join(out, 'banks', 'qnli'))));

    // One step whose learning rate is 0 (the first step of a warm-up) keeps the initial bank: the target run's
    // bank is then exactly its initial values.
    const rte = await loadSourceTask('rte', { dataDir: sharedPath('data', 'glue-pretrain'), seed: 1, limits: { train: 8, dev: 4, test: 4 } });
    const target = join(tmp, 'target-rte');
    await trainPrompt({
      model: pretrained.model, tokenizer: pretrained.tokenizer!, data: { train: rte.train, dev: rte.dev, test: rte.test },
      evaluation: singleTaskEvaluation('rte'), config: { ...TRAIN, max_steps: 1, warmup_steps: 5 }, outDir: target, initialBank: byName,
    });
    expect(values(readBank(join(target, 'bank')))).toEqual(values(source));

    // Without the source bank the same run starts elsewhere (so the comparison above can fail).
    const scratch = join(tmp, 'target-rte-scratch');
    await trainPrompt({
      model: pretrained.model, tokenizer: pretrained.tokenizer!, data: { train: rte.train, dev: rte.dev, test: rte.test },
      evaluation: singleTaskEvaluation('rte'), config: { ...TRAIN, max_steps: 1, warmup_steps: 5 }, outDir: scratch,
    });
    expect(values(readBank(join(scratch, 'bank'))).P).not.toEqual(values(source).P);
  });

  it('resumes an interrupted pretraining to identical banks and manifest', async () => {
    const reference = join(tmp, 'a');
    const out = join(tmp, 'b');
    // Killed during the shared stage after 3 steps (its checkpoint is at step 2).
    const first = await runPretrain({ ...options(out), stopAfterSteps: 3 }).then(() => null, (e: unknown) => e);
    expect(first).toBeInstanceOf(TrainingStopped);
    expect(existsSync(join(out, 'manifest.json'))).toBe(false);
    expect(existsSync(join(out, 'runs', 'shared', 'checkpoint'))).toBe(true);

    // Not resumed by accident.
    const refused = await runPretrain(options(out)).then(() => null, (e: unknown) => e);
    expect(isDeptError(refused)).toBe(true);
    expect((refused as Error).message).toMatch(/unfinished pretraining; use --resume/);

    // Resumed, then killed again in the first per-task stage: 2 more shared steps (3, 4) and 2 steps of qqp.
    const starts = (events: PretrainEvent[]) => events.flatMap((e) => (e.type === 'train' && e.event.type === 'start' ? [{ stage: e.stage, step: e.event.step, resumed: e.event.resumed }] : []));
    const secondEvents: PretrainEvent[] = [];
    const second = await runPretrain({ ...options(out), resume: true, stopAfterSteps: 4, onEvent: (e) => secondEvents.push(e) }).then(() => null, (e: unknown) => e);
    expect(second).toBeInstanceOf(TrainingStopped);
    expect(starts(secondEvents)).toEqual([{ stage: 'shared', step: 2, resumed: true }, { stage: 'qqp', step: 0, resumed: false }]);
    expect(existsSync(join(out, 'runs', 'shared', 'results.json'))).toBe(true);
    expect(existsSync(join(out, 'runs', 'qqp', 'results.json'))).toBe(false);

    const thirdEvents: PretrainEvent[] = [];
    const manifest = await runPretrain({ ...options(out), resume: true, onEvent: (e) => thirdEvents.push(e) });
    // The finished shared stage is kept; qqp continues from its step-2 checkpoint.
    expect(starts(thirdEvents)).toEqual([{ stage: 'qqp', step: 2, resumed: true }, { stage: 'qnli', step: 0, resumed: false }]);
    expect(manifest).toEqual(readPretrainManifest(reference));
    for (const name of ['shared', 'qqp', 'qnli']) {
      for (const file of ['adapter_model.safetensors', 'adapter_config.json']) {
        expect(readFileSync(join(out, 'banks', name, file)).equals(readFileSync(join(reference, 'banks', name, file)))).toBe(true);
      }
    }
  });
});
