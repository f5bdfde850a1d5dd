/**
 * The training recipe of one DePT run, with DePT's defaults (DEPT.md §1.4): AdamW, P at lr 0.3, A and B at
 * lora_lr 1e-4, no weight decay (the official code's `--weight_decay` never reaches its optimiser), 500 warm-up
 * steps then linear decay, clipping at 1.0, batch 32, m 60, r 30, s 256, greedy predictions of up to 20 tokens.
 */
import { DeptError } from '@dept/tensor';
import type { PromptInit } from '@dept/prompt';
import type { PredictionMode } from './evaluate.ts';

export interface TrainConfig {
  /** m: soft prompt length. */
  num_virtual_tokens: number;
  /** r: rank of A·B (0 = vanilla prompt tuning). */
  r: number;
  /** s: inputs padded/truncated to exactly this many tokens. */
  max_length: number;
  lora_alpha: number;
  prompt_init: PromptInit;
  prompt_init_text: string;
  /** Learning rate of P. */
  lr: number;
  /** Learning rate of A and B. */
  lora_lr: number;
  weight_decay: number;
  warmup_steps: number;
  max_steps: number;
  batch_size: number;
  eval_batch_size: number;
  max_grad_norm: number;
  eval_steps: number;
  save_steps: number;
  /** Log the running loss every this many steps. */
  log_steps: number;
  seed: number;
  /** Dropout of the frozen T5 (its config's rate) during training steps. */
  dropout: boolean;
  /** `generate` (greedy, compared as strings, as DePT) or `score` (most likely label string). */
  predict: PredictionMode;
  max_new_tokens: number;
  /** Target token budget (labels padded with -100); 0 = the longest training target. */
  max_target_length: number;
}

export const DEFAULT_TRAIN_CONFIG: TrainConfig = {
  num_virtual_tokens: 60,
  r: 30,
  max_length: 256,
  lora_alpha: 8,
  prompt_init: 'TEXT',
  prompt_init_text: 'Classify this text is postive or not:',
  lr: 0.3,
  lora_lr: 1e-4,
  weight_decay: 0,
  warmup_steps: 500,
  max_steps: 30000,
  batch_size: 32,
  eval_batch_size: 32,
  max_grad_norm: 1.0,
  eval_steps: 1000,
  save_steps: 1000,
  log_steps: 50,
  seed: 42,
  dropout: true,
  predict: 'generate',
  max_new_tokens: 20,
  max_target_length: 0,
};

/**
 * Fills defaults and validates every field, naming the bad one and the allowed values.
 *
 * @example
 * const config = resolveTrainConfig({ max_steps: 100, eval_steps: 20 });
 */
export function resolveTrainConfig(partial: Partial<TrainConfig>, where = 'training config'): TrainConfig {
  const c: TrainConfig = { ...DEFAULT_TRAIN_CONFIG, ...partial };
  const int = (key: keyof TrainConfig, min: number) => {
    const v = c[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
      throw new DeptError(`${where}: "${key}" is ${JSON.stringify(v)}, expected an integer ≥ ${min}`);
    }
  };
  const pos = (key: keyof TrainConfig, allowZero = false) => {
    const v = c[key];
    if (typeof v !== 'number' || !Number.isFinite(v) || (allowZero ? v < 0 : v <= 0)) {
      throw new DeptError(`${where}: "${key}" is ${JSON.stringify(v)}, expected a number ${allowZero ? '≥ 0' : '> 0'}`);
    }
  };
  int('num_virtual_tokens', 0);
  int('r', 0);
  int('max_length', 1);
  int('warmup_steps', 0);
  int('max_steps', 1);
  int('batch_size', 1);
  int('eval_batch_size', 1);
  int('eval_steps', 1);
  int('save_steps', 1);
  int('log_steps', 1);
  int('seed', 0);
  int('max_new_tokens', 1);
  int('max_target_length', 0);
  pos('lr');
  pos('lora_lr');
  pos('lora_alpha');
  pos('weight_decay', true);
  pos('max_grad_norm');
  if (c.num_virtual_tokens === 0 && c.r === 0) throw new DeptError(`${where}: "num_virtual_tokens" and "r" are both 0: nothing to train`);
  if (!['TEXT', 'SAMPLE_VOCAB', 'RANDOM'].includes(c.prompt_init)) {
    throw new DeptError(`${where}: "prompt_init" is ${JSON.stringify(c.prompt_init)}, expected one of TEXT, SAMPLE_VOCAB, RANDOM`);
  }
  if (!['generate', 'score'].includes(c.predict)) {
    throw new DeptError(`${where}: "predict" is ${JSON.stringify(c.predict)}, expected generate or score`);
  }
  if (typeof c.dropout !== 'boolean') throw new DeptError(`${where}: "dropout" is ${JSON.stringify(c.dropout)}, expected true or false`);
  return c;
}
