/**
 * Hugging Face model folders: `config.json`, `model.safetensors` (or `model.safetensors.index.json` + shards) and
 * `tokenizer.json`. Loading validates every tensor against the config; writing makes random checkpoints in the
 * same layout (for tests and demos: label any number made with them as random-weight numbers).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DeptError, Rng, parseJsonText, writeFileAtomic, writeJsonAtomic } from '@dept/core';
import { readCheckpoint, writeSafetensors, writeShardedCheckpoint, type HostTensor, type WritableDtype } from '@dept/tensor';
import { type T5Config, parseT5Config, t5ConfigJsonText } from './config.ts';
import { T5ForConditionalGeneration } from './modeling.ts';
import { T5Tokenizer, buildDemoTokenizerJson } from './tokenizer.ts';
import { buildT5Weights, randomT5Tensors, validateCheckpoint } from './weights.ts';

/** A loaded model folder. */
export interface PretrainedT5 {
  dir: string;
  config: T5Config;
  model: T5ForConditionalGeneration;
  /** Null when the folder has no `tokenizer.json` (pre-tokenized inputs still work). */
  tokenizer: T5Tokenizer | null;
  /** Checkpoint names that the model does not use (reported, not fatal). */
  unusedTensors: string[];
  /** `random_weights: "true"` in the checkpoint metadata (written by {@link writeRandomT5}). */
  randomWeights: boolean;
}

/** Reads and validates `dir/config.json`. */
export function readT5Config(dir: string): T5Config {
  const path = join(dir, 'config.json');
  if (!existsSync(path)) throw new DeptError(`${dir}: no config.json (expected a Hugging Face T5 model folder)`);
  return parseT5Config(parseJsonText(readFileSync(path, 'utf8'), path), path);
}

/**
 * Loads a Hugging Face T5 folder (t5-small/base/large, t5-v1_1, flan-t5, or one written by {@link writeRandomT5}).
 * F16/BF16 checkpoints are upcast to float32.
 *
 * @example
 * const { model, tokenizer } = loadPretrainedT5('models/t5-base');
 */
export function loadPretrainedT5(dir: string): PretrainedT5 {
  const config = readT5Config(dir);
  const checkpoint = readCheckpoint(dir);
  const where = checkpoint.files.length === 1 ? (checkpoint.files[0] as string) : join(dir, 'model.safetensors.index.json');
  const tokenizer = existsSync(join(dir, 'tokenizer.json')) ? T5Tokenizer.fromFolder(dir) : null;
  return t5FromParts({ dir, config, tensors: checkpoint.tensors, metadata: checkpoint.metadata, where, tokenizer });
}

/** The parts of a model folder, already read (from files, or fetched by a browser). */
export interface T5Parts {
  /** Where the parts came from (a folder or a URL), for messages. */
  dir: string;
  config: T5Config;
  /** The checkpoint's tensors; emptied once the model holds them. */
  tensors: Map<string, HostTensor>;
  metadata: Record<string, string>;
  /** The weights file (or index) named in messages. */
  where: string;
  tokenizer: T5Tokenizer | null;
}

/**
 * A model from its parts: the checkpoint checked against the config, the tokenizer against the vocabulary, the
 * weights built. What {@link loadPretrainedT5} does once it has read the folder; no file is touched (browser-safe).
 *
 * @example
 * const { model } = t5FromParts({ dir: '/models/tiny/', config, tensors, metadata: {}, where: 'model.safetensors', tokenizer });
 */
export function t5FromParts(parts: T5Parts): PretrainedT5 {
  const { dir, config, tensors, where, tokenizer } = parts;
  const unusedTensors = validateCheckpoint(config, tensors, where);
  if (tokenizer && tokenizer.vocabSize > config.vocab_size) {
    throw new DeptError(`${dir.replace(/\/$/, '')}/tokenizer.json: the tokenizer has ${tokenizer.vocabSize} entries but config.json has vocab_size ${config.vocab_size}`);
  }
  const model = new T5ForConditionalGeneration(config, buildT5Weights(config, tensors, where));
  tensors.clear();
  return { dir, config, model, tokenizer, unusedTensors, randomWeights: parts.metadata.random_weights === 'true' };
}

/** Options of {@link writeRandomT5}. */
export interface WriteRandomT5Options {
  seed: number;
  /** A folder holding `tokenizer.json` (and friends) to copy in. */
  tokenizerDir?: string;
  /** Without `tokenizerDir`: texts to build a small demo tokenizer from (vocabulary size = `vocab_size`). */
  sampleTexts?: readonly string[];
  /** Stored dtype (default F32). */
  dtype?: WritableDtype;
  /** Split into shards of at most this many bytes (with an index), as large HF checkpoints are. */
  maxShardBytes?: number;
}

/**
 * Writes a random T5 checkpoint in the Hugging Face layout: `config.json`, `model.safetensors` (metadata
 * `random_weights: "true"`) or shards + index, and a tokenizer (copied from `tokenizerDir`, or built from
 * `sampleTexts`).
 *
 * @example
 * writeRandomT5('runs/tiny-model', presetConfig('tiny-relu'), { seed: 0, sampleTexts: ['The cat sat.'] });
 */
export function writeRandomT5(dir: string, config: T5Config, options: WriteRandomT5Options): void {
  mkdirSync(dir, { recursive: true });
  const tensors = randomT5Tensors(config, new Rng(options.seed));
  const metadata = { format: 'pt', random_weights: 'true', seed: String(options.seed) };
  if (options.maxShardBytes) {
    writeShardedCheckpoint(dir, tensors, { maxShardBytes: options.maxShardBytes, dtype: options.dtype ?? 'F32', metadata });
  } else {
    writeSafetensors(join(dir, 'model.safetensors'), tensors, metadata, { dtype: options.dtype ?? 'F32' });
  }
  if (options.tokenizerDir) {
    if (!existsSync(join(options.tokenizerDir, 'tokenizer.json'))) {
      throw new DeptError(`${options.tokenizerDir}: no tokenizer.json to copy`);
    }
    const tok = T5Tokenizer.fromFolder(options.tokenizerDir);
    if (tok.vocabSize > config.vocab_size) {
      throw new DeptError(`${join(options.tokenizerDir, 'tokenizer.json')}: the tokenizer has ${tok.vocabSize} entries but the model's vocab_size is ${config.vocab_size}`);
    }
    for (const name of readdirSync(options.tokenizerDir)) {
      if (/^(tokenizer\.json|tokenizer_config\.json|special_tokens_map\.json|spiece\.model)$/.test(name)) {
        writeFileAtomic(join(dir, name), readFileSync(join(options.tokenizerDir, name)));
      }
    }
  } else if (options.sampleTexts) {
    writeJsonAtomic(join(dir, 'tokenizer.json'), buildDemoTokenizerJson(options.sampleTexts, config.vocab_size));
  }
  // config.json last: it marks the folder as a model, so a kill while writing leaves a folder that is made again.
  writeFileAtomic(join(dir, 'config.json'), t5ConfigJsonText(config));
}
