/**
 * Hugging Face model folders: `config.json`, `model.safetensors` (or `model.safetensors.index.json` + shards) and
 * `tokenizer.json`. Loading validates every tensor against the config; writing makes random checkpoints in the
 * same layout (for tests and demos: label any number made with them as random-weight numbers).
 */
import buffer from 'node:buffer';
import { existsSync, readdirSync } from 'node:fs';
import { totalmem } from 'node:os';
import { join } from 'node:path';
import { DeptError, Rng, claimEntries, forgetUnusedFolder, readJsonFile, readRegularFile, removeRecordedEntries, writeFileAtomic, writeJsonAtomic } from '@dept/core';
import { readCheckpoint, writeSafetensors, writeShardedCheckpoint, type HostTensor, type WritableDtype } from '@dept/tensor';
import { type T5Config, parseT5Config, t5ConfigJsonText, t5ParameterCount } from './config.ts';
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
  return parseT5Config(readJsonFile(path, 'a T5 config'), path);
}

/**
 * The tokenizer of a model folder, checked against its config (every id it can produce indexes a row, the same
 * `</s>` id), or null when the folder has none. Cheap: call it before anything long starts.
 *
 * @example
 * const tokenizer = readT5Tokenizer('models/t5-base', readT5Config('models/t5-base'));
 */
export function readT5Tokenizer(dir: string, config: T5Config): T5Tokenizer | null {
  if (!existsSync(join(dir, 'tokenizer.json'))) return null;
  const tokenizer = T5Tokenizer.fromFolder(dir);
  tokenizer.checkFits(config, join(dir, 'config.json'));
  return tokenizer;
}

/**
 * Loads a Hugging Face T5 folder (t5-small/base/large, t5-v1_1, flan-t5, or one written by {@link writeRandomT5}).
 * F16/BF16 checkpoints are upcast to float32.
 *
 * @example
 * const { model, tokenizer } = loadPretrainedT5('models/t5-base');
 */
export function loadPretrainedT5(dir: string): PretrainedT5 {
  // The small files first, so a bad field or tokenizer is refused before gigabytes of weights are read.
  const config = readT5Config(dir);
  const tokenizer = readT5Tokenizer(dir, config);
  const checkpoint = readCheckpoint(dir);
  const where = checkpoint.files.length === 1 ? (checkpoint.files[0] as string) : join(dir, 'model.safetensors.index.json');
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
  tokenizer?.checkFits(config, `${dir.replace(/\/$/, '')}/config.json`);
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
  // Everything that can be refused is refused before the folder is touched: the size, then the tokenizer.
  checkRandomT5Fits(config, options, dir);
  let tokenizerFiles: string[] = [];
  if (options.tokenizerDir) {
    if (!existsSync(join(options.tokenizerDir, 'tokenizer.json'))) {
      throw new DeptError(`${options.tokenizerDir}: no tokenizer.json to copy`);
    }
    T5Tokenizer.fromFolder(options.tokenizerDir).checkFits(config, 'the model config');
    tokenizerFiles = readdirSync(options.tokenizerDir).filter((name) => /^(tokenizer\.json|tokenizer_config\.json|special_tokens_map\.json|spiece\.model)$/.test(name));
  }
  const demoTokenizer = !options.tokenizerDir && options.sampleTexts ? buildDemoTokenizerJson(options.sampleTexts, config.vocab_size) : null;
  if (demoTokenizer) new T5Tokenizer(demoTokenizer, {}, 'the demo tokenizer').checkFits(config, 'the model config');
  if (existsSync(join(dir, 'config.json'))) throw new DeptError(`${dir}: already holds a model (config.json); choose another folder`);
  // The folder must be new, empty, or one dept began as a model folder (a kill before config.json): recorded first.
  const existed = existsSync(dir);
  const record = claimEntries(dir, MODEL_KIND, MODEL_FILES, { newFolder: true, what: 'a model folder' });
  try {
    writeModelFiles(dir, config, options, tokenizerFiles, demoTokenizer);
  } catch (error) {
    // A full disk: a folder this call made is removed again, files and all.
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

/** Writes the weights, the tokenizer (copied `tokenizerFiles` or the `demoTokenizer` JSON) and, last, config.json. */
function writeModelFiles(dir: string, config: T5Config, options: WriteRandomT5Options, tokenizerFiles: readonly string[], demoTokenizer: ReturnType<typeof buildDemoTokenizerJson> | null): void {
  const tensors = randomT5Tensors(config, new Rng(options.seed));
  const metadata = { format: 'pt', random_weights: 'true', seed: String(options.seed) };
  if (options.maxShardBytes) {
    writeShardedCheckpoint(dir, tensors, { maxShardBytes: options.maxShardBytes, dtype: options.dtype ?? 'F32', metadata });
  } else {
    writeSafetensors(join(dir, 'model.safetensors'), tensors, metadata, { dtype: options.dtype ?? 'F32' });
  }
  if (options.tokenizerDir) {
    for (const name of tokenizerFiles) writeFileAtomic(join(dir, name), readRegularFile(join(options.tokenizerDir, name), 'a tokenizer file'));
  } else if (demoTokenizer) {
    writeJsonAtomic(join(dir, 'tokenizer.json'), demoTokenizer);
  }
  // config.json last: it marks the folder as a model, so a kill while writing leaves a folder that is made again.
  writeFileAtomic(join(dir, 'config.json'), t5ConfigJsonText(config));
}

/** The most bytes one file (or one tensor) can be written in: Node's largest buffer, 4 GiB. */
const MAX_FILE_BYTES = buffer.constants.MAX_LENGTH;

/**
 * Refuses a random model that cannot be written here, before anything is allocated: random weights are made in
 * memory (4 bytes a value) and each safetensors file is built in one buffer of at most 4 GiB, so the weights plus
 * the largest file must fit in this machine's memory, and a model over 4 GiB needs shards.
 */
function checkRandomT5Fits(config: T5Config, options: WriteRandomT5Options, dir: string): void {
  const { total, largestTensor } = t5ParameterCount(config);
  const bytesPer = (options.dtype ?? 'F32') === 'F32' ? 4 : 2;
  const fileBytes = options.maxShardBytes ? Math.max(options.maxShardBytes, largestTensor * bytesPer) : total * bytesPer;
  if (largestTensor * 4 > MAX_FILE_BYTES) {
    throw new DeptError(`${dir}: one tensor of this model holds ${largestTensor} values (${largestTensor * 4} bytes as float32), more than the ${MAX_FILE_BYTES} bytes one file can be written in`);
  }
  if (fileBytes > MAX_FILE_BYTES) {
    throw new DeptError(
      `${dir}: ${options.maxShardBytes ? 'a shard' : 'model.safetensors'} would be ${fileBytes} bytes, more than the ${MAX_FILE_BYTES} bytes one file can be written in; ` +
        `${options.maxShardBytes ? 'use smaller shards' : 'split it into shards (--shard-bytes 2000000000)'}`,
    );
  }
  const needed = total * 4 + fileBytes;
  if (needed > totalmem()) {
    throw new DeptError(`${dir}: writing this random model takes about ${(needed / 2 ** 30).toFixed(1)} GiB of memory (${total} float32 weights and the file's buffer), more than this machine's ${(totalmem() / 2 ** 30).toFixed(1)} GiB`);
  }
}
