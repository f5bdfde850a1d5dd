/**
 * `importBank`: any supported bank (DePT, PEFT, PEFT multitask, ATTEMPT, ours) → our {@link Bank}, with notes
 * that say what was converted, dropped or made up.
 */
import { DeptError, Rng } from '@dept/core';
import { type HostTensor } from '@dept/tensor';
import { BANK_KEYS, type Bank, type BankConfigInput, type PromptTuningInit, bankFromTensors, kaimingUniformA, makeBankConfig } from '@dept/prompt';
import { type BankFormat, MPT_KEYS, type RawBank, readRawBank } from './formats.ts';

/** Options of {@link importBank}. */
export interface ImportBankOptions {
  /**
   * Rank for a source that has only a prompt (ATTEMPT, PEFT, older DePT checkpoints): with r > 0 a fresh A
   * (kaiming-uniform, ±1/√r) and a zero B are added. Default: the config's r for DePT, else 0 (vanilla
   * prompt tuning).
   */
  r?: number;
  /** s for such sources. Default: the config's `max_length`, else 256 (DePT's GLUE setting). */
  max_length?: number;
  /** lora_alpha when the source does not say. Default 8. */
  lora_alpha?: number;
  /** Draws the fresh A. Default `new Rng(seed ?? 0)`. */
  rng?: Rng;
  seed?: number;
  /**
   * Multitask prompt tuning: which task prompt to take. A task index t gives P ⊙ (cols[t] @ rows[t])
   * (PEFT's EXACT_SOURCE_TASK); `average` gives P ⊙ (mean_t cols[t] @ mean_t rows[t]) (AVERAGE_SOURCE_TASKS);
   * `shared` gives P alone (ONLY_SOURCE_SHARED). Default `average`.
   */
  mptTask?: number | 'average' | 'shared';
  /** `base_model_name_or_path` when the source does not name it. */
  base_model_name_or_path?: string;
}

/** The result of {@link importBank}. */
export interface ImportedBank {
  format: BankFormat;
  bank: Bank;
  /** What was converted, dropped or made up, one sentence each. */
  notes: string[];
  /** The weights file that was read. */
  weightsPath: string;
}

