/**
 * Hugging Face model folders: `config.json`, `model.safetensors` (or `model.safetensors.index.json` + shards) and
 * `tokenizer.json`. Loading validates every tensor against the config; writing makes random checkpoints in the
 * same layout (for tests and demos: label any number made with them as random-weight numbers).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DeptError, Rng, claimEntries, forgetUnusedFolder, parseJsonText, removeRecordedEntries, writeFileAtomic, writeJsonAtomic } from '@dept/core';
import { readCheckpoint, writeSafetensors, writeShardedCheckpoint, type WritableDtype } from '@dept/tensor';
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
  const unusedTensors = validateCheckpoint(config, checkpoint.tensors, where);
  const tokenizer = existsSync(join(dir, 'tokenizer.json')) ? T5Tokenizer.fromFolder(dir) : null;
  if (tokenizer && tokenizer.vocabSize > config.vocab_size) {
    throw new DeptError(`${join(dir, 'tokenizer.json')}: the tokenizer has ${tokenizer.vocabSize} entries but config.json has vocab_size ${config.vocab_size}`);
  }
  const model = new T5ForConditionalGeneration(config, buildT5Weights(config, checkpoint.tensors, where));
  checkpoint.tensors.clear();
  return { dir, config, model, tokenizer, unusedTensors, randomWeights: checkpoint.metadata.random_weights === 'true' };
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

/** The kind of folder a model folder's record (`.dept.json`) names. */
const MODEL_KIND = 'model';

/** What `writeRandomT5` writes (shards as well, when asked for). */
const MODEL_FILES: readonly string[] = ['config.json', 'model.safetensors', 'model.safetensors.index.json', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'spiece.model'];

/**
 * Writes a random T5 checkpoint in the Hugging Face layout: `config.json`, `model.safetensors` (metadata
 * `random_weights: "true"`) or shards + index, and a tokenizer (copied from `tokenizerDir`, or built from
 * `sampleTexts`). `dir` must be new or empty (or a model folder dept began and was killed in); a folder holding
 * a model or files of someone else is refused.
 *
 * @example
 * writeRandomT5('runs/tiny-model', presetConfig('tiny-relu'), { seed: 0, sampleTexts: ['The cat sat.'] });
 */
export function writeRandomT5(dir: string, config: T5Config, options: WriteRandomT5Options): void {
  if (existsSync(join(dir, 'config.json'))) throw new DeptError(`${dir}: already holds a model (config.json); choose another folder`);
  // The folder must be new, empty, or one dept began as a model folder (a kill before config.json): recorded first.
  const existed = existsSync(dir);
  const record = claimEntries(dir, MODEL_KIND, MODEL_FILES, { newFolder: true, what: 'a model folder' });
  try {
    writeModelFiles(dir, config, options);
  } catch (error) {
    // A full disk, a bad tokenizer folder: a folder this call made is removed again, files and all.
    if (!existed) {
      try {
        removeRecordedEntries(dir, { ...record, entries: [...record.entries, ...readdirSync(dir).filter((n) => /^model-\d{5}-of-\d{5}\.safetensors$/.test(n))] });
        forgetUnusedFolder(dir, null);
      } catch {
        // cleaning up must not hide why the write failed
      }
    }
    throw error;
  }
}

function writeModelFiles(dir: string, config: T5Config, options: WriteRandomT5Options): void {
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
