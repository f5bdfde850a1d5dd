/**
 * T5 configuration, read from a Hugging Face `config.json` (v1.0: relu FFN, tied embeddings; v1.1 / flan:
 * gated-gelu with the tanh gelu, untied `lm_head`).
 */
import { DeptError } from '@dept/core';

/** The fields of HF's `T5Config` that the model uses, with HF spelling. */
export interface T5Config {
  model_type: 't5';
  vocab_size: number;
  d_model: number;
  d_kv: number;
  d_ff: number;
  num_layers: number;
  num_decoder_layers: number;
  num_heads: number;
  relative_attention_num_buckets: number;
  relative_attention_max_distance: number;
  dropout_rate: number;
  layer_norm_epsilon: number;
  initializer_factor: number;
  /** `"relu"`, `"gated-gelu"`, `"gelu"`, `"gated-relu"`, ... */
  feed_forward_proj: string;
  /** Derived: the activation name (`relu`, `gelu_new`, `gelu`, `silu`). */
  dense_act_fn: string;
  /** Derived: `feed_forward_proj` starts with `gated-`. */
  is_gated_act: boolean;
  tie_word_embeddings: boolean;
  pad_token_id: number;
  eos_token_id: number;
  decoder_start_token_id: number;
  /** Anything else found in the file, kept so a written config round-trips. */
  extra: Record<string, unknown>;
}

const ACTIVATIONS = new Set(['relu', 'gelu', 'gelu_new', 'silu', 'gelu_pytorch_tanh']);

function num(raw: Record<string, unknown>, key: string, where: string, fallback?: number, integer = true): number {
  const value = raw[key];
  if (value === undefined || value === null) {
    if (fallback !== undefined) return fallback;
    throw new DeptError(`${where}: field "${key}" is missing, expected a number`);
  }
  if (typeof value !== 'number' || !Number.isFinite(value) || (integer && !Number.isInteger(value))) {
    throw new DeptError(`${where}: field "${key}" is ${JSON.stringify(value)}, expected ${integer ? 'an integer' : 'a number'}`);
  }
  if (integer && value <= 0 && !key.endsWith('_id')) {
    throw new DeptError(`${where}: field "${key}" is ${value}, expected a positive integer`);
  }
  return value;
}

/**
 * Parses and validates a T5 `config.json` object. `where` names the file in error messages.
 *
 * @example
 * const config = parseT5Config(JSON.parse(readFileSync('t5-small/config.json', 'utf8')), 't5-small/config.json');
 * config.is_gated_act; // false for t5-small, true for flan-t5
 */
