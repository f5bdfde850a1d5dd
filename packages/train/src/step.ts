/**
 * One DePT optimiser step, without a run folder: the loss and gradients of a batch (in micro-batches, dropout masks
 * from the step's own seed), clipping, AdamW on host copies of P, A and B, and the variables updated. `trainPrompt`
 * runs its steps through this; so does the browser example, which has no files. No Node module is imported here.
 */
import { DeptError, Rng } from '@dept/core';
import { tf } from '@dept/tensor';
import type { T5ForConditionalGeneration, T5Tokenizer } from '@dept/t5';
import { cutRows, unpaddedLength, type DecomposedPrompt } from '@dept/prompt';
import { adamwUpdate, clipGradNorm, HF_ADAMW_DEFAULTS, type AdamWSlot } from './adamw.ts';
import { derivedSeed } from './batches.ts';
import type { TrainConfig } from './config.ts';
import type { TextExample } from './evaluate.ts';
import { withHeapAdvice } from './heap-advice.ts';
import { linearWarmupDecay } from './schedule.ts';

/** Training examples tokenized once: inputs padded to s, labels to the target length with -100. */
export interface EncodedExamples {
  inputIds: number[][];
  attentionMask: number[][];
  labels: number[][];
}

/**
 * Tokenizes training examples; targets longer than `targetLength` are cut and end with EOS.
 *
 * @example
 * const encoded = encodeExamples(tokenizer, [{ source: 'sentence: fun', target: '1' }], 12, 2);
 */
export function encodeExamples(tokenizer: T5Tokenizer, examples: readonly TextExample[], s: number, targetLength: number): EncodedExamples {
  const batch = tokenizer.encodeBatch(examples.map((e) => e.source), s);
  const labels = examples.map((e) => {
    const ids = tokenizer.encodeTruncated(e.target, targetLength);
    return [...ids, ...new Array<number>(targetLength - ids.length).fill(-100)];
  });
  return { inputIds: batch.input_ids, attentionMask: batch.attention_mask, labels };
}

/**
 * The target length a run pads labels to: `max_target_length`, else the most target tokens of any training example,
 * tokenising no more of a long target than `limit + 1` tokens need; refused when a target is longer than the
 * model's decoder `limit` (positions).
 *
 * @example
 * targetLengthFor({ max_target_length: 0 }, tokenizer, [{ source: 's', target: 'positive' }], 4096); // e.g. 2
 */
export function targetLengthFor(config: Pick<TrainConfig, 'max_target_length'>, tokenizer: T5Tokenizer, train: readonly TextExample[], limit: number): number {
  if (config.max_target_length > 0) return config.max_target_length;
  let longest = 0;
  train.forEach((e, i) => {
    const n = tokenizer.encodeTruncated(e.target, limit + 1).length;
    if (n > limit) {
      throw new DeptError(`training example ${i}: its target has more than ${limit} tokens, this model's limit of decoder positions; set train.max_target_length to cut targets (DePT cuts them to its max_target_length)`);
    }
    longest = Math.max(longest, n);
  });
  return longest;
}

/** The trained tensors, in the prompt's variable order (A and B only when r > 0). */
export const PARAM_NAMES = ['prompt_embeddings', 'lora_embedding_A', 'lora_embedding_B'] as const;

/** The optimiser's state over a run: host copies of the trained tensors (by name) and their AdamW moments. */
export interface PromptOptimiser {
  /** {@link PARAM_NAMES}, or its first name alone when r = 0. */
  names: readonly string[];
  host: Map<string, Float32Array>;
  moments: Map<string, AdamWSlot>;
}

/**
 * A fresh optimiser for `prompt`: host copies of its current values, zero moments.
 *
 * @example
 * const optimiser = await newPromptOptimiser(prompt);
 */
export async function newPromptOptimiser(prompt: DecomposedPrompt): Promise<PromptOptimiser> {
  const variables = prompt.variables();
  const names = PARAM_NAMES.slice(0, variables.length);
  const host = new Map<string, Float32Array>();
  const moments = new Map<string, AdamWSlot>();
  for (const [i, v] of variables.entries()) {
    const values = new Float32Array(await v.data());
    host.set(names[i] as string, values);
    moments.set(names[i] as string, { m: new Float32Array(values.length), v: new Float32Array(values.length) });
  }
  return { names, host, moments };
}

/** What one step needs besides the optimiser. */
export interface StepInputs {
  model: T5ForConditionalGeneration;
  prompt: DecomposedPrompt;
  config: TrainConfig;
  encoded: EncodedExamples;
  /** The batch: rows of `encoded`. */
  indices: number[];
  /** Steps taken before this one (the schedule and the dropout seed use it). */
  step: number;
}

