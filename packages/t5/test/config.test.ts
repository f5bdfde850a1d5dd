/**
 * config.json fields that index or size something are checked when the config is read (issue 15). No tfjs here.
 */
import { describe, expect, it } from 'vitest';
import { DeptError } from '@dept/core';
import { MAX_T5_LAYERS, parseT5Config, presetConfig, t5ParameterCount } from '../src/config.ts';

/** t5-small's config.json as Hugging Face ships it (the fields dept reads). */
const T5_SMALL = {
  model_type: 't5', vocab_size: 32128, d_model: 512, d_kv: 64, d_ff: 2048, num_layers: 6, num_heads: 8,
  relative_attention_num_buckets: 32, dropout_rate: 0.1, layer_norm_epsilon: 1e-6, initializer_factor: 1.0,
  feed_forward_proj: 'relu', pad_token_id: 0, eos_token_id: 1, decoder_start_token_id: 0,
};
/** t5-11b's shape (google-t5/t5-11b config.json). */
const T5_11B = { ...T5_SMALL, d_model: 1024, d_kv: 128, d_ff: 65536, num_layers: 24, num_heads: 128 };

const refusal = (over: Record<string, unknown>): string => {
  try {
    parseT5Config({ ...T5_SMALL, ...over }, 'm/config.json');
  } catch (error) {
    expect(error).toBeInstanceOf(DeptError);
    return (error as Error).message;
  }
  throw new Error(`accepted ${JSON.stringify(over)}`);
};

describe('parameter counts', () => {
  it('equal the published counts of the Hugging Face checkpoints (model.num_parameters())', () => {
    expect(t5ParameterCount(parseT5Config(T5_SMALL)).total).toBe(60_506_624);
    expect(t5ParameterCount(presetConfig('t5-base')).total).toBe(222_903_552);
    expect(t5ParameterCount(presetConfig('t5-large')).total).toBe(737_668_096);
    expect(t5ParameterCount(presetConfig('flan-t5-small')).total).toBe(76_961_152);
    expect(t5ParameterCount(presetConfig('flan-t5-base')).total).toBe(247_577_856);
    expect(t5ParameterCount(parseT5Config(T5_11B)).total).toBe(11_307_321_344);
  });
});

describe('config.json fields that index or size something', () => {
  it('t5-11b is accepted: the limits are far above any published T5', () => {
    expect(parseT5Config(T5_11B).num_layers).toBe(24);
  });
  it('a million layers is refused from the number alone, before anything is built', () => {
    expect(refusal({ num_layers: 1e6 })).toBe(`m/config.json: field "num_layers" is 1000000, expected at most ${MAX_T5_LAYERS} layers (t5-11b has 24)`);
    expect(refusal({ num_decoder_layers: 2000 })).toContain('field "num_decoder_layers" is 2000, expected at most 1024');
  });
  it('d_model or vocab_size of 10^9 is refused by the parameter count, naming the largest tensor', () => {
    expect(refusal({ d_model: 1e9 })).toMatch(/^m\/config\.json: implies 1\.\d{3}e\+14 parameters, more than the 1e\+11 dept accepts .* shared\.weight \[vocab_size, d_model\] = 1 × \[32128, 1000000000\]$/);
    expect(refusal({ vocab_size: 1e9 })).toContain('= 1 × [1000000000, 512]');
    expect(refusal({ d_ff: 1e8, num_layers: 24 })).toContain('DenseReluDense wi [d_ff, d_model] = 48 × [100000000, 512]');
  });
  it('token ids outside the vocabulary', () => {
    expect(refusal({ decoder_start_token_id: 32128 })).toBe('m/config.json: field "decoder_start_token_id" is 32128, expected a token id in [0, 32128) (vocab_size 32128)');
    expect(refusal({ pad_token_id: -1 })).toContain('field "pad_token_id" is -1, expected a token id in [0, 32128)');
    expect(refusal({ eos_token_id: 40000 })).toContain('field "eos_token_id" is 40000');
    expect(refusal({ eos_token_id: 1.5 })).toContain('field "eos_token_id" is 1.5, expected an integer');
  });
  it('layer_norm_epsilon must be > 0, dropout_rate in [0, 1)', () => {
    expect(refusal({ layer_norm_epsilon: -1e-6 })).toContain('field "layer_norm_epsilon" is -0.000001, expected a number > 0');
    expect(refusal({ layer_norm_epsilon: 0 })).toContain('field "layer_norm_epsilon" is 0');
    expect(refusal({ dropout_rate: 1 })).toContain('field "dropout_rate" is 1, expected a value in [0, 1)');
  });
  it('relative attention: at least 4 buckets, a max distance beyond the exact buckets', () => {
    // 2 buckets leave 0 exact buckets per direction: the log-spaced formula would divide by log(max_distance / 0)
    expect(refusal({ relative_attention_num_buckets: 2 })).toContain('field "relative_attention_num_buckets" is 2, expected at least 4');
    // the decoder's 16 exact buckets (of 32): log(16 / 16) = 0 would be a divisor
    expect(refusal({ relative_attention_max_distance: 16 })).toContain('field "relative_attention_max_distance" is 16, expected more than 16');
    expect(parseT5Config({ ...T5_SMALL, relative_attention_max_distance: 17 }).relative_attention_max_distance).toBe(17);
  });
  it('tie_word_embeddings must be a boolean', () => {
    expect(refusal({ tie_word_embeddings: 'yes' })).toContain('field "tie_word_embeddings" is "yes", expected true or false');
  });
});
