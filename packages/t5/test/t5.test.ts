import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '@dept/core';
import { tf, initBackend, readCheckpoint, type HostTensor, roundToBf16, writeSafetensors, type BackendName } from '@dept/tensor';
import {
  greedyGenerate, scoreCandidates,
  T5ForConditionalGeneration, T5Tokenizer, buildT5Weights, bucketTable, loadPretrainedT5, parseT5Config, presetConfig,
  randomT5Tensors, relativePositionBucket, writeRandomT5, type T5Config,
} from '@dept/t5';
import type { BatchScores } from '@dept/prompt';
import { REPO_ROOT, describeShared, sharedPath } from '../../../test/helpers/shared.ts';
import { referenceForward, type RefConfig } from './reference_t5.ts';

const FIXTURE = 'fixtures/parity/tiny-relu';

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}

/** Gradients within the fixture README's tolerance: 1e-4·max|grad| + 1e-6 per tensor. */
function expectGrads(scores: BatchScores, expected: { grads: Record<string, unknown> }): void {
  const pairs: [HostTensor | null, unknown][] = [
    [scores.grads.prompt_embeddings, expected.grads.prompt_embeddings],
    [scores.grads.lora_embedding_A, expected.grads.lora_embedding_A],
    [scores.grads.lora_embedding_B, expected.grads.lora_embedding_B],
  ];
  for (const [got, want] of pairs) {
    const ref = flat(want);
    const maxRef = Math.max(...ref.map(Math.abs));
    expect(maxAbsDiff((got as HostTensor).data, ref)).toBeLessThan(1e-4 * maxRef + 1e-6);
  }
}

function flat(x: unknown): number[] {
  return (x as unknown[]).flat(Infinity as 1) as number[];
}

beforeAll(async () => {
  await initBackend({ backend: 'wasm', announce: false });
});

describe('relative position buckets', () => {
  it('match values computed by hand from the HF formula (32 buckets, max distance 128)', () => {
    // Encoder (bidirectional, 16 buckets per side, 8 exact): +1 → 16+1, -1 → 1, +7 → 23, +8 → 24,
    // +16 → 16 + 8 + floor(log(2)/log(16)·8 = 2) = 26 (the float32 boundary case), -16 → 10, ±128 → capped at 15.
    const enc = (rel: number) => relativePositionBucket(rel, true, 32, 128);
    expect([enc(0), enc(1), enc(-1), enc(7), enc(8), enc(16), enc(-16), enc(128), enc(-500)]).toEqual([0, 17, 1, 23, 24, 26, 10, 31, 15]);
    // Decoder (causal, 32 buckets, 16 exact): future positions → 0; -3 → 3; -16 → 16; -32 → 16 + floor(log(2)/log(8)·16 = 5.33) = 21.
    const dec = (rel: number) => relativePositionBucket(rel, false, 32, 128);
    expect([dec(5), dec(-3), dec(-16), dec(-32), dec(-1000)]).toEqual([0, 3, 16, 21, 31]);
  });

  it('use the configured max distance', () => {
    // With max_distance 32 and 16 buckets per side: log(16/8)/log(32/8)·8 = 4 → 8 + 4 = 12 (+16 for positive).
    expect(relativePositionBucket(16, true, 32, 32)).toBe(28);
  });
});

