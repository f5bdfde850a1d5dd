/**
 * Finding and reading prompt banks written by other projects, without Python: DePT checkpoints
 * (`adapter_config.json` + `adapter_model.bin`, a torch pickle read by the safe reader), ATTEMPT prompts (a
 * `*.pt` holding one tensor `[n, d]`), PEFT prompt-tuning adapters (`adapter_model.safetensors` with
 * `prompt_embeddings`), PEFT multitask prompt tuning (`prefix_task_cols`, `prefix_task_rows`) and our own bank
 * folders. This file only locates the files, reads them and normalises tensor names; `import.ts` builds banks.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { DeptError, readJsonFile } from '@dept/core';
import { type HostTensor, readSafetensors, readTorchFile } from '@dept/tensor';
import { BANK_CONFIG_FILE, BANK_KEYS, BANK_WEIGHTS_FILE } from '@dept/prompt';

/** Where a bank came from. */
export type BankFormat = 'dept' | 'peft' | 'peft-mpt' | 'attempt' | 'ours';

/** Normalised tensor names. */
export const MPT_KEYS = { cols: 'prefix_task_cols', rows: 'prefix_task_rows' } as const;

/** A bank's files as read, before any conversion. */
export interface RawBank {
  format: BankFormat;
  /** The weights file that was read. */
  weightsPath: string;
  /** `adapter_config.json` when there is one. */
  configPath: string | null;
  /** The parsed config, unvalidated (`null` without a config file). */
  config: Record<string, unknown> | null;
  /** Tensors under normalised names: `prompt_embeddings`, `prompt_encoder.lora_embedding_{A,B}`, `prefix_task_{cols,rows}`. */
  tensors: Map<string, HostTensor>;
  /** Stored dtype of each tensor (F32, F16, BF16, ...). */
  dtypes: Map<string, string>;
  /** What was guessed or left out while reading. */
  notes: string[];
}

const NAME_RULES: [RegExp, string][] = [
  [/(^|\.)prompt_embeddings$/, BANK_KEYS.prompt_embeddings],
  [/(^|\.)prompt_encoder(\.[A-Za-z0-9_]+)?\.embedding\.weight$/, BANK_KEYS.prompt_embeddings],
  [/(^|\.)lora_embedding_A$/, BANK_KEYS.lora_embedding_A],
  [/(^|\.)lora_embedding_B$/, BANK_KEYS.lora_embedding_B],
  [/(^|\.)prefix_task_cols$/, MPT_KEYS.cols],
  [/(^|\.)prefix_task_rows$/, MPT_KEYS.rows],
];

/** The normalised name of a stored tensor name, or null when it is not a bank tensor. */
export function normaliseTensorName(name: string): string | null {
  for (const [re, to] of NAME_RULES) if (re.test(name)) return to;
  return null;
}

function normalise(raw: Map<string, HostTensor>, rawDtypes: Map<string, string>, where: string, notes: string[]): { tensors: Map<string, HostTensor>; dtypes: Map<string, string> } {
  const tensors = new Map<string, HostTensor>();
  const dtypes = new Map<string, string>();
  for (const [name, t] of raw) {
    const to = normaliseTensorName(name);
    if (to === null) {
      notes.push(`ignored tensor "${name}" ${JSON.stringify(t.shape)} (not part of a prompt bank)`);
      continue;
    }
    if (tensors.has(to)) throw new DeptError(`${where}: two tensors map to "${to}" (the second is "${name}")`);
    tensors.set(to, t);
    dtypes.set(to, rawDtypes.get(name) ?? 'F32');
  }
  return { tensors, dtypes };
}

function weightsIn(dir: string): string {
  for (const f of [BANK_WEIGHTS_FILE, 'adapter_model.bin']) if (existsSync(join(dir, f))) return join(dir, f);
  const candidates = readdirSync(dir).filter((f) => /\.(pt|pth|bin|safetensors)$/.test(f));
  if (candidates.length === 1) return join(dir, candidates[0] as string);
  if (candidates.length === 0) {
    throw new DeptError(`${dir}: no bank weights found (expected ${BANK_WEIGHTS_FILE}, adapter_model.bin or one *.pt file)`);
  }
  throw new DeptError(`${dir}: holds several weight files (${candidates.join(', ')}); pass the one to import`);
}

