/**
 * `inspectBank`: what a bank file holds, with float64 statistics per tensor, in any supported format.
 */
import { isDeptError } from '@dept/core';
import { type BankFormat, readRawBank } from './formats.ts';
import { importBank } from './import.ts';

/** Statistics of one tensor. */
export interface TensorSummary {
  shape: number[];
  /** Stored dtype (F32, F16, BF16, ...). */
  dtype: string;
  /** Sum over all elements, accumulated in float64. */
  sum: number;
  /** L2 norm, accumulated in float64. */
  l2: number;
  /** The first (up to) 4 values. */
  first: number[];
}

/** The result of {@link inspectBank}. */
export interface BankInspection {
  format: BankFormat;
  /** The weights file read. */
  path: string;
  /** The adapter config as stored, or null when there is none. */
  config: Record<string, unknown> | null;
  /** By normalised name: `prompt_embeddings`, `prompt_encoder.lora_embedding_A`, `prompt_encoder.lora_embedding_B`, `prefix_task_cols`, `prefix_task_rows`. */
  tensors: Record<string, TensorSummary>;
  notes: string[];
  /**
   * Why loading this bank (for training, scoring or conversion) is refused: the config and the tensors disagree,
   * a value is NaN, ... Empty when it loads.
   */
  problems: string[];
}

/**
 * Summarises a bank in any supported format without converting it, and says in `problems` why loading it would be
 * refused (its config and tensors disagree, a value is not finite).
 *
 * @example
 * const info = inspectBank('../shared/banks/dept-sst2');
 * info.format;                                  // 'dept'
 * info.tensors.prompt_embeddings.sum;           // 3532.1543227814...
 */
export function inspectBank(path: string): BankInspection {
  const raw = readRawBank(path);
  const tensors: Record<string, TensorSummary> = {};
  const notes = [...raw.notes];
  for (const [name, t] of raw.tensors) {
    let sum = 0;
    let sq = 0;
    let bad = 0;
    for (let i = 0; i < t.data.length; i++) {
      const v = t.data[i] as number;
      sum += v;
      sq += v * v;
      if (!Number.isFinite(v)) bad += 1;
    }
    tensors[name] = { shape: [...t.shape], dtype: raw.dtypes.get(name) ?? 'F32', sum, l2: Math.sqrt(sq), first: Array.from(t.data.subarray(0, 4)) };
    // Inspecting a damaged bank is allowed; loading it is not (readBank and importBank refuse non-finite values).
    if (bad > 0) notes.push(`tensor "${name}" holds ${bad} non-finite value${bad > 1 ? 's' : ''} (NaN or ±Infinity): loading this bank for training, scoring or conversion is refused`);
  }
  // The same checks as loading: inspecting a bank whose config and tensors disagree must say so.
  const problems: string[] = [];
  try {
    importBank(path);
  } catch (error) {
    if (!isDeptError(error)) throw error;
    problems.push(error.message);
  }
  return { format: raw.format, path: raw.weightsPath, config: raw.config, tensors, notes, problems };
}