describeShared('tiny-relu parity with Hugging Face', () => {
  const dir = sharedPath(FIXTURE);
  const load = () => {
    const config = parseT5Config(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')));
    const tensors = readCheckpoint(dir).tensors;
    const bank = readCheckpoint(join(dir, 'bank', 'adapter_model.safetensors')).tensors;
    const bankConfig = JSON.parse(readFileSync(join(dir, 'bank', 'adapter_config.json'), 'utf8'));
    const batch = JSON.parse(readFileSync(join(dir, 'batch.json'), 'utf8'));
    const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8'));
    return { config, tensors, bank, bankConfig, batch, expected };
  };

  it('bucket tables equal the fixture', () => {
    const { expected } = load();
    const enc = expected.relative_position_buckets.encoder as number[][];
    const dec = expected.relative_position_buckets.decoder as number[][];
    expect(Array.from(bucketTable(enc.length, enc.length, true, 32, 128))).toEqual(flat(enc));
    expect(Array.from(bucketTable(dec.length, dec.length, false, 32, 128))).toEqual(flat(dec));
  });

  it('the float64 reference implementation used for gated models reproduces the fixture loss', () => {
    const { config, tensors, bank, bankConfig, batch, expected } = load();
    const P = bank.get('prompt_embeddings') as HostTensor;
    const A = bank.get('prompt_encoder.lora_embedding_A') as HostTensor;
    const B = bank.get('prompt_encoder.lora_embedding_B') as HostTensor;
    const d = config.d_model;
    const scaling = bankConfig.lora_alpha / Math.sqrt(bankConfig.r);
    let nll = 0;
    let count = 0;
    batch.input_ids.forEach((ids: number[], b: number) => {
      const embeds: number[][] = [];
      for (let i = 0; i < P.shape[0]!; i++) embeds.push(Array.from(P.data.subarray(i * d, (i + 1) * d)));
      ids.forEach((id, pos) => {
        const row = Array.from(tensors.get('shared.weight')!.data.subarray(id * d, (id + 1) * d));
        for (let j = 0; j < d; j++) {
          let ab = 0;
          for (let k = 0; k < bankConfig.r; k++) ab += A.data[pos * bankConfig.r + k]! * B.data[k * d + j]!;
          row[j] += scaling * ab;
        }
        embeds.push(row);
      });
      const mask = [...new Array(P.shape[0]).fill(1), ...batch.attention_mask[b]];
      const out = referenceForward(config as unknown as RefConfig, tensors, embeds, mask, batch.labels[b]);
      nll += out.nll;
      count += out.count;
    });
    expect(Math.abs(nll / count - expected.loss)).toBeLessThan(1e-6);
  });

  for (const backend of ['wasm', 'cpu'] as BackendName[]) {
    it(`matches loss, logits, hidden states, gradients and greedy ids on the ${backend} backend`, async () => {
      await initBackend({ backend, announce: false });
      const { config, tensors, bank, bankConfig, batch, expected } = load();
      const model = new T5ForConditionalGeneration(config, buildT5Weights(config, tensors, 'model.safetensors'));
      const { DecomposedPrompt } = await import('@dept/prompt');
      const prompt = DecomposedPrompt.fromHost(bankConfig, {
        prompt_embeddings: bank.get('prompt_embeddings')!,
        lora_embedding_A: bank.get('prompt_encoder.lora_embedding_A')!,
        lora_embedding_B: bank.get('prompt_encoder.lora_embedding_B')!,
      });
      const { scoreBatch } = await import('@dept/prompt');
      const steps = expected.greedy_steps as number;
      const scores = await scoreBatch(model, prompt, batch, { greedySteps: steps });
      // Tolerances from the fixture README: loss 1e-5, logits and hidden states 1e-4, grads 1e-4·max|grad| + 1e-6.
      expect(Math.abs(scores.loss - expected.loss)).toBeLessThan(1e-5);
      expect(maxAbsDiff(scores.logits.data, flat(expected.logits))).toBeLessThan(1e-4);
      expect(maxAbsDiff(scores.encoder_last_hidden_state.data, flat(expected.encoder_last_hidden_state))).toBeLessThan(1e-4);
      expectGrads(scores, expected);
      expect(scores.greedy_ids).toEqual(expected.greedy_ids);
      expect((await scoreBatch(model, prompt, batch, { greedySteps: steps, useCache: false })).greedy_ids).toEqual(expected.greedy_ids);
      prompt.dispose();
      model.dispose();
      await initBackend({ backend: 'wasm', announce: false });
    });
  }
});

describe('gated-gelu, untied models (v1.1 / flan) against Hugging Face transformers', () => {
  // test/fixtures/tiny-gated: a random gated-gelu, untied T5 and DePT bank written by this project; expected.json was
  // computed from them by transformers 5.17 / torch 2.11 in float64 (scripts/hf_reference.py, which reproduces the
  // shared tiny-relu fixture to 1e-7 when run on it).
  const dir = join(REPO_ROOT, 'test', 'fixtures', 'tiny-gated');
  it('matches loss, logits, hidden states, gradients and greedy ids', async () => {
    const pretrained = loadPretrainedT5(dir);
    const { readBank, DecomposedPrompt, scoreBatch } = await import('@dept/prompt');
    const bank = readBank(join(dir, 'bank'));
    const batch = JSON.parse(readFileSync(join(dir, 'batch.json'), 'utf8'));
    const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8'));
    expect(pretrained.config.is_gated_act && !pretrained.config.tie_word_embeddings).toBe(true);
    const model = pretrained.model;
    const prompt = DecomposedPrompt.fromHost(bank.config, bank);
    const scores = await scoreBatch(model, prompt, batch, { greedySteps: expected.greedy_steps });
    // Logits of this untied model are large (lm_head std 1), so the logit tolerance is relative to their scale.
    const logitsRef = flat(expected.logits);
    const scale = Math.max(...logitsRef.map(Math.abs));
    expect(Math.abs(scores.loss - expected.loss)).toBeLessThan(1e-5 * Math.max(1, expected.loss));
    expect(maxAbsDiff(scores.logits.data, logitsRef)).toBeLessThan(1e-5 * scale + 1e-4);
    expect(maxAbsDiff(scores.encoder_last_hidden_state.data, flat(expected.encoder_last_hidden_state))).toBeLessThan(1e-4);
    expectGrads(scores, expected);
    expect(scores.greedy_ids).toEqual(expected.greedy_ids);
    prompt.dispose();
    model.dispose();
  });
});

describe('gated-gelu, untied models (v1.1 / flan) against the float64 reference', () => {
  const config: T5Config = presetConfig('tiny-gated', { vocab_size: 40, d_model: 16, d_kv: 4, d_ff: 24, num_heads: 4 });
  const tensors = randomT5Tensors(config, new Rng(7));
  // Larger gate pre-activations (|x| of several units) so the tanh-gelu's cubic term matters in the comparison.
  for (const [name, t] of tensors) if (name.endsWith('wi_0.weight')) t.data = t.data.map((v) => v * 6);
  const rng = new Rng(11);
  const L = 20; // long enough to reach the log-spaced buckets
  const embeds = Array.from({ length: L }, () => Array.from({ length: config.d_model }, () => rng.normal()));
  const mask = Array.from({ length: L }, (_, i) => (i < 17 ? 1 : 0));
  const labels = [5, 9, 1, -100];
  let model: T5ForConditionalGeneration;

  beforeAll(() => {
    model = new T5ForConditionalGeneration(config, buildT5Weights(config, tensors, 'random'));
  });
  afterAll(() => model.dispose());

  it('parses gated-gelu as the tanh gelu without the tied rescaling', () => {
    expect(config.is_gated_act).toBe(true);
    expect(config.dense_act_fn).toBe('gelu_new');
    expect(config.tie_word_embeddings).toBe(false);
  });

  it('gives the reference loss and logits', async () => {
    const ref = referenceForward(config as unknown as RefConfig, tensors, embeds, mask, labels);
    const out = tf.tidy(() => {
      const o = model.forward({
        inputsEmbeds: tf.tensor3d([embeds]),
        attentionMask: tf.tensor2d([mask]),
        labels: tf.tensor2d([labels], undefined, 'int32'),
      });
      return { loss: o.loss, logits: o.logits, encoderLastHiddenState: o.encoderLastHiddenState };
    });
    expect(Math.abs((await out.loss.data())[0]! - ref.nll / ref.count)).toBeLessThan(1e-5);
    expect(maxAbsDiff(await out.logits.data(), ref.logits.flat())).toBeLessThan(1e-4);
    expect(maxAbsDiff(await out.encoderLastHiddenState.data(), ref.encoderOut.flat())).toBeLessThan(1e-4);
    tf.dispose([out.loss, out.logits, out.encoderLastHiddenState]);
  });

  it.each([true, false])('has gradients equal to float64 central differences of the reference (both weight layouts kept: %s)', async (both) => {
    const m = both ? model : new T5ForConditionalGeneration(config, buildT5Weights(config, tensors, 'random', { keepBothLayouts: false }));
    const x = tf.variable(tf.tensor3d([embeds]));
    const { grads } = tf.variableGrads(() => m.forward({
      inputsEmbeds: x as unknown as tf.Tensor3D,
      attentionMask: tf.tensor2d([mask]),
      labels: tf.tensor2d([labels], undefined, 'int32'),
    }).loss, [x]);
    const analytic = await grads[x.name]!.data();
    if (!both) m.dispose();
    const loss = (e: number[][]) => {
      const r = referenceForward(config as unknown as RefConfig, tensors, e, mask, labels);
      return r.nll / r.count;
    };
    const h = 1e-5;
    const probe = new Rng(3);
    const maxGrad = Math.max(...Array.from(analytic).map(Math.abs));
    for (let n = 0; n < 12; n++) {
      const i = probe.int(17); // unmasked positions
      const j = probe.int(config.d_model);
      const plus = embeds.map((r) => [...r]);
      const minus = embeds.map((r) => [...r]);
      plus[i]![j]! += h;
      minus[i]![j]! -= h;
      const numeric = (loss(plus) - loss(minus)) / (2 * h);
      expect(Math.abs(numeric - analytic[i * config.d_model + j]!)).toBeLessThan(1e-4 * maxGrad + 1e-6);
    }
    tf.dispose([x, ...Object.values(grads)]);
  });
});

describe('checkpoints', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'dept-t5-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a sharded BF16 checkpoint gives the same outputs as the F32 one it was made from', async () => {
    const config = presetConfig('tiny-relu');
    const tensors = randomT5Tensors(config, new Rng(5));
    // The F32 checkpoint holds BF16-representable values, so BF16 storage loses nothing.
    for (const t of tensors.values()) t.data = roundToBf16(t.data);
    const f32Dir = join(dir, 'f32');
    writeRandomT5(f32Dir, config, { seed: 5, sampleTexts: ['a b c'] });
    writeSafetensors(join(f32Dir, 'model.safetensors'), tensors, { format: 'pt' });
    const bf16Dir = join(dir, 'bf16');
    writeRandomT5(bf16Dir, config, { seed: 5, sampleTexts: ['a b c'], dtype: 'BF16', maxShardBytes: 8_000 });
    const { writeShardedCheckpoint } = await import('@dept/tensor');
    rmSync(join(bf16Dir, 'model.safetensors.index.json'));
    const written = writeShardedCheckpoint(bf16Dir, tensors, { maxShardBytes: 8_000, dtype: 'BF16' });
    expect(written.files.length).toBeGreaterThan(2);
    const a = loadPretrainedT5(f32Dir);
    const b = loadPretrainedT5(bf16Dir);
    const run = (m: T5ForConditionalGeneration) => tf.tidy(() => m.forward({
      inputsEmbeds: m.embed(tf.tensor2d([[4, 5, 6, 1]], undefined, 'int32')),
      attentionMask: tf.tensor2d([[1, 1, 1, 1]]),
      labels: tf.tensor2d([[7, 1]], undefined, 'int32'),
    }).logits);
    const la = run(a.model);
    const lb = run(b.model);
    expect(Array.from(await lb.data())).toEqual(Array.from(await la.data()));
    tf.dispose([la, lb]);
    a.model.dispose();
    b.model.dispose();
  });

  it('a sharded random model says so in its index, as a single-file one does in its header', () => {
    const config = presetConfig('tiny-relu');
    const sharded = join(dir, 'sharded-random');
    writeRandomT5(sharded, config, { seed: 2, sampleTexts: ['a b c'], maxShardBytes: 8_000 });
    expect(existsSync(join(sharded, 'model.safetensors.index.json'))).toBe(true);
    const loaded = loadPretrainedT5(sharded);
    expect(loaded.randomWeights).toBe(true);
    loaded.model.dispose();
  });

  it('refuses a checkpoint with a missing tensor or a wrong shape, naming it', () => {
    const config = presetConfig('tiny-relu');
    const tensors = randomT5Tensors(config, new Rng(1));
    tensors.delete('encoder.block.1.layer.1.DenseReluDense.wo.weight');
    expect(() => buildT5Weights(config, tensors, 'm.safetensors')).toThrow(/m\.safetensors: tensor "encoder\.block\.1\.layer\.1\.DenseReluDense\.wo\.weight" is missing \(config\.json implies shape \[32, 64\]\)/);
    const bad = randomT5Tensors(config, new Rng(1));
    bad.set('shared.weight', { data: new Float32Array(10 * 32), shape: [10, 32] });
    expect(() => buildT5Weights(config, bad, 'm.safetensors')).toThrow(/tensor "shared\.weight" has shape \[10, 32\], expected \[128, 32\]/);
  });

  it('ignores encoder/decoder embed_tokens aliases', () => {
    const config = presetConfig('tiny-relu');
    const tensors = randomT5Tensors(config, new Rng(1));
    tensors.set('encoder.embed_tokens.weight', tensors.get('shared.weight')!);
    tensors.set('decoder.embed_tokens.weight', tensors.get('shared.weight')!);
    const model = new T5ForConditionalGeneration(config, buildT5Weights(config, tensors, 'm'));
    model.dispose();
  });
});