function formatFromPeftType(peftType: unknown, configPath: string, weightsPath: string): BankFormat {
  const isTorch = !weightsPath.endsWith('.safetensors');
  switch (peftType) {
    case 'PROMPT_TUNING_LORA':
      return isTorch ? 'dept' : 'ours';
    case 'PROMPT_TUNING':
      return 'peft';
    case 'MULTITASK_PROMPT_TUNING':
      return 'peft-mpt';
    default:
      throw new DeptError(
        `${configPath}: peft_type ${JSON.stringify(peftType)} is not a prompt-tuning adapter (expected PROMPT_TUNING_LORA, PROMPT_TUNING or MULTITASK_PROMPT_TUNING)`,
      );
  }
}

/**
 * Locates and reads a bank in any supported format: a folder (with `adapter_config.json` and
 * `adapter_model.safetensors` or `adapter_model.bin`, or a single `*.pt`), or a weights file directly.
 *
 * @example
 * const raw = readRawBank('../shared/banks/dept-sst2');
 * raw.format;                                          // 'dept'
 * raw.tensors.get('prompt_encoder.lora_embedding_A')?.shape; // [256, 30]
 */
export function readRawBank(path: string): RawBank {
  if (!existsSync(path)) throw new DeptError(`${path}: not found`);
  const isDir = statSync(path).isDirectory();
  const weightsPath = isDir ? weightsIn(path) : path;
  const dir = dirname(weightsPath);
  const configCandidate = join(dir, BANK_CONFIG_FILE);
  // A config beside a file only counts for the adapter files it describes.
  const useConfig = existsSync(configCandidate) && (isDir || /^adapter_model\.(bin|safetensors)$/.test(basename(weightsPath)));
  const configPath = useConfig ? configCandidate : null;
  let config: Record<string, unknown> | null = null;
  if (configPath) {
    const parsed = readJsonFile<unknown>(configPath, 'the adapter config');
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new DeptError(`${configPath}: must be a JSON object`);
    config = parsed as Record<string, unknown>;
  }
  const notes: string[] = [];
  let format: BankFormat;
  let tensors: Map<string, HostTensor>;
  let dtypes: Map<string, string>;
  if (weightsPath.endsWith('.safetensors')) {
    const f = readSafetensors(weightsPath);
    const rawDtypes = new Map([...f.entries].map(([k, e]) => [k, e.dtype as string]));
    ({ tensors, dtypes } = normalise(f.tensors, rawDtypes, weightsPath, notes));
    if (config) format = formatFromPeftType(config.peft_type, configPath as string, weightsPath);
    else if (tensors.has(MPT_KEYS.cols)) format = 'peft-mpt';
    else if (tensors.has(BANK_KEYS.lora_embedding_A)) format = 'ours';
    else format = 'peft';
    if (!config) notes.push(`no ${BANK_CONFIG_FILE} beside ${basename(weightsPath)}: sizes are taken from the tensors`);
  } else {
    // Only the bank's tensors are read; the others are checked and named in a note.
    const f = readTorchFile(weightsPath, { singleTensorName: BANK_KEYS.prompt_embeddings, names: (n) => normaliseTensorName(n) !== null });
    for (const [name, e] of f.entries) if (!f.tensors.has(name)) notes.push(`ignored tensor "${name}" ${JSON.stringify(e.shape)} (not part of a prompt bank)`);
    if (f.kind === 'tensor') {
      format = 'attempt';
      tensors = f.tensors;
      dtypes = new Map([...f.dtypes].map(([k, v]) => [k, v as string]));
    } else {
      ({ tensors, dtypes } = normalise(f.tensors, new Map([...f.dtypes].map(([k, v]) => [k, v as string])), weightsPath, notes));
      if (f.skipped.length > 0) {
        const shown = f.skipped.slice(0, 10).join(', ');
        notes.push(`ignored non-tensor entries: ${shown}${f.skipped.length > 10 ? `, and ${f.skipped.length - 10} more` : ''}`);
      }
      if (config) format = formatFromPeftType(config.peft_type, configPath as string, weightsPath);
      else if (tensors.has(MPT_KEYS.cols)) format = 'peft-mpt';
      else if (tensors.has(BANK_KEYS.lora_embedding_A)) format = 'dept';
      else if (tensors.size === 1 && tensors.has(BANK_KEYS.prompt_embeddings)) format = 'attempt';
      else format = 'dept';
    }
  }
  if (!tensors.has(BANK_KEYS.prompt_embeddings)) {
    throw new DeptError(`${weightsPath}: holds no prompt (no "prompt_embeddings" tensor${notes.length ? `; ${notes.join('; ')}` : ''})`);
  }
  return { format, weightsPath, configPath, config, tensors, dtypes, notes };
}