export function parseT5Config(raw: unknown, where = 'config.json'): T5Config {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new DeptError(`${where}: expected a JSON object`);
  }
  const r = raw as Record<string, unknown>;
  if (r.model_type !== undefined && r.model_type !== 't5') {
    throw new DeptError(`${where}: field "model_type" is ${JSON.stringify(r.model_type)}, expected "t5"`);
  }
  const feedForward = typeof r.feed_forward_proj === 'string' ? r.feed_forward_proj : 'relu';
  const parts = feedForward.split('-');
  const isGated = parts[0] === 'gated';
  if (parts.length > 2 || (parts.length === 2 && !isGated)) {
    throw new DeptError(`${where}: field "feed_forward_proj" is "${feedForward}", expected "relu", "gated-gelu" or "{ACT}"/"gated-{ACT}"`);
  }
  let act = parts[parts.length - 1] as string;
  if (feedForward === 'gated-gelu') act = 'gelu_new'; // HF's backward-compatibility rule: the tanh approximation
  if (!ACTIVATIONS.has(act)) {
    throw new DeptError(`${where}: field "feed_forward_proj" uses activation "${act}", expected one of ${[...ACTIVATIONS].join(', ')}`);
  }
  const numLayers = num(r, 'num_layers', where, 6);
  const known = new Set([
    'model_type', 'vocab_size', 'd_model', 'd_kv', 'd_ff', 'num_layers', 'num_decoder_layers', 'num_heads',
    'relative_attention_num_buckets', 'relative_attention_max_distance', 'dropout_rate', 'layer_norm_epsilon',
    'initializer_factor', 'feed_forward_proj', 'dense_act_fn', 'is_gated_act', 'tie_word_embeddings', 'pad_token_id',
    'eos_token_id', 'decoder_start_token_id',
  ]);
  const extra: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(r)) if (!known.has(k)) extra[k] = v;
  const config: T5Config = {
    model_type: 't5',
    vocab_size: num(r, 'vocab_size', where, 32128),
    d_model: num(r, 'd_model', where, 512),
    d_kv: num(r, 'd_kv', where, 64),
    d_ff: num(r, 'd_ff', where, 2048),
    num_layers: numLayers,
    num_decoder_layers: num(r, 'num_decoder_layers', where, numLayers),
    num_heads: num(r, 'num_heads', where, 8),
    relative_attention_num_buckets: num(r, 'relative_attention_num_buckets', where, 32),
    relative_attention_max_distance: num(r, 'relative_attention_max_distance', where, 128),
    dropout_rate: num(r, 'dropout_rate', where, 0.1, false),
    layer_norm_epsilon: num(r, 'layer_norm_epsilon', where, 1e-6, false),
    initializer_factor: num(r, 'initializer_factor', where, 1.0, false),
    feed_forward_proj: feedForward,
    dense_act_fn: act,
    is_gated_act: isGated,
    tie_word_embeddings: r.tie_word_embeddings === undefined ? true : r.tie_word_embeddings === true,
    pad_token_id: num(r, 'pad_token_id', where, 0),
    eos_token_id: num(r, 'eos_token_id', where, 1),
    decoder_start_token_id: num(r, 'decoder_start_token_id', where, 0),
    extra,
  };
  if (r.tie_word_embeddings !== undefined && typeof r.tie_word_embeddings !== 'boolean') {
    throw new DeptError(`${where}: field "tie_word_embeddings" is ${JSON.stringify(r.tie_word_embeddings)}, expected true or false`);
  }
  checkT5Sizes(config, where);
  return config;
}

/**
 * The most encoder (and decoder) layers a config may have: 1024, far above any published T5 (t5-11b has 24), so
 * that a config claiming a million layers is refused before a single layer is built.
 */
export const MAX_T5_LAYERS = 1024;

/** The most parameters a config may imply: 10^11, about 9 times t5-11b (11.3 billion). */
export const MAX_T5_PARAMETERS = 1e11;

/**
 * Every weight tensor a config implies, by kind, with its shape and how many of it there are: the size check and
 * the memory estimates of writers use it without building any name list.
 */
function weightGroups(c: T5Config): { what: string; shape: number[]; count: number }[] {
  const d = c.d_model;
  const inner = c.num_heads * c.d_kv;
  const ffIn = c.is_gated_act ? 2 : 1;
  const layers = c.num_layers + c.num_decoder_layers;
  return [
    { what: 'shared.weight [vocab_size, d_model]', shape: [c.vocab_size, d], count: 1 },
    { what: 'lm_head.weight [vocab_size, d_model]', shape: [c.vocab_size, d], count: c.tie_word_embeddings ? 0 : 1 },
    { what: 'attention q, k, v [num_heads * d_kv, d_model]', shape: [inner, d], count: 3 * (c.num_layers + 2 * c.num_decoder_layers) },
    { what: 'attention o [d_model, num_heads * d_kv]', shape: [d, inner], count: c.num_layers + 2 * c.num_decoder_layers },
    { what: 'relative_attention_bias [relative_attention_num_buckets, num_heads]', shape: [c.relative_attention_num_buckets, c.num_heads], count: 2 },
    { what: 'DenseReluDense wi [d_ff, d_model]', shape: [c.d_ff, d], count: ffIn * layers },
    { what: 'DenseReluDense wo [d_model, d_ff]', shape: [d, c.d_ff], count: layers },
    { what: 'layer_norm [d_model]', shape: [d], count: 2 * c.num_layers + 3 * c.num_decoder_layers + 2 },
  ];
}