describe('decoding and memory', () => {
  const config = presetConfig('tiny-relu');
  let model: T5ForConditionalGeneration;
  beforeAll(() => {
    model = new T5ForConditionalGeneration(config, buildT5Weights(config, randomT5Tensors(config, new Rng(2)), 'random'));
  });
  afterAll(() => model.dispose());

  it('greedy decoding with the cache equals full recomputation, stopping at </s>', async () => {
    const ids = tf.tensor2d([[5, 6, 7, 8, 1, 0], [9, 10, 1, 0, 0, 0]], undefined, 'int32');
    const mask = tf.tensor2d([[1, 1, 1, 1, 1, 0], [1, 1, 1, 0, 0, 0]]);
    const enc = model.encode(model.embed(ids), mask);
    await greedyGenerate(model, enc, mask, { maxNewTokens: 12 });
    await greedyGenerate(model, enc, mask, { maxNewTokens: 12, useCache: false }); // fills the position-bias cache
    const before = tf.memory().numTensors;
    const cached = await greedyGenerate(model, enc, mask, { maxNewTokens: 12 });
    const full = await greedyGenerate(model, enc, mask, { maxNewTokens: 12, useCache: false });
    expect(tf.memory().numTensors).toBe(before); // generation leaves no tensor behind
    expect(cached).toEqual(full);
    for (const row of cached) {
      const eos = row.indexOf(1);
      if (eos >= 0) expect(row.length).toBe(eos + 1);
      else expect(row.length).toBe(12);
    }
    tf.dispose([ids, mask, enc]);
  });

  it('batched greedy decoding (cached and full) masks padding: each row equals that row decoded alone without it', async () => {
    // Encoder states with large values at the padded positions, so attending to them would change the outputs.
    const lengths = [5, 2, 4];
    const rows = lengths.map((len, r) => Array.from({ length: 6 }, (_, t) => Array.from({ length: config.d_model }, (_, j) => (t < len ? Math.sin(1 + r * 7 + t * 3 + j) : 50 * Math.cos(r + t + j)))));
    const enc = tf.tensor3d(rows);
    const mask = tf.tensor2d(lengths.map((len) => Array.from({ length: 6 }, (_, t) => (t < len ? 1 : 0))));
    const cached = await greedyGenerate(model, enc, mask, { maxNewTokens: 8, stopAtEos: false });
    const full = await greedyGenerate(model, enc, mask, { maxNewTokens: 8, stopAtEos: false, useCache: false });
    for (const [r, len] of lengths.entries()) {
      const alone = tf.tensor3d([rows[r]!.slice(0, len)]);
      const single = await greedyGenerate(model, alone, tf.ones([1, len]) as tf.Tensor2D, { maxNewTokens: 8, stopAtEos: false });
      expect(cached[r]).toEqual(single[0]);
      expect(full[r]).toEqual(single[0]);
      alone.dispose();
    }
    tf.dispose([enc, mask]);
  });

  it('keeps the tensor count flat across 20 training-style steps', async () => {
    const prompt = tf.variable(tf.randomNormal([3, config.d_model], 0, 1, 'float32', 1));
    const optimizer = tf.train.adam(0.01);
    const ids = tf.tensor2d([[5, 6, 7, 1]], undefined, 'int32');
    const mask = tf.tensor2d([[1, 1, 1, 1, 1, 1, 1]]);
    const labels = tf.tensor2d([[4, 1]], undefined, 'int32');
    const rng = new Rng(0);
    const step = () => tf.tidy(() => {
      const loss = optimizer.minimize(() => {
        const x = tf.concat([tf.expandDims(prompt, 0), model.embed(ids)], 1) as tf.Tensor3D;
        return model.forward({ inputsEmbeds: x, attentionMask: mask, labels, dropout: { rate: 0.1, rng } }).loss;
      }, true, [prompt]);
      return loss as tf.Scalar;
    });
    step().dispose();
    step().dispose();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 20; i++) step().dispose();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([prompt, ids, mask, labels]);
    optimizer.dispose();
  });

  it('scores candidates by teacher-forced log-likelihood (the argmax is the greedy choice for one-token labels)', async () => {
    const ids = tf.tensor2d([[5, 6, 7, 1]], undefined, 'int32');
    const mask = tf.tensor2d([[1, 1, 1, 1]]);
    const enc = model.encode(model.embed(ids), mask);
    const [first] = await greedyGenerate(model, enc, mask, { maxNewTokens: 1, stopAtEos: false });
    const candidates = Array.from({ length: 20 }, (_, i) => [i + 2]);
    const scores = (await scoreCandidates(model, enc, mask, candidates))[0]!;
    const best = candidates[scores.indexOf(Math.max(...scores))]![0];
    if (first![0]! >= 2 && first![0]! < 22) expect(best).toBe(first![0]);
    // log-probabilities are negative and sum over the vocabulary's softmax is ≤ 1
    expect(scores.every((s) => s < 0)).toBe(true);
    expect(scores.reduce((a, s) => a + Math.exp(s), 0)).toBeLessThanOrEqual(1 + 1e-6);
    tf.dispose([ids, mask, enc]);
  });
});

describeShared('the real T5 tokenizer', () => {
  it('encodes the known sentence as Hugging Face does', () => {
    const tok = T5Tokenizer.fromFolder(sharedPath('models', 't5-tokenizer'));
    expect(tok.encode('translate English to German: The house is wonderful.')).toEqual([13959, 1566, 12, 2968, 10, 37, 629, 19, 1627, 5, 1]);
    expect(tok.vocabSize).toBe(32100);
    const batch = tok.encodeBatch(['rte sentence1: The cat sat.'], 20);
    expect(batch.input_ids[0]!.slice(0, 7)).toEqual([3, 52, 17, 15, 7142, 536, 10]);
    expect(batch.input_ids[0]!.length).toBe(20);
    expect(tok.decode([3, 632, 1, 0, 0])).toBe('0');
  });
});
