/**
 * The bank: one folder in the layout of DePT's PEFT fork, holding a decomposed prompt.
 *
 *   <dir>/adapter_config.json        peft_type "PROMPT_TUNING_LORA", num_virtual_tokens m, token_dim d,
 *                                     max_length s, r, lora_alpha, ... (sorted keys, indent 2)
 *   <dir>/adapter_model.safetensors  prompt_embeddings                 [m, d]
 *                                     prompt_encoder.lora_embedding_A   [s, r]   (absent when r = 0)
 *                                     prompt_encoder.lora_embedding_B   [r, d]   (absent when r = 0)
 *
 * r = 0 is vanilla prompt tuning: no A, no B, scaling 0.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DeptError, readJsonFile, writeFolderAtomic, writeJsonAtomic } from '@dept/core';
import { type HostTensor, allFinite, readSafetensors, shapeSize, writeSafetensors } from '@dept/tensor';

/** File names inside a bank folder. */
export const BANK_CONFIG_FILE = 'adapter_config.json';
export const BANK_WEIGHTS_FILE = 'adapter_model.safetensors';

/** Tensor names in `adapter_model.safetensors` (the DePT fork's state-dict keys). */
export const BANK_KEYS = {
  prompt_embeddings: 'prompt_embeddings',
  lora_embedding_A: 'prompt_encoder.lora_embedding_A',
  lora_embedding_B: 'prompt_encoder.lora_embedding_B',
} as const;

/** How the soft prompt was initialised (PEFT's `PromptTuningInit`). */
export type PromptTuningInit = 'TEXT' | 'SAMPLE_VOCAB' | 'RANDOM';

/** `adapter_config.json` of a bank, with the DePT fork's field names. */
export interface BankConfig {
  peft_type: 'PROMPT_TUNING_LORA';
  task_type: 'SEQ_2_SEQ_LM';
  /** m: soft prompt rows. */
  num_virtual_tokens: number;
  /** d: width of the prompt = the model's d_model. */
  token_dim: number;
  /** s: rows of A; inputs are padded to exactly s tokens. */
  max_length: number;
  /** Rank of the low-rank pair (0 = vanilla prompt tuning). */
  r: number;
  /** scaling = lora_alpha / √r. Default 8. */
  lora_alpha: number;
  /** Always 1: DePT prompts the encoder only. */
  num_transformer_submodules: 1;
  /** The model's hidden size (= token_dim). */
  hidden_size: number;
  num_attention_heads: number | null;
  num_layers: number | null;
  prompt_tuning_init: PromptTuningInit;
  prompt_tuning_init_text: string | null;
  base_model_name_or_path: string | null;
  tokenizer_name_or_path: string | null;
  inference_mode: boolean;
  init_lora_weights: boolean;
  save_lora_embeddings: boolean;
  /** When a bank initialises another run: load A from it (false: keep a fresh A). */
  load_lora_embeddings: boolean;
  /** When a bank initialises another run: load B from it (false: keep B = 0). */
  load_lora_embedding_B: boolean;
  bias: 'none';
  revision: string | null;
}

/** The fields {@link makeBankConfig} needs; every other field has a default. */
export type BankConfigInput = Pick<BankConfig, 'num_virtual_tokens' | 'token_dim' | 'max_length' | 'r'> &
  Partial<Omit<BankConfig, 'num_virtual_tokens' | 'token_dim' | 'max_length' | 'r'>>;

/** A decomposed prompt with its config. A and B are null when r = 0. */
export interface Bank {
  config: BankConfig;
  /** P [m, d] */
  prompt_embeddings: HostTensor;
  /** A [s, r], or null when r = 0 */
  lora_embedding_A: HostTensor | null;
  /** B [r, d], or null when r = 0 */
  lora_embedding_B: HostTensor | null;
}

const PROMPT_INITS: readonly PromptTuningInit[] = ['TEXT', 'SAMPLE_VOCAB', 'RANDOM'];

function fail(where: string, field: string, expected: string, got: unknown): never {
  throw new DeptError(`${where}: field "${field}" must be ${expected}, got ${JSON.stringify(got)}`);
}

