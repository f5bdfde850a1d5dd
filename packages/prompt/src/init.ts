/**
 * Initialisation of a decomposed prompt as DePT does it: P by TEXT (the init text's tokens, `</s>` included, tiled
 * or truncated to m, looked up in the frozen embedding), by SAMPLE_VOCAB (m uniformly drawn vocabulary rows, as
 * PEFT's later option) or RANDOM (N(0, 1), as `nn.Embedding`); A kaiming-uniform, i.e. U(−1/√r, 1/√r); B zeros,
 * so A·B = 0 at the start.
 */
import { DeptError, Rng } from '@dept/core';
import { type HostTensor, tf } from '@dept/tensor';
import type { T5ForConditionalGeneration, T5Tokenizer } from '@dept/t5';
import type { DecomposedPromptShape } from './decomposed.ts';

/** DePT's default init text (its typo "postive" included, as in every released config). */
export const DEFAULT_INIT_TEXT = 'Classify this text is postive or not:';

export type PromptInit = 'TEXT' | 'SAMPLE_VOCAB' | 'RANDOM';

/** Options of {@link initPromptValues}. */
export interface InitPromptOptions {
  shape: DecomposedPromptShape;
  method: PromptInit;
  rng: Rng;
  /** The frozen model (its embedding rows are copied for TEXT and SAMPLE_VOCAB). */
  model: T5ForConditionalGeneration;
  /** Needed for TEXT. */
  tokenizer?: T5Tokenizer | null;
  /** TEXT only; default {@link DEFAULT_INIT_TEXT}. */
  initText?: string;
  /** SAMPLE_VOCAB: draw ids below this (default: the tokenizer's size, else the model's vocab_size). */
  vocabSize?: number;
}

/** The ids whose embeddings initialise P for TEXT: the text's ids tiled (or truncated) to exactly m. */
export function tileIds(ids: readonly number[], m: number): number[] {
  if (ids.length === 0) throw new DeptError('the prompt init text has no tokens');
  if (ids.length >= m) return ids.slice(0, m);
  const out: number[] = [];
  while (out.length < m) out.push(...ids);
  return out.slice(0, m);
}

/** Rows `ids` of the frozen embedding, as a host tensor `[ids.length, d]`. */
export async function embeddingRows(model: T5ForConditionalGeneration, ids: readonly number[]): Promise<HostTensor> {
  const rows = tf.tidy(() => tf.gather(model.weights.shared, tf.tensor1d([...ids], 'int32')));
  const data = new Float32Array(await rows.data());
  rows.dispose();
  return { data, shape: [ids.length, model.config.d_model] };
}

/**
 * Fresh A `[s, r]` ~ U(−1/√r, 1/√r) (PyTorch's `kaiming_uniform_(a=√5)` on a `[s, r]` tensor has fan-in r).
 *
 * @example
 * const A = kaimingUniformA(256, 30, new Rng(0)); // values in ±0.18257
 */
export function kaimingUniformA(s: number, r: number, rng: Rng): HostTensor {
  const bound = 1 / Math.sqrt(r);
  const data = new Float32Array(s * r);
  for (let i = 0; i < data.length; i++) data[i] = rng.uniform(-bound, bound);
  return { data, shape: [s, r] };
}

/**
 * Initial values of P, A and B.
 *
 * @example
 * const values = await initPromptValues({ shape, method: 'TEXT', rng: new Rng(42), model, tokenizer });
 * const prompt = DecomposedPrompt.fromHost(shape, values);
 */
export async function initPromptValues(options: InitPromptOptions): Promise<{ prompt_embeddings: HostTensor; lora_embedding_A: HostTensor | null; lora_embedding_B: HostTensor | null }> {
  const { shape, method, rng, model } = options;
  const { num_virtual_tokens: m, token_dim: d, max_length: s, r } = shape;
  if (d !== model.config.d_model) {
    throw new DeptError(`prompt token_dim ${d} does not match the model's d_model ${model.config.d_model}`);
  }
  let P: HostTensor;
  if (method === 'TEXT') {
    if (!options.tokenizer) throw new DeptError('prompt init TEXT needs a tokenizer (the model folder has no tokenizer.json); use RANDOM or SAMPLE_VOCAB');
    P = await embeddingRows(model, tileIds(options.tokenizer.encode(options.initText ?? DEFAULT_INIT_TEXT), m));
  } else if (method === 'SAMPLE_VOCAB') {
    const vocab = options.vocabSize ?? options.tokenizer?.vocabSize ?? model.config.vocab_size;
    const ids = Array.from({ length: m }, () => rng.int(vocab));
    P = await embeddingRows(model, ids);
  } else if (method === 'RANDOM') {
    const data = new Float32Array(m * d);
    for (let i = 0; i < data.length; i++) data[i] = rng.normal();
    P = { data, shape: [m, d] };
  } else {
    throw new DeptError(`unknown prompt init "${String(method)}", expected TEXT, SAMPLE_VOCAB or RANDOM`);
  }
  if (r === 0) return { prompt_embeddings: P, lora_embedding_A: null, lora_embedding_B: null };
  return { prompt_embeddings: P, lora_embedding_A: kaimingUniformA(s, r, rng), lora_embedding_B: { data: new Float32Array(r * d), shape: [r, d] } };
}
