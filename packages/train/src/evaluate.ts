/**
 * Predictions of a prompt on text-to-text examples: greedy generation (DePT's way: up to 20 new tokens, decoded
 * with special tokens skipped and stripped, compared as strings) or label scoring (each label string scored by its
 * teacher-forced log-likelihood, the most likely taken; faster, and it never produces an invalid label).
 */
import { DeptError, nextTurn, type ProgressEvent } from '@dept/core';
import { tf } from '@dept/tensor';
import { greedyGenerate, scoreCandidates, type T5ForConditionalGeneration, type T5Tokenizer } from '@dept/t5';
import { cutRows, unpaddedLength, type DecomposedPrompt } from '@dept/prompt';
import { withHeapAdvice } from './heap-advice.ts';

/** A text-to-text example. */
export interface TextExample {
  source: string;
  target: string;
}

export type PredictionMode = 'generate' | 'score';

/** Options of {@link predict}. */
export interface PredictOptions {
  mode: PredictionMode;
  /** s: inputs are truncated to this length. */
  maxLength: number;
  /** Pad every input to s (DePT's code); default false: each batch is cut to its longest input (same results). */
  padToMaxLength?: boolean;
  batchSize: number;
  /** generate: maximum new tokens (default 20). */
  maxNewTokens?: number;
  /** score: the label strings to choose from. */
  labels?: readonly string[];
  /** generate: use the key/value cache (default true). */
  useCache?: boolean;
  /** score: receives each batch's scores, one row per example with one log-likelihood per label, in order. */
  onScores?: (rows: number[][]) => void;
  /** Called after each batch with the examples done so far (and once with 0 before the first). */
  onProgress?: (event: ProgressEvent) => void;
  /** The `phase` of the progress events (default `predict`). */
  phase?: string;
}

/** Predictions and, for label scoring, each example's log-likelihood of every label string. */
export interface ScoredPredictions {
  predictions: string[];
  /** score: `[examples][labels]`, the summed log-probability of each label string (order of `labels`); else null. */
  scores: number[][] | null;
}

/** The sources of a chunk, tokenized and truncated to s; padded to s or to the chunk's longest input. */
function encodeInputs(tokenizer: T5Tokenizer, chunk: readonly TextExample[], options: { maxLength: number; padToMaxLength?: boolean }): { input_ids: number[][]; attention_mask: number[][] } {
  const batch = tokenizer.encodeBatch(chunk.map((e) => e.source), options.maxLength);
  if (options.padToMaxLength) return batch;
  const width = unpaddedLength(batch.attention_mask);
  return { input_ids: cutRows(batch.input_ids, width), attention_mask: cutRows(batch.attention_mask, width) };
}

/**
 * Predicted target strings for `examples`, in order.
 *
 * @example
 * const preds = await predict(model, tokenizer, prompt, dev, { mode: 'generate', maxLength: 256, batchSize: 32 });
 */
export async function predict(
  model: T5ForConditionalGeneration,
  tokenizer: T5Tokenizer,
  prompt: DecomposedPrompt,
  examples: readonly TextExample[],
  options: PredictOptions,
): Promise<string[]> {
  return (await predictWithScores(model, tokenizer, prompt, examples, options)).predictions;
}

/**
 * {@link predict}, also returning the label scores when `mode` is `score` (`scores[i][j]`: example i, label j).
 *
 * @example
 * const { predictions, scores } = await predictWithScores(model, tokenizer, prompt, rows, { mode: 'score', labels: ['0', '1'], maxLength: 256, batchSize: 32 });
 */
export async function predictWithScores(
  model: T5ForConditionalGeneration,
  tokenizer: T5Tokenizer,
  prompt: DecomposedPrompt,
  examples: readonly TextExample[],
  options: PredictOptions,
): Promise<ScoredPredictions> {
  const out: string[] = [];
  const allScores: number[][] = [];
  let candidates: number[][] = [];
  if (options.mode === 'score') {
    if (!options.labels || options.labels.length === 0) throw new DeptError('label scoring needs the task\'s label strings; use generate for open-ended tasks');
    candidates = options.labels.map((l) => tokenizer.encode(l));
  }
  const progress = (done: number) => options.onProgress?.({ phase: options.phase ?? 'predict', done, total: examples.length, unit: 'examples' });
  progress(0);
  for (let start = 0; start < examples.length; start += options.batchSize) {
    const chunk = examples.slice(start, start + options.batchSize);
    const batch = encodeInputs(tokenizer, chunk, options);
    const context = { where: 'evaluation', what: 'batch', rows: chunk.length, width: batch.input_ids[0]?.length ?? 0, setting: 'eval_batch_size', value: options.batchSize } as const;
    out.push(...(await withHeapAdvice(context, async () => {
      const { enc, mask } = tf.tidy(() => {
        const ids = tf.tensor2d(batch.input_ids, undefined, 'int32');
        const m = tf.tensor2d(batch.attention_mask, undefined, 'float32');
        const inputs = prompt.encoderInputs(model.embed(ids), m);
        return { enc: model.encode(inputs.inputsEmbeds, inputs.attentionMask), mask: inputs.attentionMask };
      });
      try {
        if (options.mode === 'generate') {
          const ids = await greedyGenerate(model, enc, mask, { maxNewTokens: options.maxNewTokens ?? 20, ...(options.useCache === undefined ? {} : { useCache: options.useCache }) });
          return ids.map((row) => tokenizer.decode(row));
        }
        const scores = await scoreCandidates(model, enc, mask, candidates);
        allScores.push(...scores);
        options.onScores?.(scores);
        return scores.map((row) => options.labels![row.indexOf(Math.max(...row))] as string);
      } finally {
        tf.dispose([enc, mask]);
      }
    })));
    progress(out.length);
    await nextTurn(); // a signal is handled between batches of a long evaluation
  }
  return { predictions: out, scores: options.mode === 'score' ? allScores : null };
}

/**
 * Mean per-token cross-entropy of `prompt` on `examples` without dropout (teacher forcing), e.g. to choose the
 * best source bank for a target task before training (as SPoT retrieves prompts).
 *
 * @example
 * const loss = await devLoss(model, tokenizer, prompt, dev.slice(0, 64), { maxLength: 256, batchSize: 32 });
 */
export async function devLoss(
  model: T5ForConditionalGeneration,
  tokenizer: T5Tokenizer,
  prompt: DecomposedPrompt,
  examples: readonly TextExample[],
  options: { maxLength: number; batchSize: number; padToMaxLength?: boolean },
): Promise<number> {
  let total = 0;
  let tokens = 0;
  for (let start = 0; start < examples.length; start += options.batchSize) {
    const chunk = examples.slice(start, start + options.batchSize);
    const batch = encodeInputs(tokenizer, chunk, options);
    const targets = chunk.map((e) => tokenizer.encode(e.target));
    const width = Math.max(...targets.map((t) => t.length));
    const labels = targets.map((t) => [...t, ...new Array<number>(width - t.length).fill(-100)]);
    const count = targets.reduce((a, t) => a + t.length, 0);
    const loss = tf.tidy(() => {
      const ids = tf.tensor2d(batch.input_ids, undefined, 'int32');
      const mask = tf.tensor2d(batch.attention_mask, undefined, 'float32');
      const inputs = prompt.encoderInputs(model.embed(ids), mask);
      return model.forward({ ...inputs, labels: tf.tensor2d(labels, undefined, 'int32') }).loss;
    });
    total += ((await loss.data())[0] as number) * count;
    tokens += count;
    loss.dispose();
    await nextTurn();
  }
  return total / Math.max(1, tokens);
}
