/**
 * The decomposed prompt of DePT: a soft prompt `P [m, d]` prepended to the encoder input, plus a low-rank pair
 * `A [s, r]`, `B [r, d]` whose product, scaled by `lora_alpha / √r`, is added by position to the frozen input
 * embeddings (inputs of at most `s` positions). Vanilla prompt tuning is `r = 0`.
 *
 *   encoder input = concat(P, E[ids] + scaling · (A @ B))   [b, m + s, d]
 *   encoder mask  = concat(ones(m), attention_mask)          [b, m + s]
 */
import { DeptError } from '@dept/core';
import { tf, type HostTensor } from '@dept/tensor';

/** Shapes and scaling of a decomposed prompt. */
export interface DecomposedPromptShape {
  /** m: soft prompt length (`num_virtual_tokens`). */
  num_virtual_tokens: number;
  /** d: `token_dim` = the model's `d_model`. */
  token_dim: number;
  /** s: inputs are truncated to this many tokens (and padded to it when `pad_to_max_length`); rows of A. */
  max_length: number;
  /** r: rank of the low-rank pair; 0 = vanilla prompt tuning. */
  r: number;
  /** scaling = lora_alpha / √r (default lora_alpha 8). */
  lora_alpha: number;
}

/** `lora_alpha / √r`, and 0 for r = 0. */
export function promptScaling(lora_alpha: number, r: number): number {
  return r > 0 ? lora_alpha / Math.sqrt(r) : 0;
}

/**
 * The trainable state: named tfjs variables `prompt_embeddings`, `lora_embedding_A`, `lora_embedding_B` (the last
 * two absent when r = 0).
 *
 * @example
 * const prompt = DecomposedPrompt.fromHost(shape, { prompt_embeddings: P, lora_embedding_A: A, lora_embedding_B: B });
 * const { inputsEmbeds, attentionMask } = prompt.encoderInputs(model.embed(ids), mask);
 */
export class DecomposedPrompt {
  readonly shape: DecomposedPromptShape;
  readonly scaling: number;
  /** P `[m, d]`. */
  readonly prompt: tf.Variable<tf.Rank.R2>;
  /** A `[s, r]` (null when r = 0). */
  readonly loraA: tf.Variable<tf.Rank.R2> | null;
  /** B `[r, d]` (null when r = 0). */
  readonly loraB: tf.Variable<tf.Rank.R2> | null;

  private constructor(shape: DecomposedPromptShape, prompt: tf.Variable<tf.Rank.R2>, a: tf.Variable<tf.Rank.R2> | null, b: tf.Variable<tf.Rank.R2> | null) {
    this.shape = shape;
    this.scaling = promptScaling(shape.lora_alpha, shape.r);
    this.prompt = prompt;
    this.loraA = a;
    this.loraB = b;
  }

  /** Builds the variables from host tensors, checking every shape. */
  static fromHost(
    shape: DecomposedPromptShape,
    values: { prompt_embeddings: HostTensor; lora_embedding_A?: HostTensor | null; lora_embedding_B?: HostTensor | null },
  ): DecomposedPrompt {
    const { num_virtual_tokens: m, token_dim: d, max_length: s, r } = shape;
    const check = (name: string, t: HostTensor, expected: number[]) => {
      if (t.shape.length !== 2 || t.shape[0] !== expected[0] || t.shape[1] !== expected[1]) {
        throw new DeptError(`tensor "${name}" has shape [${t.shape.join(', ')}], expected [${expected.join(', ')}]`);
      }
    };
    check('prompt_embeddings', values.prompt_embeddings, [m, d]);
    const P = tf.variable(tf.tensor2d(values.prompt_embeddings.data, [m, d]), true, uniqueName('prompt_embeddings')) as tf.Variable<tf.Rank.R2>;
    if (r === 0) return new DecomposedPrompt(shape, P, null, null);
    if (!values.lora_embedding_A || !values.lora_embedding_B) {
      P.dispose();
      throw new DeptError(`a decomposed prompt with r = ${r} needs prompt_encoder.lora_embedding_A and lora_embedding_B`);
    }
    check('prompt_encoder.lora_embedding_A', values.lora_embedding_A, [s, r]);
    check('prompt_encoder.lora_embedding_B', values.lora_embedding_B, [r, d]);
    const A = tf.variable(tf.tensor2d(values.lora_embedding_A.data, [s, r]), true, uniqueName('lora_embedding_A')) as tf.Variable<tf.Rank.R2>;
    const B = tf.variable(tf.tensor2d(values.lora_embedding_B.data, [r, d]), true, uniqueName('lora_embedding_B')) as tf.Variable<tf.Rank.R2>;
    return new DecomposedPrompt(shape, P, A, B);
  }

  /** The trainable variables, P first (the optimiser's group 0), then A and B (group 1). */
  variables(): tf.Variable[] {
    return [this.prompt, ...(this.loraA ? [this.loraA] : []), ...(this.loraB ? [this.loraB] : [])];
  }

