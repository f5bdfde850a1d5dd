/**
 * Training checkpoints. `checkpoint/` holds the current bank, the best bank so far, the AdamW moments and a
 * `state.json` (step, best metric, running log sums, elapsed time). It is written as a whole into a temporary
 * sibling folder and renamed into place, so a kill at any moment leaves either the old or the new checkpoint,
 * never a mix; `checkpoint.old` covers the instant between the two renames.
 */
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { DeptError, environmentError, fsyncDir, isDir, readJsonFile, removeStaleTemporaries as removeCoreTemporaries, temporaryWriterGone, writeJsonAtomic } from '@dept/core';
import { readCheckpoint, writeSafetensors, type HostTensor } from '@dept/tensor';
import { readBank, writeBank, type Bank } from '@dept/prompt';

/** What `state.json` records. */
export interface CheckpointState {
  /** Optimiser updates done. */
  step: number;
  best: { metric: string; value: number; step: number } | null;
  /** Loss sum and count since the last log line. */
  logLossSum: number;
  logLossCount: number;
  /** Wall seconds spent before this checkpoint (over all sessions). */
  elapsedSeconds: number;
  /** How randomness is derived: data order and dropout are pure functions of (seed, step). */
  rng: { scheme: 'derived-per-step'; seed: number };
}

/** A loaded checkpoint. */
export interface LoadedCheckpoint {
  state: CheckpointState;
  bank: Bank;
  bestBank: Bank | null;
  /** Moments by parameter name (`prompt_embeddings`, `lora_embedding_A`, `lora_embedding_B`). */
  moments: Map<string, { m: Float32Array; v: Float32Array }>;
}

export const CHECKPOINT_DIR = 'checkpoint';

/** Path of the checkpoint folder of a run, recovering from a kill between the two renames. */
export function checkpointPath(runDir: string): string | null {
  const dir = join(runDir, CHECKPOINT_DIR);
  if (existsSync(join(dir, 'state.json'))) return dir;
  const old = `${dir}.old`;
  if (existsSync(join(old, 'state.json'))) return old;
  return null;
}

/**
 * Writes a checkpoint atomically.
 *
 * @example
 * saveCheckpoint(runDir, { state, bank, bestBank, moments });
 */
export function saveCheckpoint(runDir: string, checkpoint: LoadedCheckpoint): void {
  const final = join(runDir, CHECKPOINT_DIR);
  const tmp = join(runDir, `${CHECKPOINT_DIR}.tmp-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  try {
    mkdirSync(tmp, { recursive: true });
    writeBank(join(tmp, 'bank'), checkpoint.bank);
    if (checkpoint.bestBank) writeBank(join(tmp, 'best'), checkpoint.bestBank);
    const tensors = new Map<string, HostTensor>();
    for (const [name, { m, v }] of checkpoint.moments) {
      tensors.set(`${name}.exp_avg`, { data: m, shape: [m.length] });
      tensors.set(`${name}.exp_avg_sq`, { data: v, shape: [v.length] });
    }
    writeSafetensors(join(tmp, 'optimizer.safetensors'), tensors, { format: 'pt', step: String(checkpoint.state.step) });
    writeJsonAtomic(join(tmp, 'state.json'), checkpoint.state);
    fsyncDir(tmp);
  } catch (error) {
    // A full or read-only disk: the half-written checkpoint goes, the last whole one stays.
    rmSync(tmp, { recursive: true, force: true });
    throw environmentError(error, final, 'write the checkpoint') ?? error;
  }
  const old = `${final}.old`;
  // After a kill between the two renames, `checkpoint.old` is the only checkpoint: keep it until the new one is in place.
  if (existsSync(final)) {
    discard(old, `${tmp}-old`);
    renameSync(final, old);
  }
  renameSync(tmp, final);
  fsyncDir(runDir);
  discard(old, tmp);
}

/** Removes a folder without ever leaving it half-deleted under its own name: renamed to `trash` first. */
function discard(dir: string, trash: string): void {
  if (!existsSync(dir)) return;
  rmSync(trash, { recursive: true, force: true });
  renameSync(dir, trash);
  rmSync(trash, { recursive: true, force: true });
}

/**
 * Removes what killed writers left in a folder: `checkpoint.tmp-<pid>[-old]` folders and the hidden temporary
 * siblings of atomic writes (`.<name>.tmp-<pid>-<hex>`, ...; see `removeStaleTemporaries` in @dept/core) whose
 * writer is gone (a live writer's temporaries are left alone). Returns the names removed.
 *
 * @example
 * removeStaleRunTemporaries('runs/rte'); // ['checkpoint.tmp-4242', '.results.json.tmp-4242-9f3a01bc']
 */
export function removeStaleRunTemporaries(runDir: string): string[] {
  if (!isDir(runDir)) return [];
  const stale = readdirSync(runDir).filter((n) => {
    const m = /^checkpoint\.tmp-(\d+)(-old)?$/.exec(n);
    return m !== null && temporaryWriterGone(join(runDir, n), Number(m[1]));
  });
  for (const name of stale) rmSync(join(runDir, name), { recursive: true, force: true });
  return [...stale, ...removeCoreTemporaries(runDir)];
}

/** Reads the run's checkpoint, or null when there is none. */
export function loadCheckpoint(runDir: string): LoadedCheckpoint | null {
  const dir = checkpointPath(runDir);
  if (!dir) return null;
  const state = readJsonFile<CheckpointState>(join(dir, 'state.json'), 'a checkpoint state');
  if (typeof state.step !== 'number' || !Number.isInteger(state.step) || state.step < 0) {
    throw new DeptError(`${join(dir, 'state.json')}: field "step" is ${JSON.stringify(state.step)}, expected a non-negative integer`);
  }
  const bank = readBank(join(dir, 'bank'));
  const bestBank = existsSync(join(dir, 'best')) ? readBank(join(dir, 'best')) : null;
  const { tensors } = readCheckpoint(join(dir, 'optimizer.safetensors'));
  const moments = new Map<string, { m: Float32Array; v: Float32Array }>();
  for (const [key, t] of tensors) {
    const match = /^(.*)\.(exp_avg|exp_avg_sq)$/.exec(key);
    if (!match) continue;
    const name = match[1] as string;
    const slot = moments.get(name) ?? { m: new Float32Array(0), v: new Float32Array(0) };
    if (match[2] === 'exp_avg') slot.m = t.data;
    else slot.v = t.data;
    moments.set(name, slot);
  }
  return { state, bank, bestBank, moments };
}