function int(where: string, field: string, v: unknown, min: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) fail(where, field, min === 0 ? 'a non-negative integer' : `an integer ≥ ${min}`, v);
  return v;
}

function intOrNull(where: string, field: string, v: unknown): number | null {
  if (v === null || v === undefined) return null;
  return int(where, field, v, 1);
}

function bool(where: string, field: string, v: unknown, dflt: boolean): boolean {
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'boolean') fail(where, field, 'true or false', v);
  return v;
}

function strOrNull(where: string, field: string, v: unknown): string | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string') fail(where, field, 'a string or null', v);
  return v;
}

/**
 * Checks a parsed `adapter_config.json` (or any object of the same fields) and fills defaults. `where` names
 * the file in errors. Unknown fields are ignored, as PEFT drops them.
 *
 * @example
 * parseBankConfig(JSON.parse(text), 'bank/adapter_config.json').r; // 30
 */
export function parseBankConfig(raw: unknown, where: string): BankConfig {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new DeptError(`${where}: must be a JSON object`);
  const o = raw as Record<string, unknown>;
  for (const f of ['peft_type', 'num_virtual_tokens', 'token_dim', 'max_length', 'r']) {
    if (o[f] === undefined) throw new DeptError(`${where}: missing field "${f}"`);
  }
  if (o.peft_type !== 'PROMPT_TUNING_LORA') {
    throw new DeptError(
      `${where}: field "peft_type" is ${JSON.stringify(o.peft_type)}, expected "PROMPT_TUNING_LORA" (other formats: import them with \`dept bank convert\`)`,
    );
  }
  const task = o.task_type ?? 'SEQ_2_SEQ_LM';
  if (task !== 'SEQ_2_SEQ_LM') fail(where, 'task_type', '"SEQ_2_SEQ_LM" (only encoder-decoder T5 is supported)', task);
  const subm = o.num_transformer_submodules ?? 1;
  if (subm !== 1) fail(where, 'num_transformer_submodules', '1 (DePT prompts the encoder only)', subm);
  const bias = o.bias ?? 'none';
  if (bias !== 'none') fail(where, 'bias', '"none"', bias);
  const init = o.prompt_tuning_init ?? 'RANDOM';
  if (typeof init !== 'string' || !PROMPT_INITS.includes(init as PromptTuningInit)) fail(where, 'prompt_tuning_init', '"TEXT", "SAMPLE_VOCAB" or "RANDOM"', init);
  const lora_alpha = o.lora_alpha ?? 8;
  if (typeof lora_alpha !== 'number' || !Number.isFinite(lora_alpha)) fail(where, 'lora_alpha', 'a finite number', lora_alpha);
  const token_dim = int(where, 'token_dim', o.token_dim, 1);
  const hidden = o.hidden_size === undefined || o.hidden_size === null ? token_dim : int(where, 'hidden_size', o.hidden_size, 1);
  return {
    peft_type: 'PROMPT_TUNING_LORA',
    task_type: 'SEQ_2_SEQ_LM',
    num_virtual_tokens: int(where, 'num_virtual_tokens', o.num_virtual_tokens, 0),
    token_dim,
    max_length: int(where, 'max_length', o.max_length, 1),
    r: int(where, 'r', o.r, 0),
    lora_alpha,
    num_transformer_submodules: 1,
    hidden_size: hidden,
    num_attention_heads: intOrNull(where, 'num_attention_heads', o.num_attention_heads),
    num_layers: intOrNull(where, 'num_layers', o.num_layers),
    prompt_tuning_init: init as PromptTuningInit,
    prompt_tuning_init_text: strOrNull(where, 'prompt_tuning_init_text', o.prompt_tuning_init_text),
    base_model_name_or_path: strOrNull(where, 'base_model_name_or_path', o.base_model_name_or_path),
    tokenizer_name_or_path: strOrNull(where, 'tokenizer_name_or_path', o.tokenizer_name_or_path),
    inference_mode: bool(where, 'inference_mode', o.inference_mode, true),
    init_lora_weights: bool(where, 'init_lora_weights', o.init_lora_weights, true),
    save_lora_embeddings: bool(where, 'save_lora_embeddings', o.save_lora_embeddings, true),
    load_lora_embeddings: bool(where, 'load_lora_embeddings', o.load_lora_embeddings, true),
    load_lora_embedding_B: bool(where, 'load_lora_embedding_B', o.load_lora_embedding_B, true),
    bias: 'none',
    revision: strOrNull(where, 'revision', o.revision),
  };
}

