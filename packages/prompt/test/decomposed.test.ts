import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '@dept/tensor';
import { DecomposedPrompt, cutRows, unpaddedLength } from '@dept/prompt';

describe('cutting trailing padding', () => {
  it('unpaddedLength is one past the last kept position of any row (worked by hand)', () => {
    expect(unpaddedLength([[1, 1, 0, 0], [1, 1, 1, 0]])).toBe(3);
    expect(unpaddedLength([[1, 0, 0, 0]])).toBe(1);
    expect(unpaddedLength([[1, 1, 1, 1], [1, 0, 0, 0]])).toBe(4);
    expect(unpaddedLength([[0, 0, 0]])).toBe(1); // never 0 wide
    expect(cutRows([[5, 6, 0, 0], [7, 0, 0, 0]], 2)).toEqual([[5, 6], [7, 0]]);
  });

  describe('encoderInputs', () => {
    beforeAll(async () => {
      await initBackend({ backend: 'wasm', announce: false });
    });
    // m 1, d 2, s 3, r 1, lora_alpha 1 → scaling 1: P = [9, 9], A = [[1], [2], [3]], B = [[10, 100]].
    const make = () => DecomposedPrompt.fromHost({ num_virtual_tokens: 1, token_dim: 2, max_length: 3, r: 1, lora_alpha: 1 }, {
      prompt_embeddings: { data: new Float32Array([9, 9]), shape: [1, 2] },
      lora_embedding_A: { data: new Float32Array([1, 2, 3]), shape: [3, 1] },
      lora_embedding_B: { data: new Float32Array([10, 100]), shape: [1, 2] },
    });

    it('adds the first L rows of A·B to an input of L ≤ s positions', () => {
      const prompt = make();
      const { inputsEmbeds, attentionMask } = prompt.encoderInputs(tf.zeros([1, 2, 2]) as tf.Tensor3D, tf.ones([1, 2]) as tf.Tensor2D);
      expect(inputsEmbeds.shape).toEqual([1, 3, 2]);
      expect(Array.from(inputsEmbeds.dataSync())).toEqual([9, 9, 10, 100, 20, 200]);
      expect(Array.from(attentionMask.dataSync())).toEqual([1, 1, 1]);
      prompt.dispose();
    });

    it('refuses an input longer than s, naming max_length', () => {
      const prompt = make();
      expect(() => prompt.encoderInputs(tf.zeros([1, 4, 2]) as tf.Tensor3D, tf.ones([1, 4]) as tf.Tensor2D)).toThrow('inputs have 4 positions, but the decomposed prompt allows at most max_length = 3');
      prompt.dispose();
    });
  });
});
