/** Random frozen weights, prompts and batches for the benchmarks (timings only; the values do not matter). */
import { type Rng } from '@dept/core';
import { tf, type HostTensor } from '@dept/tensor';
import { expectedTensorShapes, type T5Config } from '@dept/t5';
import { DecomposedPrompt, kaimingUniformA } from '@dept/prompt';

/** Random frozen weights, filled fast (xorshift; the values do not matter for timing). */
export function benchTensors(config: T5Config, seed: number): Map<string, HostTensor> {
  const out = new Map<string, HostTensor>();
  let s = seed >>> 0 || 1;
  for (const [name, shape] of expectedTensorShapes(config)) {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    const scale = name.endsWith('layer_norm.weight') ? 0 : name === 'shared.weight' || name === 'lm_head.weight' ? 1 : 0.05;
    for (let i = 0; i < n; i++) {
      s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
      data[i] = scale === 0 ? 1 : ((s / 4294967296) * 2 - 1) * scale;
    }
    out.set(name, { data, shape });
  }
  return out;
}

/** A random decomposed prompt: P [m, d], kaiming A [s, r], a small constant B [r, d] (r = 0: vanilla prompt tuning). */
export function makePrompt(config: T5Config, m: number, r: number, s: number, rng: Rng): DecomposedPrompt {
  const d = config.d_model;
  return DecomposedPrompt.fromHost({ num_virtual_tokens: m, token_dim: d, max_length: s, r, lora_alpha: 8 }, {
    prompt_embeddings: { data: Float32Array.from({ length: m * d }, () => rng.uniform(-0.5, 0.5)), shape: [m, d] },
    lora_embedding_A: r > 0 ? kaimingUniformA(s, r, rng) : null,
    lora_embedding_B: r > 0 ? { data: new Float32Array(r * d).fill(0.001), shape: [r, d] } : null,
  });
}

/** A batch for a timed step: input ids `[b, s]`, their mask, and target ids `[b, tgt]` ending in `</s>`. */
export type Batch = { ids: tf.Tensor2D; mask: tf.Tensor2D; labels: tf.Tensor2D };

/** `b` rows of inputs with 80% real tokens then padding (DePT pads to exactly s), and `tgt`-token targets. */
export function makeBatch(b: number, s: number, tgt: number): Batch {
  const real = Math.floor(s * 0.8);
  const ids = Array.from({ length: b }, (_, i) => Array.from({ length: s }, (_, j) => (j < real ? 5 + ((i * 31 + j * 7) % 1000) : 0)));
  const mask = ids.map((row) => row.map((v) => (v === 0 ? 0 : 1)));
  const labels = Array.from({ length: b }, (_, i) => [...Array.from({ length: tgt - 1 }, (_, j) => 100 + i + j), 1]);
  return { ids: tf.tensor2d(ids, undefined, 'int32'), mask: tf.tensor2d(mask, undefined, 'float32'), labels: tf.tensor2d(labels, undefined, 'int32') };
}