/**
 * A complete bank config from the four sizes plus any other fields (defaults: lora_alpha 8, hidden_size =
 * token_dim, prompt_tuning_init "RANDOM", the load/save flags true, inference_mode true).
 *
 * @example
 * const config = makeBankConfig({ num_virtual_tokens: 60, token_dim: 768, max_length: 256, r: 30 });
 * bankScaling(config); // 1.4605934866804429
 */
export function makeBankConfig(fields: BankConfigInput): BankConfig {
  return parseBankConfig({ peft_type: 'PROMPT_TUNING_LORA', ...fields }, 'bank config');
}

/**
 * `lora_alpha / √r`, the factor on `A @ B` (DePT divides by √r, not r); 0 when r = 0.
 *
 * @example
 * bankScaling({ lora_alpha: 8, r: 30 }); // 1.4605934866804429
 */
export function bankScaling(config: Pick<BankConfig, 'lora_alpha' | 'r'>): number {
  return config.r > 0 ? config.lora_alpha / Math.sqrt(config.r) : 0;
}

function fmt(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

function checkTensor(where: string, name: string, t: HostTensor | undefined, expected: number[], why: string): HostTensor {
  if (!t) throw new DeptError(`${where}: tensor "${name}" is missing (expected ${fmt(expected)} = ${why})`);
  if (t.shape.length !== expected.length || t.shape.some((v, i) => v !== expected[i])) {
    throw new DeptError(`${where}: tensor "${name}" has shape ${fmt(t.shape)}, expected ${fmt(expected)} = ${why} from the config`);
  }
  if (t.data.length !== shapeSize(expected)) throw new DeptError(`${where}: tensor "${name}" holds ${t.data.length} values, expected ${shapeSize(expected)}`);
  if (!allFinite(t.data)) {
    let bad = 0;
    while (Number.isFinite(t.data[bad])) bad++;
    throw new DeptError(`${where}: tensor "${name}" holds a non-finite value (${t.data[bad]} at flat index ${bad})`);
  }
  return t;
}

/**
 * Builds a bank from a config and tensors keyed by their file names (`prompt_embeddings`,
 * `prompt_encoder.lora_embedding_A`, `prompt_encoder.lora_embedding_B`), checking names, shapes and that
 * every value is finite. `where` names the source in errors.
 *
 * @example
 * const bank = bankFromTensors(config, readSafetensors(file).tensors, file);
 */
export function bankFromTensors(config: BankConfig, tensors: ReadonlyMap<string, HostTensor>, where: string): Bank {
  const { num_virtual_tokens: m, token_dim: d, max_length: s, r } = config;
  const known: string[] = [BANK_KEYS.prompt_embeddings];
  if (r > 0) known.push(BANK_KEYS.lora_embedding_A, BANK_KEYS.lora_embedding_B);
  for (const name of tensors.keys()) {
    if (!known.includes(name)) {
      const hint = r === 0 && name.startsWith('prompt_encoder.lora_embedding') ? ' (the config says r = 0)' : '';
      throw new DeptError(`${where}: unexpected tensor "${name}"${hint}; a bank holds ${known.map((k) => `"${k}"`).join(', ')}`);
    }
  }
  const P = checkTensor(where, BANK_KEYS.prompt_embeddings, tensors.get(BANK_KEYS.prompt_embeddings), [m, d], '[num_virtual_tokens, token_dim]');
  if (r === 0) return { config, prompt_embeddings: P, lora_embedding_A: null, lora_embedding_B: null };
  const A = checkTensor(where, BANK_KEYS.lora_embedding_A, tensors.get(BANK_KEYS.lora_embedding_A), [s, r], '[max_length, r]');
  const B = checkTensor(where, BANK_KEYS.lora_embedding_B, tensors.get(BANK_KEYS.lora_embedding_B), [r, d], '[r, token_dim]');
  return { config, prompt_embeddings: P, lora_embedding_A: A, lora_embedding_B: B };
}

/**
 * The bank's tensors keyed by their file names (A and B left out when r = 0).
 *
 * @example
 * [...bankTensors(bank).keys()]; // ['prompt_embeddings', 'prompt_encoder.lora_embedding_A', 'prompt_encoder.lora_embedding_B']
 */
export function bankTensors(bank: Bank): Map<string, HostTensor> {
  const out = new Map<string, HostTensor>([[BANK_KEYS.prompt_embeddings, bank.prompt_embeddings]]);
  if (bank.config.r > 0) {
    if (!bank.lora_embedding_A || !bank.lora_embedding_B) throw new DeptError(`bank: r = ${bank.config.r} but lora_embedding_A or lora_embedding_B is null`);
    out.set(BANK_KEYS.lora_embedding_A, bank.lora_embedding_A);
    out.set(BANK_KEYS.lora_embedding_B, bank.lora_embedding_B);
  } else if (bank.lora_embedding_A || bank.lora_embedding_B) {
    throw new DeptError('bank: r = 0 but lora_embedding_A or lora_embedding_B is set (they must be null)');
  }
  return out;
}

/**
 * Checks that a bank's tensors agree with its config and hold only finite values.
 *
 * @example
 * validateBank(bank, 'runs/x/bank'); // throws DeptError on a mismatch
 */
export function validateBank(bank: Bank, where = 'bank'): void {
  const config = parseBankConfig(bank.config, `${where} config`);
  bankFromTensors(config, bankTensors(bank), where);
}

/**
 * Reads a bank folder (`adapter_config.json` + `adapter_model.safetensors`), validating the config fields,
 * the tensor shapes against the config and that no value is NaN or infinite.
 *
 * @example
 * const bank = readBank('../shared/fixtures/parity/tiny-relu/bank');
 * bank.prompt_embeddings.shape;  // [6, 32]
 * bank.lora_embedding_A?.shape;  // [24, 4]
 */
export function readBank(dir: string): Bank {
  if (!existsSync(dir)) throw new DeptError(`${dir}: bank folder not found`);
  if (!statSync(dir).isDirectory()) throw new DeptError(`${dir}: is a file; a bank is a folder with ${BANK_CONFIG_FILE} and ${BANK_WEIGHTS_FILE}`);
  const configPath = join(dir, BANK_CONFIG_FILE);
  const config = parseBankConfig(readJsonFile(configPath, 'the bank config'), configPath);
  const weights = join(dir, BANK_WEIGHTS_FILE);
  if (!existsSync(weights)) {
    const bin = join(dir, 'adapter_model.bin');
    if (existsSync(bin)) {
      throw new DeptError(`${dir}: holds adapter_model.bin (a PyTorch pickle) instead of ${BANK_WEIGHTS_FILE}; convert it with \`dept bank convert ${dir} --to dept --out DIR\``);
    }
    throw new DeptError(`${weights}: file not found (expected the bank weights)`);
  }
  return bankFromTensors(config, readSafetensors(weights).tensors, weights);
}

/** Files a bank folder may hold; an existing folder with anything else is never replaced. */
export const BANK_FOLDER_FILES: readonly string[] = [BANK_CONFIG_FILE, BANK_WEIGHTS_FILE, 'README.md'];

/**
 * Writes a bank folder atomically: both files go into a temporary sibling folder which then replaces `dir`
 * (readers see the old bank or the new one, never a mix). The config is written with sorted keys and indent 2,
 * the weights as F32 safetensors with `{"format":"pt"}` metadata. An existing `dir` is replaced only when it
 * holds nothing but bank files.
 *
 * @example
 * writeBank('runs/quickstart/rte/k16/seed1/bank', bank);
 */
export function writeBank(dir: string, bank: Bank): void {
  validateBank(bank, dir);
  writeFolderAtomic(
    dir,
    (tmp) => {
      writeJsonAtomic(join(tmp, BANK_CONFIG_FILE), bank.config, 2, { sortKeys: true });
      writeSafetensors(join(tmp, BANK_WEIGHTS_FILE), bankTensors(bank), { format: 'pt' });
    },
    BANK_FOLDER_FILES,
  );
}