/** A step's loss; `finite` false means nothing was updated (a loss or gradient was NaN or infinite). */
export interface StepResult {
  loss: number;
  finite: boolean;
}

/**
 * Runs optimiser step `step + 1` on the batch `indices`: forward and backward in micro-batches (each chunk's mean
 * loss weighted by its share of the batch's target tokens, so loss and gradients equal the whole batch's up to
 * summation order), dropout masks from `(seed, step)`, gradients clipped, AdamW with the warm-up/decay schedule,
 * the prompt's variables set to the new values. A full wasm heap is a `DeptError` naming `micro_batch_size`.
 *
 * @example
 * const { loss } = await promptStep(optimiser, { model, prompt, config, encoded, indices: [0, 3, 1, 2], step: 0 });
 */
export async function promptStep(optimiser: PromptOptimiser, inputs: StepInputs): Promise<StepResult> {
  const { model, prompt, config, encoded, indices, step } = inputs;
  const variables = prompt.variables();
  const rng = new Rng(derivedSeed(config.seed, 'dropout', step));
  const dropoutRate = config.dropout ? model.config.dropout_rate : 0;
  const chunk = config.micro_batch_size > 0 ? config.micro_batch_size : indices.length;
  const tokens = (rows: number[]) => rows.reduce((a, i) => a + (encoded.labels[i] as number[]).filter((v) => v !== -100).length, 0);
  const totalTokens = Math.max(1, tokens(indices));
  let lossValue = 0;
  const gradValues = variables.map((v) => new Float32Array(v.size));
  for (let start = 0; start < indices.length; start += chunk) {
    const rows = indices.slice(start, start + chunk);
    const weight = tokens(rows) / totalTokens;
    if (weight === 0) continue;
    const maskRows = rows.map((i) => encoded.attentionMask[i] as number[]);
    const width = config.pad_to_max_length ? config.max_length : unpaddedLength(maskRows);
    const { loss, grads } = withHeapAdvice({ where: `step ${step + 1}`, what: 'micro-batch', rows: rows.length, width, setting: 'micro_batch_size', value: config.micro_batch_size }, () => tf.tidy(() => {
      const ids = tf.tensor2d(cutRows(rows.map((i) => encoded.inputIds[i] as number[]), width), undefined, 'int32');
      const mask = tf.tensor2d(cutRows(maskRows, width), undefined, 'float32');
      const labels = tf.tensor2d(rows.map((i) => encoded.labels[i] as number[]), undefined, 'int32');
      const embeds = model.embed(ids);
      const { value, grads: g } = tf.variableGrads(() => {
        const enc = prompt.encoderInputs(embeds, mask);
        return model.forward({ ...enc, labels, ...(dropoutRate > 0 ? { dropout: { rate: dropoutRate, rng } } : {}) }).loss;
      }, variables);
      return { loss: value, grads: variables.map((v) => g[v.name] as tf.Tensor) };
    }));
    lossValue += ((await loss.data())[0] as number) * weight;
    const parts = await Promise.all(grads.map(async (g) => g.data() as Promise<Float32Array>));
    tf.dispose([loss, ...grads]);
    parts.forEach((part, i) => {
      const acc = gradValues[i] as Float32Array;
      if (weight === 1) acc.set(part);
      else for (let j = 0; j < acc.length; j++) acc[j] = (acc[j] as number) + (part[j] as number) * weight;
    });
  }
  const finite = Number.isFinite(lossValue) && gradValues.every((g) => g.every(Number.isFinite));
  if (!finite) return { loss: lossValue, finite };
  clipGradNorm(gradValues, config.max_grad_norm);
  const multiplier = linearWarmupDecay(step, config.warmup_steps, config.max_steps);
  const options = { ...HF_ADAMW_DEFAULTS, weightDecay: config.weight_decay };
  optimiser.names.forEach((name, i) => {
    const lr = (name === 'prompt_embeddings' ? config.lr : config.lora_lr) * multiplier;
    adamwUpdate(optimiser.host.get(name) as Float32Array, gradValues[i] as Float32Array, optimiser.moments.get(name) as AdamWSlot, step + 1, lr, options);
  });
  tf.tidy(() => {
    variables.forEach((v, i) => v.assign(tf.tensor(optimiser.host.get(optimiser.names[i] as string) as Float32Array, v.shape)));
  });
  return { loss: lossValue, finite };
}
