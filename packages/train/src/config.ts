/**
 * The training recipe of one DePT run, with DePT's defaults (DEPT.md §1.4): AdamW, P at lr 0.3, A and B at
 * lora_lr 1e-4, no weight decay (the official code's `--weight_decay` never reaches its optimiser), 500 warm-up
 * steps then linear decay, clipping at 1.0, batch 32, m 60, r 30, s 256, greedy predictions of up to 20 tokens.
 */
import { DeptError } from '@dept/core';
import type { PromptInit } from '@dept/prompt';
import type { PredictionMode } from './evaluate.ts';
import { linearWarmupDecay } from './schedule.ts';

export interface TrainConfig {
  /** m: soft prompt length. */
  num_virtual_tokens: number;
  /** r: rank of A·B (0 = vanilla prompt tuning). */
  r: number;
  /** s: inputs truncated to this many tokens; rows of A. */
  max_length: number;
  /**
   * Pad every input to exactly s, as DePT's code does. Off (the default): each batch is cut to its longest input,
   * which gives the same loss, gradients and predictions (T5 masks padding) and costs only the real tokens.
   */
  pad_to_max_length: boolean;
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
  /**
   * Split each batch into micro-batches of this size (gradient accumulation) to bound memory; 0 = whole batch. May
   * change when a run resumes (as may `eval_batch_size`); the dropout masks follow the micro-batches.
   */
  micro_batch_size: number;
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
  pad_to_max_length: false,
  lora_alpha: 8,
  prompt_init: 'TEXT',
  prompt_init_text: 'Classify this text is postive or not:',
  lr: 0.3,
  lora_lr: 1e-4,
  weight_decay: 0,
  warmup_steps: 500,
  max_steps: 30000,
  batch_size: 32,
  micro_batch_size: 0,
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

/** The fields {@link kshotTrainDefaults} fills. */
export type KshotDefaultField = 'max_steps' | 'warmup_steps' | 'eval_steps' | 'save_steps' | 'log_steps';

/**
 * The defaults of a k-shot run, for the fields its recipe and flags leave unset: DePT's own (30,000 steps, 500
 * warm-up, dev every 1,000) are those of its full-data runs, and its few-shot steps are not published (DEPT.md §2.2).
 * These follow LM-BFF's few-shot protocol (Gao et al. 2021: 1,000 steps, dev every 100), scaled to the run's
 * `max_steps`: 1,000 steps, a warm-up of a tenth of them (100), dev evaluation and checkpoints every tenth (100), the
 * loss logged every hundredth (10). Batches stay DePT's 32, so with k ≤ 32 every step sees the whole sample.
 *
 * @example
 * kshotTrainDefaults({});                 // { max_steps: 1000, warmup_steps: 100, eval_steps: 100, save_steps: 100, log_steps: 10 }
 * kshotTrainDefaults({ max_steps: 200 }); // { warmup_steps: 20, eval_steps: 20, save_steps: 20, log_steps: 2 }
 */
export function kshotTrainDefaults(given: Partial<TrainConfig>): Partial<Pick<TrainConfig, KshotDefaultField>> {
  const maxSteps = given.max_steps ?? 1000;
  const evalSteps = given.eval_steps ?? Math.max(1, Math.round(maxSteps / 10));
  const all: Pick<TrainConfig, KshotDefaultField> = {
    max_steps: maxSteps,
    warmup_steps: Math.round(maxSteps / 10),
    eval_steps: evalSteps,
    save_steps: evalSteps,
    log_steps: Math.max(1, Math.round(maxSteps / 100)),
  };
  return Object.fromEntries(Object.entries(all).filter(([key]) => given[key as KshotDefaultField] === undefined));
}

/**
 * One-line warnings about a training config that runs but is unlikely to be meant: a warm-up that never ends
 * (`warmup_steps` ≥ `max_steps`: the learning rate only rises and never decays).
 *
 * @example
 * trainConfigWarnings({ warmup_steps: 500, max_steps: 20 });
 * // ['train.warmup_steps (500) is not below train.max_steps (20): the learning rate rises for the whole run, reaching only 3.8% of lr at the last step, and never decays; lower --warmup-steps']
 */
export function trainConfigWarnings(config: Pick<TrainConfig, 'warmup_steps' | 'max_steps'>): string[] {
  const out: string[] = [];
  if (config.warmup_steps >= config.max_steps) {
    // The last update uses the multiplier of scheduler step max_steps − 1 (schedule.ts).
    const last = linearWarmupDecay(config.max_steps - 1, config.warmup_steps, config.max_steps);
    out.push(`train.warmup_steps (${config.warmup_steps}) is not below train.max_steps (${config.max_steps}): the learning rate rises for the whole run, reaching only ${(100 * last).toFixed(1)}% of lr at the last step, and never decays; lower --warmup-steps`);
  }
  return out;
}

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
  int('micro_batch_size', 0);
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
  if (typeof c.pad_to_max_length !== 'boolean') throw new DeptError(`${where}: "pad_to_max_length" is ${JSON.stringify(c.pad_to_max_length)}, expected true or false`);
  if (typeof c.dropout !== 'boolean') throw new DeptError(`${where}: "dropout" is ${JSON.stringify(c.dropout)}, expected true or false`);
  return c;
}

