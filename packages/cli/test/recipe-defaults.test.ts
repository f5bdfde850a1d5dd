/**
 * Few-shot defaults (issue 16): a run with k takes the few-shot steps for the train fields that the recipe file,
 * `--set` and the flags leave unset; a full-data run keeps DePT's; a warm-up that never ends is a one-line warning.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { kshotTrainDefaults, trainConfigWarnings } from '@dept/train/config';
import { recipeWarnings, resolveRecipe } from '../src/commands/common.ts';

const tmp = mkdtempSync(join(tmpdir(), 'dept-recipe-defaults-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const steps = (train: Record<string, unknown>) => ({
  max_steps: train.max_steps, warmup_steps: train.warmup_steps, eval_steps: train.eval_steps, save_steps: train.save_steps, log_steps: train.log_steps,
});

describe('few-shot defaults', () => {
  it('are 1000 steps, a tenth of them warm-up, dev and checkpoints every tenth, the loss every hundredth; scaled to a given max_steps', () => {
    expect(kshotTrainDefaults({})).toEqual({ max_steps: 1000, warmup_steps: 100, eval_steps: 100, save_steps: 100, log_steps: 10 });
    expect(kshotTrainDefaults({ max_steps: 20 })).toEqual({ warmup_steps: 2, eval_steps: 2, save_steps: 2, log_steps: 1 });
    expect(kshotTrainDefaults({ max_steps: 300, eval_steps: 50, warmup_steps: 0 })).toEqual({ save_steps: 50, log_steps: 3 });
  });

  it('dept train --k: unset fields take them, flags keep theirs; without --k DePT\'s 30000 steps and 500 warm-up stay', () => {
    const base = { task: 'superglue-cb', model: 'm' };
    expect(steps(resolveRecipe(undefined, { ...base, k: '5' }, { grid: false }).train)).toEqual({ max_steps: 1000, warmup_steps: 100, eval_steps: 100, save_steps: 100, log_steps: 10 });
    expect(steps(resolveRecipe(undefined, { ...base, k: '5', maxSteps: '20' }, { grid: false }).train)).toEqual({ max_steps: 20, warmup_steps: 2, eval_steps: 2, save_steps: 2, log_steps: 1 });
    expect(steps(resolveRecipe(undefined, { ...base, k: '5', maxSteps: '20', warmupSteps: '500', set: ['train.log_steps=7'] }, { grid: false }).train))
      .toEqual({ max_steps: 20, warmup_steps: 500, eval_steps: 2, save_steps: 2, log_steps: 7 });
    expect(steps(resolveRecipe(undefined, base, { grid: false }).train)).toEqual({ max_steps: 30000, warmup_steps: 500, eval_steps: 1000, save_steps: 1000, log_steps: 50 });
  });

  it('dept fewshot: a grid is k-shot, and the recipe file\'s own train fields win', () => {
    const path = join(tmp, 'grid.yaml');
    writeFileSync(path, 'model: {path: m}\ntasks: [rte]\ntrain:\n  max_steps: 400\n  eval_steps: 25\n');
    expect(steps(resolveRecipe(path, {}, { grid: true }).train)).toEqual({ max_steps: 400, warmup_steps: 40, eval_steps: 25, save_steps: 25, log_steps: 4 });
    expect(steps(resolveRecipe(undefined, { task: 'rte', model: 'm' }, { grid: true }).train).max_steps).toBe(1000);
  });
});

describe('warnings', () => {
  it('a warm-up as long as the run or longer is a one-line warning; a shorter one is not', () => {
    expect(trainConfigWarnings({ warmup_steps: 500, max_steps: 20 })).toEqual([
      'train.warmup_steps (500) is not below train.max_steps (20): the learning rate rises for the whole run, reaching only 3.8% of lr at the last step, and never decays; lower --warmup-steps',
    ]);
    expect(trainConfigWarnings({ warmup_steps: 20, max_steps: 20 })).toHaveLength(1);
    expect(trainConfigWarnings({ warmup_steps: 19, max_steps: 20 })).toEqual([]);
    const recipe = resolveRecipe(undefined, { task: 'rte', model: 'm', warmupSteps: '100', search: ['max_steps=50,500'] }, { grid: true });
    expect(recipeWarnings(recipe)).toEqual([
      'search (max_steps 50, warmup_steps 100): train.warmup_steps (100) is not below train.max_steps (50): the learning rate rises for the whole run, reaching only 49.0% of lr at the last step, and never decays; lower --warmup-steps',
    ]);
  });
});

describe('data flags and fields', () => {
  it('--layout, --subset and --max-eval-examples set data.*; bad values are one line naming the flag or field', () => {
    const recipe = resolveRecipe(undefined, { task: 'sst2', model: 'm', layout: 'lmbff-kshot', subset: '16-21', maxEvalExamples: '200' }, { grid: false });
    expect(recipe.data).toMatchObject({ layout: 'lmbff-kshot', subset: '16-21', max_eval_examples: 200 });
    expect(() => resolveRecipe(undefined, { task: 'sst2', model: 'm', layout: 'kshot' }, { grid: false })).toThrow(/^--layout must be one of glue-tsv, .*lmbff-kshot, got "kshot"$/);
    expect(() => resolveRecipe(undefined, { task: 'sst2', model: 'm', subset: '21' }, { grid: false })).toThrow('--subset must be a <k>-<seed> folder name such as 16-13, got "21"');
    expect(() => resolveRecipe(undefined, { task: 'sst2', model: 'm', maxEvalExamples: '0' }, { grid: false })).toThrow(/--max-eval-examples/);
    const path = join(tmp, 'bad-layout.yaml');
    writeFileSync(path, 'model: {path: m}\ntasks: [rte]\ndata: {layout: tsv}\n');
    expect(() => resolveRecipe(path, {}, { grid: true })).toThrow(`${path}: data.layout: expected one of "glue-tsv"`);
  });
});
