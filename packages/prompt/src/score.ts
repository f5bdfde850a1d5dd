/**
 * Scoring a bank on a pre-tokenized batch: the loss, logits, encoder output, the gradients with respect to P, A and
 * B, and raw greedy ids — everything needed to compare this implementation with another one (`dept score`, the
 * parity tests).
 */
import { tf, type HostTensor } from '@dept/tensor';
import { greedyGenerate, type T5ForConditionalGeneration } from '@dept/t5';
import type { DecomposedPrompt } from './decomposed.ts';

/** A pre-tokenized batch: inputs padded to exactly `max_length`, labels padded with -100. */
export interface TokenizedBatch {
  input_ids: number[][];
  attention_mask: number[][];
  labels: number[][];
}

/** What {@link scoreBatch} computes (names as in the parity fixtures). */
export interface BatchScores {
  loss: number;
  /** `[b, t, vocab]`. */
  logits: HostTensor;
  /** `[b, m + s, d_model]`. */
  encoder_last_hidden_state: HostTensor;
  grads: { prompt_embeddings: HostTensor; lora_embedding_A: HostTensor | null; lora_embedding_B: HostTensor | null };
  /** `greedySteps` raw argmax steps from the decoder start token, no EOS stop. */
  greedy_ids: number[][];
}

async function host(t: tf.Tensor): Promise<HostTensor> {
  return { data: new Float32Array(await t.data()), shape: [...t.shape] };
}

/**
 * Scores `prompt` on `batch` with the frozen `model` (no dropout).
 *
 * @example
 * const scores = await scoreBatch(model, prompt, batch, { greedySteps: 6 });
 * scores.loss; // mean cross-entropy over the non-ignored target tokens
 */
export async function scoreBatch(
  model: T5ForConditionalGeneration,
  prompt: DecomposedPrompt,
  batch: TokenizedBatch,
  options: { greedySteps?: number; useCache?: boolean } = {},
): Promise<BatchScores> {
  const ids = tf.tensor2d(batch.input_ids, undefined, 'int32');
  const mask = tf.tensor2d(batch.attention_mask, undefined, 'float32');
  const labels = tf.tensor2d(batch.labels, undefined, 'int32');
  const embeds = model.embed(ids);
  const kept: tf.Tensor[] = [];
  const variables = prompt.variables();
  const { value, grads } = tf.variableGrads(() => {
    const inputs = prompt.encoderInputs(embeds, mask);
    const out = model.forward({ ...inputs, labels });
    kept.push(tf.keep(out.logits), tf.keep(out.encoderLastHiddenState));
    return out.loss;
  }, variables);
  try {
    const grad = async (i: number) => (variables[i] ? host(grads[(variables[i] as tf.Variable).name] as tf.Tensor) : null);
    let greedy: number[][] = [];
    if ((options.greedySteps ?? 0) > 0) {
      const inputs = prompt.encoderInputs(embeds, mask);
      const enc = model.encode(inputs.inputsEmbeds, inputs.attentionMask);
      greedy = await greedyGenerate(model, enc, inputs.attentionMask, { maxNewTokens: options.greedySteps, stopAtEos: false, ...(options.useCache === undefined ? {} : { useCache: options.useCache }) });
      tf.dispose([enc, inputs.inputsEmbeds, inputs.attentionMask]);
    }
    return {
      loss: (await value.data())[0] as number,
      logits: await host(kept[0] as tf.Tensor),
      encoder_last_hidden_state: await host(kept[1] as tf.Tensor),
      grads: { prompt_embeddings: (await grad(0)) as HostTensor, lora_embedding_A: await grad(1), lora_embedding_B: await grad(2) },
      greedy_ids: greedy,
    };
  } finally {
    tf.dispose([value, ...Object.values(grads), ...kept, ids, mask, labels, embeds]);
  }
}
