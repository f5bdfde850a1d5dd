/**
 * The pretraining recipe schema (`dept pretrain <recipe>`) and the paper's recipe file.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isDeptError } from '@dept/core';
import { readRecipeFile } from '../../cli/src/recipe.ts';
import { resolvePretrainRecipe, validatePretrainRecipe } from '../../cli/src/pretrain-recipe.ts';
import { REPO_ROOT } from '../../../test/helpers/shared.ts';

function message(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(isDeptError(error)).toBe(true);
    return (error as Error).message;
  }
  throw new Error('expected a DeptError');
}

describe('pretraining recipes', () => {
  it('the paper recipe: six sources on t5-base with DePT\'s released T5-base hyper-parameters', () => {
    const recipe = validatePretrainRecipe(readRecipeFile(join(REPO_ROOT, 'recipes/paper/pretrain-sources.yaml')), 'pretrain-sources.yaml');
    expect(recipe.sources).toEqual(['mnli', 'qqp', 'qnli', 'sst2', 'squad', 'superglue-record']);
    expect(recipe.missing_data).toBe('skip');
    expect(recipe.mixing).toEqual({ kind: 'proportional', cap: 2 ** 19, temperature: 1 });
    expect(recipe.seed).toBe(42);
    // DEPT.md §1.4: m 60, r 30, s 256, batch 32, lr 0.3 / 1e-4 (MNLI), warm-up 500, wd 0, eval/save every 1000
    expect(recipe.train).toMatchObject({
      num_virtual_tokens: 60, r: 30, max_length: 256, batch_size: 32, lr: 0.3, lora_lr: 1e-4, warmup_steps: 500,
      weight_decay: 0, eval_steps: 1000, save_steps: 1000, max_grad_norm: 1, predict: 'generate', max_new_tokens: 20,
    });
    expect(recipe.per_task_steps).toBe(30000);
    expect(recipe.per_task_train).toEqual({ warmup_steps: 500 });
    expect(recipe.out).toBe('runs/pretrain-sources');
  });

  it('fills defaults and applies flags over the file', () => {
    const recipe = resolvePretrainRecipe(undefined, { sources: 'qqp, qnli', model: 'models/x', mixing: 'temperature', temperature: 2, maxEvalExamples: 5, perTaskSteps: 3 });
    expect(recipe.sources).toEqual(['qqp', 'qnli']);
    expect(recipe.mixing).toEqual({ kind: 'temperature', cap: null, temperature: 2 });
    expect(recipe.data.limits).toEqual({ dev: 5, test: 5 });
    expect(recipe.per_task_steps).toBe(3);
    expect(recipe.per_task_train).toBeUndefined();
    expect(recipe.name).toBe('pretrain');
  });

  it('names the bad field in one line', () => {
    const base = { model: { path: 'm' }, sources: ['qqp'] };
    expect(message(() => validatePretrainRecipe({ ...base, mixing: { kind: 'uniform' } }, 'p.yaml'))).toBe('p.yaml: mixing.kind: expected one of "proportional", "temperature"');
    expect(message(() => validatePretrainRecipe({ ...base, per_task_train: { max_steps: 3 } }, 'p.yaml'))).toMatch(/^p\.yaml: per_task_train: unknown field "max_steps"; allowed: .*warmup_steps/);
    expect(message(() => validatePretrainRecipe({ ...base, tasks: ['rte'] }, 'p.yaml'))).toMatch(/^p\.yaml: unknown field "tasks"; allowed: name, description, model, data, sources,/);
    expect(message(() => validatePretrainRecipe({ ...base, mixing: { cap: 0 } }, 'p.yaml'))).toMatch(/^p\.yaml: mixing\.cap: /);
    expect(message(() => validatePretrainRecipe({ model: { path: 'm' }, sources: [] }, 'p.yaml'))).toMatch(/^p\.yaml: sources: /);
  });
});