function fmt(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

function num(config: Record<string, unknown> | null, key: string): number | undefined {
  const v = config?.[key];
  return typeof v === 'number' ? v : undefined;
}

function str(config: Record<string, unknown> | null, key: string): string | null {
  const v = config?.[key];
  return typeof v === 'string' ? v : null;
}

function rows(t: HostTensor, from: number, to: number): HostTensor {
  const d = t.shape[1] as number;
  return { data: t.data.slice(from * d, to * d), shape: [to - from, d] };
}

/** P ⊙ (cols @ rows): P [N, d], cols [N, k], rows [k, d]. */
function mptPrompt(P: HostTensor, cols: Float64Array, rowsM: Float64Array, k: number): HostTensor {
  const [N, d] = P.shape as [number, number];
  const out = new Float32Array(N * d);
  for (let i = 0; i < N; i++) {
    for (let j = 0; j < d; j++) {
      let acc = 0;
      for (let q = 0; q < k; q++) acc += (cols[i * k + q] as number) * (rowsM[q * d + j] as number);
      out[i * d + j] = (P.data[i * d + j] as number) * acc;
    }
  }
  return { data: out, shape: [N, d] };
}

function resolveMpt(raw: RawBank, opts: ImportBankOptions, notes: string[]): HostTensor {
  const P = raw.tensors.get(BANK_KEYS.prompt_embeddings) as HostTensor;
  const choice = opts.mptTask ?? 'average';
  if (choice === 'shared') {
    notes.push('multitask prompt: took the shared prompt_embeddings only (ONLY_SOURCE_SHARED)');
    return P;
  }
  const cols = raw.tensors.get(MPT_KEYS.cols);
  const rowsT = raw.tensors.get(MPT_KEYS.rows);
  if (!cols || !rowsT) throw new DeptError(`${raw.weightsPath}: multitask prompt without ${!cols ? MPT_KEYS.cols : MPT_KEYS.rows}`);
  const [N, d] = P.shape as [number, number];
  if (cols.shape.length !== 3 || rowsT.shape.length !== 3) {
    throw new DeptError(`${raw.weightsPath}: ${MPT_KEYS.cols} ${fmt(cols.shape)} and ${MPT_KEYS.rows} ${fmt(rowsT.shape)} must be [tasks, n, k] and [tasks, k, d]`);
  }
  const [T, n2, k] = cols.shape as [number, number, number];
  if (n2 !== N || rowsT.shape[0] !== T || rowsT.shape[1] !== k || rowsT.shape[2] !== d) {
    throw new DeptError(
      `${raw.weightsPath}: ${MPT_KEYS.cols} ${fmt(cols.shape)} and ${MPT_KEYS.rows} ${fmt(rowsT.shape)} do not fit prompt_embeddings ${fmt(P.shape)} (expected [T, ${N}, k] and [T, k, ${d}])`,
    );
  }
  const c = new Float64Array(N * k);
  const r = new Float64Array(k * d);
  if (choice === 'average') {
    for (let t = 0; t < T; t++) {
      for (let i = 0; i < N * k; i++) c[i] = (c[i] as number) + (cols.data[t * N * k + i] as number) / T;
      for (let i = 0; i < k * d; i++) r[i] = (r[i] as number) + (rowsT.data[t * k * d + i] as number) / T;
    }
    notes.push(`multitask prompt: averaged the task factors over ${T} tasks, P ⊙ (mean cols @ mean rows) (AVERAGE_SOURCE_TASKS)`);
  } else {
    if (!Number.isInteger(choice) || choice < 0 || choice >= T) throw new DeptError(`${raw.weightsPath}: task index ${choice} is out of range (the file holds ${T} tasks: 0..${T - 1})`);
    c.set(cols.data.subarray(choice * N * k, (choice + 1) * N * k));
    r.set(rowsT.data.subarray(choice * k * d, (choice + 1) * k * d));
    notes.push(`multitask prompt: took task ${choice} of ${T}, P ⊙ (cols[${choice}] @ rows[${choice}]) (EXACT_SOURCE_TASK)`);
  }
  return mptPrompt(P, c, r, k);
}

/**
 * Imports a bank from any supported format and says which one it was. Accepts a folder or a weights file:
 * DePT checkpoints (`adapter_config.json` + `adapter_model.bin`), ATTEMPT prompts (`*.pt`, one tensor
 * `[n, d]`), PEFT prompt tuning (`prompt_embeddings`; with `num_transformer_submodules` 2 the decoder half is
 * dropped), PEFT multitask prompt tuning (see `mptTask`) and our bank folders. Sources without A and B get a
 * fresh A and a zero B when r > 0. All values are checked finite.
 *
 * @example
 * const { format, bank, notes } = importBank('../shared/banks/attempt-record', { r: 30, max_length: 256, seed: 1 });
 * format;                          // 'attempt'
 * bank.prompt_embeddings.shape;    // [100, 768]
 * bank.lora_embedding_A?.shape;    // [256, 30]
 */
export function importBank(path: string, opts: ImportBankOptions = {}): ImportedBank {
  const raw = readRawBank(path);
  const notes = [...raw.notes];
  const cfg = raw.config;
  const where = raw.weightsPath;
  let P = raw.tensors.get(BANK_KEYS.prompt_embeddings) as HostTensor;
  if (P.shape.length !== 2) throw new DeptError(`${where}: prompt_embeddings has shape ${fmt(P.shape)}, expected [num_virtual_tokens, token_dim]`);
  if (raw.format === 'peft-mpt') P = resolveMpt(raw, opts, notes);

  // Encoder half of a seq2seq PEFT prompt.
  const subm = num(cfg, 'num_transformer_submodules') ?? 1;
  const nCfg = num(cfg, 'num_virtual_tokens');
  if (subm !== 1) {
    if (raw.format !== 'peft' && raw.format !== 'peft-mpt') throw new DeptError(`${raw.configPath}: num_transformer_submodules ${subm}, expected 1 for a ${raw.format} bank`);
    if (subm !== 2) throw new DeptError(`${raw.configPath}: num_transformer_submodules ${subm} is not supported (1 or 2)`);
    const n = nCfg ?? (P.shape[0] as number) / 2;
    if (!Number.isInteger(n) || P.shape[0] !== 2 * n) {
      throw new DeptError(`${where}: prompt_embeddings has ${P.shape[0]} rows, expected num_virtual_tokens × 2 = ${2 * (nCfg ?? 0)}`);
    }
    P = rows(P, 0, n);
    notes.push(`num_transformer_submodules 2: kept the encoder prompt (rows 0..${n - 1}); the decoder prompt (rows ${n}..${2 * n - 1}) was dropped, as DePT prompts the encoder only`);
  } else if (nCfg !== undefined && nCfg !== P.shape[0]) {
    throw new DeptError(`${where}: prompt_embeddings has ${P.shape[0]} rows but ${raw.configPath} says num_virtual_tokens ${nCfg}`);
  }
  const [m, d] = P.shape as [number, number];
  const dCfg = num(cfg, 'token_dim');
  if (dCfg !== undefined && dCfg !== d) throw new DeptError(`${where}: prompt_embeddings has width ${d} but ${raw.configPath} says token_dim ${dCfg}`);

  let A = raw.tensors.get(BANK_KEYS.lora_embedding_A) ?? null;
  let B = raw.tensors.get(BANK_KEYS.lora_embedding_B) ?? null;
  if ((A === null) !== (B === null)) throw new DeptError(`${where}: holds ${A ? 'lora_embedding_A' : 'lora_embedding_B'} without ${A ? 'lora_embedding_B' : 'lora_embedding_A'}`);
  let r: number;
  let s: number;
  if (A && B) {
    if (A.shape.length !== 2 || B.shape.length !== 2) throw new DeptError(`${where}: lora_embedding_A ${fmt(A.shape)} and lora_embedding_B ${fmt(B.shape)} must be 2-D`);
    [s, r] = A.shape as [number, number];
    if (opts.r !== undefined && opts.r !== r) notes.push(`the source has rank ${r}; the requested r ${opts.r} is left to adaptBank`);
    const rCfg = num(cfg, 'r');
    const sCfg = num(cfg, 'max_length');
    if (rCfg !== undefined && rCfg !== r) throw new DeptError(`${where}: lora_embedding_A has shape ${fmt(A.shape)} but ${raw.configPath} says r ${rCfg}`);
    if (sCfg !== undefined && sCfg !== s) throw new DeptError(`${where}: lora_embedding_A has shape ${fmt(A.shape)} but ${raw.configPath} says max_length ${sCfg}`);
  } else {
    r = opts.r ?? (raw.format === 'dept' || raw.format === 'ours' ? (num(cfg, 'r') ?? 0) : 0);
    s = opts.max_length ?? num(cfg, 'max_length') ?? 256;
    if (!Number.isInteger(r) || r < 0) throw new DeptError(`importBank: r must be a non-negative integer, got ${r}`);
    if (r > 0) {
      const rng = opts.rng ?? new Rng(opts.seed ?? 0);
      A = kaimingUniformA(s, r, rng);
      B = { data: new Float32Array(r * d), shape: [r, d] };
      notes.push(`the source has a prompt only: added a fresh A [${s}, ${r}] (kaiming-uniform ±${(1 / Math.sqrt(r)).toPrecision(4)}) and B = 0 [${r}, ${d}], so A·B starts at 0`);
    } else if (raw.format !== 'ours') {
      notes.push('the source has a prompt only: imported as vanilla prompt tuning (r = 0)');
    }
  }

  const init = str(cfg, 'prompt_tuning_init');
  const input: BankConfigInput = {
    num_virtual_tokens: m,
    token_dim: d,
    max_length: s,
    r,
    lora_alpha: num(cfg, 'lora_alpha') ?? opts.lora_alpha ?? 8,
    num_attention_heads: num(cfg, 'num_attention_heads') ?? null,
    num_layers: num(cfg, 'num_layers') ?? null,
    prompt_tuning_init: init === 'TEXT' || init === 'SAMPLE_VOCAB' || init === 'RANDOM' ? (init as PromptTuningInit) : 'RANDOM',
    prompt_tuning_init_text: str(cfg, 'prompt_tuning_init_text'),
    base_model_name_or_path: str(cfg, 'base_model_name_or_path') ?? opts.base_model_name_or_path ?? null,
    tokenizer_name_or_path: str(cfg, 'tokenizer_name_or_path'),
    revision: str(cfg, 'revision'),
  };
  for (const flag of ['init_lora_weights', 'save_lora_embeddings', 'load_lora_embeddings', 'load_lora_embedding_B'] as const) {
    const v = cfg?.[flag];
    if (typeof v === 'boolean') input[flag] = v;
  }
  const hidden = num(cfg, 'hidden_size');
  if (hidden !== undefined) input.hidden_size = hidden;
  const config = makeBankConfig(input);
  const tensors = new Map<string, HostTensor>([[BANK_KEYS.prompt_embeddings, P]]);
  if (r > 0 && A && B) {
    tensors.set(BANK_KEYS.lora_embedding_A, A);
    tensors.set(BANK_KEYS.lora_embedding_B, B);
  }
  const bank = bankFromTensors(config, tensors, where);
  const stored = [...new Set(raw.dtypes.values())].filter((t) => t !== 'F32');
  if (stored.length > 0) notes.push(`converted ${stored.join(', ')} values to float32`);
  return { format: raw.format, bank, notes, weightsPath: raw.weightsPath };
}