/** The most values one trainable tensor (P, A or B) may hold: 2^28 float32 values = 1 GiB. */
export const MAX_TENSOR_VALUES = 2 ** 28;
/** The most bytes one example's attention scores (heads × (m + s)² float32) may take: 256 MiB. */
export const MAX_ATTENTION_BYTES = 2 ** 28;

/**
 * The longest encoder input (m + s) a model with `num_heads` heads is allowed: T5's relative attention has no hard
 * position limit, so the limit is memory, one example's attention scores `[num_heads, m + s, m + s]` in float32
 * staying under 256 MiB (2364 positions for 12 heads, 2048 for 16).
 *
 * @example
 * maxInputPositions(12); // 2364
 */
export function maxInputPositions(numHeads: number): number {
  return Math.floor(Math.sqrt(MAX_ATTENTION_BYTES / (4 * Math.max(1, numHeads))));
}

/**
 * Checks that the prompt sizes fit the model before anything is allocated: m + s within
 * {@link maxInputPositions}, and so `max_target_length` and `max_new_tokens` (decoder positions), and P `[m, d]`,
 * A `[s, r]`, B `[r, d]` each under 2^28 values. Errors name the
 * recipe fields (`train.num_virtual_tokens`, `train.max_length`, `train.r`) and the allowed range.
 *
 * @example
 * checkModelLimits(resolveTrainConfig({}), { d_model: 768, num_heads: 12 }); // fine: m + s = 316 ≤ 2364
 */
export function checkModelLimits(
  config: Pick<TrainConfig, 'num_virtual_tokens' | 'max_length' | 'r'> & Partial<Pick<TrainConfig, 'max_target_length' | 'max_new_tokens'>>,
  model: { d_model: number; num_heads: number },
): void {
  const { num_virtual_tokens: m, max_length: s, r } = config;
  const d = model.d_model;
  const limit = maxInputPositions(model.num_heads);
  const why = `(${model.num_heads} heads: one example's attention scores must stay under 256 MiB)`;
  if (m + s > limit) {
    throw new DeptError(`train.num_virtual_tokens + train.max_length (m + s) is ${m} + ${s} = ${m + s}, over this model's limit of ${limit} positions ${why}; lower --m or --max-length`);
  }
  // The decoder's positions: the target tokens (training) and the generated ones (evaluation).
  for (const key of ['max_target_length', 'max_new_tokens'] as const) {
    const v = config[key];
    if (v !== undefined && v > limit) throw new DeptError(`train.${key} is ${v}, over this model's limit of ${limit} decoder positions ${why}`);
  }
  for (const [field, rows, cols, what] of [
    ['train.num_virtual_tokens', m, d, `P [m, d_model] = [${m}, ${d}]`],
    ['train.r', s, r, `A [s, r] = [${s}, ${r}]`],
    ['train.r', r, d, `B [r, d_model] = [${r}, ${d}]`],
  ] as const) {
    if (rows * cols > MAX_TENSOR_VALUES) {
      throw new DeptError(`${field} is too large: ${what} would hold ${rows * cols} values, more than ${MAX_TENSOR_VALUES} (1 GiB); expected ${field === 'train.r' ? `r ≤ ${Math.floor(MAX_TENSOR_VALUES / Math.max(s, d))}` : `m ≤ ${Math.floor(MAX_TENSOR_VALUES / d)}`}`);
    }
  }
}

/**
 * A recorded run's settings (`{ train: {...}, ... }`, as in `config.resolved.json` or a grid's `grid.json`) without
 * those that only bound memory, `train.micro_batch_size` and `train.eval_batch_size`: a run stopped because a
 * batch did not fit may continue with smaller ones. (Dropout masks follow the micro-batches, so the steps after
 * such a resume draw other masks than an uninterrupted run would.)
 *
 * @example
 * withoutMemorySettings({ train: { lr: 0.3, micro_batch_size: 4 } }); // { train: { lr: 0.3 } }
 */
export function withoutMemorySettings(settings: Record<string, unknown>): Record<string, unknown> {
  const train = settings.train;
  if (typeof train !== 'object' || train === null) return settings;
  const { micro_batch_size: _micro, eval_batch_size: _eval, ...rest } = train as Record<string, unknown>;
  return { ...settings, train: rest };
}