/**
 * The number of weights a config implies (float64 arithmetic: a hostile config gives a huge number or Infinity,
 * never an overflowed small one), and the largest single tensor in values.
 *
 * @example
 * t5ParameterCount(presetConfig('t5-small')).total; // 60506624
 */
export function t5ParameterCount(config: T5Config): { total: number; largestTensor: number } {
  let total = 0;
  let largestTensor = 0;
  for (const g of weightGroups(config)) {
    const size = g.shape.reduce((a, b) => a * b, 1);
    total += size * g.count;
    if (g.count > 0) largestTensor = Math.max(largestTensor, size);
  }
  return { total, largestTensor };
}

/**
 * Checks every field that indexes or sizes something, before anything is allocated: the layer counts against
 * {@link MAX_T5_LAYERS}, the implied parameter count against {@link MAX_T5_PARAMETERS}, the relative attention
 * table (at least 4 buckets, so each direction has an exact bucket; a max distance beyond the exact buckets, as the
 * log-spaced formula divides by its logarithm), the token ids (`pad_token_id`, `eos_token_id`,
 * `decoder_start_token_id` inside the vocabulary) and `layer_norm_epsilon` > 0, `dropout_rate` in [0, 1).
 */
function checkT5Sizes(c: T5Config, where: string): void {
  for (const key of ['num_layers', 'num_decoder_layers'] as const) {
    if (c[key] > MAX_T5_LAYERS) {
      throw new DeptError(`${where}: field "${key}" is ${c[key]}, expected at most ${MAX_T5_LAYERS} layers (t5-11b has 24)`);
    }
  }
  if (c.dropout_rate < 0 || c.dropout_rate >= 1) {
    throw new DeptError(`${where}: field "dropout_rate" is ${c.dropout_rate}, expected a value in [0, 1)`);
  }
  if (!(c.layer_norm_epsilon > 0)) {
    throw new DeptError(`${where}: field "layer_norm_epsilon" is ${c.layer_norm_epsilon}, expected a number > 0 (T5 uses 1e-6)`);
  }
  if (c.relative_attention_num_buckets < 4) {
    throw new DeptError(`${where}: field "relative_attention_num_buckets" is ${c.relative_attention_num_buckets}, expected at least 4 (T5 uses 32)`);
  }
  const exact = Math.floor(c.relative_attention_num_buckets / 2);
  if (c.relative_attention_max_distance <= exact) {
    throw new DeptError(
      `${where}: field "relative_attention_max_distance" is ${c.relative_attention_max_distance}, expected more than ${exact} ` +
        `(half of relative_attention_num_buckets ${c.relative_attention_num_buckets}: the log-spaced buckets start there; T5 uses 128)`,
    );
  }
  for (const key of ['pad_token_id', 'eos_token_id', 'decoder_start_token_id'] as const) {
    if (c[key] < 0 || c[key] >= c.vocab_size) {
      throw new DeptError(`${where}: field "${key}" is ${c[key]}, expected a token id in [0, ${c.vocab_size}) (vocab_size ${c.vocab_size})`);
    }
  }
  const { total } = t5ParameterCount(c);
  if (total > MAX_T5_PARAMETERS) {
    const groups = weightGroups(c).filter((g) => g.count > 0);
    const size = (g: (typeof groups)[number]): number => g.shape.reduce((a, b) => a * b, 1) * g.count;
    const big = groups.reduce((a, b) => (size(b) > size(a) ? b : a));
    throw new DeptError(
      `${where}: implies ${total.toExponential(3)} parameters, more than the ${MAX_T5_PARAMETERS.toExponential(0)} dept accepts (t5-11b has 1.1e10); ` +
        `the largest part is ${big.count} × ${big.what} = ${big.count} × [${big.shape.join(', ')}]`,
    );
  }
}

/** Fields that HF (transformers 5 validates this) expects as floats: written with a decimal point. */
const FLOAT_FIELDS = ['dropout_rate', 'layer_norm_epsilon', 'initializer_factor'] as const;

/**
 * The `config.json` text for a config, as HF writes it: indent 2, float fields always with a decimal point
 * (`"initializer_factor": 1.0`; JSON.stringify would write `1`, which transformers 5 rejects).
 *
 * @example
 * writeFileAtomic('model/config.json', t5ConfigJsonText(config));
 */
