/**
 * The parity fixtures (a tiny T5, a DePT bank, a batch, and Hugging Face's numbers for them) loaded for a test:
 * `../shared/fixtures/parity/tiny-relu` and `test/fixtures/tiny-gated`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readCheckpoint } from '@dept/tensor';
import { T5ForConditionalGeneration, buildT5Weights, parseT5Config, type T5Config } from '@dept/t5';
import { DecomposedPrompt, type BatchScores, type TokenizedBatch } from '@dept/prompt';

/** What a fixture's expected.json holds (the fields the tests read). */
export interface ParityExpected {
  loss: number;
  logits: unknown;
  encoder_last_hidden_state: unknown;
  grads: { prompt_embeddings: unknown; lora_embedding_A: unknown; lora_embedding_B: unknown };
  greedy_ids: number[][];
  greedy_steps: number;
}

/** A fixture folder's model (built on the current backend), prompt, batch and expected numbers. */
export interface ParityCase {
  config: T5Config;
  model: T5ForConditionalGeneration;
  prompt: DecomposedPrompt;
  batch: TokenizedBatch;
  expected: ParityExpected;
  dispose(): void;
}

/** Loads a parity fixture folder onto the current backend. */
export function loadParityCase(dir: string): ParityCase {
  const config = parseT5Config(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')));
  const model = new T5ForConditionalGeneration(config, buildT5Weights(config, readCheckpoint(dir).tensors, 'model.safetensors'));
  const bank = readCheckpoint(join(dir, 'bank', 'adapter_model.safetensors')).tensors;
  const prompt = DecomposedPrompt.fromHost(JSON.parse(readFileSync(join(dir, 'bank', 'adapter_config.json'), 'utf8')), {
    prompt_embeddings: bank.get('prompt_embeddings')!,
    lora_embedding_A: bank.get('prompt_encoder.lora_embedding_A')!,
    lora_embedding_B: bank.get('prompt_encoder.lora_embedding_B')!,
  });
  return {
    config, model, prompt,
    batch: JSON.parse(readFileSync(join(dir, 'batch.json'), 'utf8')),
    expected: JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')),
    dispose: () => {
      prompt.dispose();
      model.dispose();
    },
  };
}

/** Nested arrays flattened. */
export function flat(x: unknown): number[] {
  return (x as unknown[]).flat(Infinity as 1) as number[];
}

/** The largest |a − b| (lengths must match). */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} and ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}

/** How far scores are from a fixture's expected numbers: loss, logits, encoder states, each gradient. */
export function parityDeltas(scores: BatchScores, expected: ParityExpected): { loss: number; logits: number; hidden: number; grads: number[] } {
  return {
    loss: Math.abs(scores.loss - expected.loss),
    logits: maxAbsDiff(scores.logits.data, flat(expected.logits)),
    hidden: maxAbsDiff(scores.encoder_last_hidden_state.data, flat(expected.encoder_last_hidden_state)),
    grads: [
      maxAbsDiff(scores.grads.prompt_embeddings.data, flat(expected.grads.prompt_embeddings)),
      maxAbsDiff(scores.grads.lora_embedding_A!.data, flat(expected.grads.lora_embedding_A)),
      maxAbsDiff(scores.grads.lora_embedding_B!.data, flat(expected.grads.lora_embedding_B)),
    ],
  };
}