  /**
   * `inputEmbeds [b, L, d]` (the frozen `E[ids]`) and `attentionMask [b, L]` → encoder inputs `[b, m + L, d]` and mask
   * `[b, m + L]`, for right-padded inputs of `L ≤ s` positions: DePT pads every input to exactly s; trailing padding
   * may instead be cut to the batch's longest input (see {@link unpaddedLength}), and then only the first L rows of
   * the offset are added (DEPT.md §1.1: the same numbers, since T5 masks padded positions). The offset
   * `scaling · A @ B` `[s, d]` is computed once per call and broadcast over the batch.
   */
  encoderInputs(inputEmbeds: tf.Tensor3D, attentionMask: tf.Tensor2D): { inputsEmbeds: tf.Tensor3D; attentionMask: tf.Tensor2D } {
    const [b, len, d] = inputEmbeds.shape;
    const s = this.shape.max_length;
    if (len > s) {
      throw new DeptError(`inputs have ${len} positions, but the decomposed prompt allows at most max_length = ${s} (truncate to it)`);
    }
    if (d !== this.shape.token_dim) {
      throw new DeptError(`inputs have d_model ${d}, but the prompt's token_dim is ${this.shape.token_dim}`);
    }
    let x: tf.Tensor = inputEmbeds;
    if (this.loraA && this.loraB) {
      const a = len === s ? this.loraA : tf.slice(this.loraA, [0, 0], [len, -1]);
      const offset = tf.mul(tf.matMul(a, this.loraB), this.scaling); // [L, d]
      x = tf.add(x, offset);
    }
    const m = this.shape.num_virtual_tokens;
    const prompt = tf.broadcastTo(tf.expandDims(this.prompt, 0), [b, m, d]);
    const mask = tf.concat([tf.ones([b, m], 'float32'), tf.cast(attentionMask, 'float32')], 1) as tf.Tensor2D;
    return { inputsEmbeds: tf.concat([prompt, x], 1) as tf.Tensor3D, attentionMask: mask };
  }

  /** Copies the current values to host tensors (names as in the bank file). */
  async toHost(): Promise<{ prompt_embeddings: HostTensor; lora_embedding_A: HostTensor | null; lora_embedding_B: HostTensor | null }> {
    const host = async (v: tf.Variable<tf.Rank.R2> | null): Promise<HostTensor | null> =>
      v ? { data: new Float32Array(await v.data()), shape: [...v.shape] } : null;
    return {
      prompt_embeddings: (await host(this.prompt)) as HostTensor,
      lora_embedding_A: await host(this.loraA),
      lora_embedding_B: await host(this.loraB),
    };
  }

  /** Overwrites the variables' values from host tensors of the same shapes. */
  assignFromHost(values: { prompt_embeddings: HostTensor; lora_embedding_A?: HostTensor | null; lora_embedding_B?: HostTensor | null }): void {
    tf.tidy(() => {
      this.prompt.assign(tf.tensor2d(values.prompt_embeddings.data, this.prompt.shape));
      if (this.loraA && values.lora_embedding_A) this.loraA.assign(tf.tensor2d(values.lora_embedding_A.data, this.loraA.shape));
      if (this.loraB && values.lora_embedding_B) this.loraB.assign(tf.tensor2d(values.lora_embedding_B.data, this.loraB.shape));
    });
  }

  /** Frees the variables. */
  dispose(): void {
    for (const v of this.variables()) v.dispose();
  }
}

/**
 * The width a right-padded batch can be cut to without changing any result: one past the last position that any
 * row's mask keeps (at least 1). T5 gives masked keys zero attention, padded queries reach nothing downstream and
 * relative position biases depend only on distances, so the loss, the predictions and the gradients of P, A and B
 * (zero in the rows of A past this width) are those of the batch padded to s, up to float summation order. This is
 * what `pad_to_max_length: false` does; a batch of short sentences then costs what its longest input costs.
 *
 * @example
 * unpaddedLength([[1, 1, 0, 0], [1, 1, 1, 0]]); // 3
 */
export function unpaddedLength(attentionMask: readonly (readonly number[])[]): number {
  let width = 1;
  for (const row of attentionMask) {
    for (let j = row.length - 1; j >= width; j--) {
      if (row[j] !== 0) {
        width = j + 1;
        break;
      }
    }
  }
  return width;
}

/**
 * Rows cut to `width` positions (see {@link unpaddedLength}); the rows themselves when they are that wide already.
 *
 * @example
 * cutRows([[5, 6, 0, 0]], 2); // [[5, 6]]
 */
export function cutRows<T>(rows: readonly (readonly T[])[], width: number): T[][] {
  return rows.map((row) => (row.length === width ? (row as T[]) : row.slice(0, width)));
}

let counter = 0;
/** tfjs variable names must be unique per process. */
function uniqueName(base: string): string {
  counter += 1;
  return `${base}_${counter}`;
}