export function t5ConfigJsonText(config: T5Config): string {
  let text = JSON.stringify(t5ConfigToJson(config), null, 2);
  for (const key of FLOAT_FIELDS) {
    text = text.replace(new RegExp(`("${key}": )(-?\\d+)(,?\\n)`), '$1$2.0$3');
  }
  return `${text}\n`;
}

/** The JSON object HF writes for a config (derived fields included). */
export function t5ConfigToJson(config: T5Config): Record<string, unknown> {
  const { extra, ...fields } = config;
  return {
    architectures: ['T5ForConditionalGeneration'],
    ...extra,
    ...fields,
    is_encoder_decoder: true,
  };
}

/** Known model shapes, by HF repository name, plus tiny ones for tests and demos. */
export const T5_PRESETS: Readonly<Record<string, Partial<T5Config>>> = {
  't5-small': { d_model: 512, d_kv: 64, d_ff: 2048, num_layers: 6, num_heads: 8, feed_forward_proj: 'relu', tie_word_embeddings: true },
  't5-base': { d_model: 768, d_kv: 64, d_ff: 3072, num_layers: 12, num_heads: 12, feed_forward_proj: 'relu', tie_word_embeddings: true },
  't5-large': { d_model: 1024, d_kv: 64, d_ff: 4096, num_layers: 24, num_heads: 16, feed_forward_proj: 'relu', tie_word_embeddings: true },
  't5-v1_1-small': { d_model: 512, d_kv: 64, d_ff: 1024, num_layers: 8, num_heads: 6, feed_forward_proj: 'gated-gelu', tie_word_embeddings: false },
  't5-v1_1-base': { d_model: 768, d_kv: 64, d_ff: 2048, num_layers: 12, num_heads: 12, feed_forward_proj: 'gated-gelu', tie_word_embeddings: false },
  'flan-t5-small': { d_model: 512, d_kv: 64, d_ff: 1024, num_layers: 8, num_heads: 6, feed_forward_proj: 'gated-gelu', tie_word_embeddings: false },
  'flan-t5-base': { d_model: 768, d_kv: 64, d_ff: 2048, num_layers: 12, num_heads: 12, feed_forward_proj: 'gated-gelu', tie_word_embeddings: false },
  'flan-t5-large': { d_model: 1024, d_kv: 64, d_ff: 2816, num_layers: 24, num_heads: 16, feed_forward_proj: 'gated-gelu', tie_word_embeddings: false },
  /** A tiny v1.0 model for tests and the quickstart (random weights). */
  'tiny-relu': { vocab_size: 128, d_model: 32, d_kv: 8, d_ff: 64, num_layers: 2, num_heads: 4, feed_forward_proj: 'relu', tie_word_embeddings: true },
  /** A tiny v1.1-style model (gated-gelu, untied lm_head). */
  'tiny-gated': { vocab_size: 128, d_model: 32, d_kv: 8, d_ff: 48, num_layers: 2, num_heads: 4, feed_forward_proj: 'gated-gelu', tie_word_embeddings: false },
  /** The quickstart model: small enough to train k-shot in minutes on 2 cores. */
  'mini': { vocab_size: 32128, d_model: 64, d_kv: 16, d_ff: 128, num_layers: 2, num_heads: 4, feed_forward_proj: 'relu', tie_word_embeddings: true },
};

/**
 * A full config for a preset name (see {@link T5_PRESETS}), optionally with overrides.
 *
 * @example
 * const config = presetConfig('t5-small');
 */
export function presetConfig(name: string, overrides: Partial<T5Config> = {}): T5Config {
  const preset = T5_PRESETS[name];
  if (!preset) {
    throw new DeptError(`unknown model preset "${name}", expected a config.json path or one of ${Object.keys(T5_PRESETS).join(', ')}`);
  }
  const { extra, ...rest } = { ...preset, ...overrides };
  return parseT5Config({ model_type: 't5', ...(extra ?? {}), ...rest }, `preset ${name}`);
}
