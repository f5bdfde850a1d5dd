/**
 * `manifest.json` of a pretraining folder: what was mixed and how, where each bank is, and how each task scores
 * on dev. `@dept/transfer` reads its `banks` field to find a bank by name (`runs/pretrain-sources#mnli`).
 */
import { join } from 'node:path';
import { DeptError, readJsonFile } from '@dept/core';
import type { TrainConfig } from '@dept/train';
import { SOURCE_MANIFEST_FILE } from '@dept/transfer';
import type { MixingKind } from './mixing.ts';

/** The `format` field of a pretraining manifest. */
export const PRETRAIN_MANIFEST_FORMAT = 'dept-pretrain';

/** Examples of one source task. */
export interface SourceExamples {
  /** Training examples mixed (after the limit). */
  train: number;
  dev: number;
  test: number;
  /** Training examples the data had before the limit. */
  available_train: number;
  /** The data folder and its layout. */
  folder: string;
  layout: string;
  /** `dept`, or which fallback cut train/dev/test. */
  split: string;
}

/** One trained bank. */
export interface StageSummary {
  /** The bank folder, relative to the pretraining folder. */
  bank: string;
  /** The trainer's run folder (checkpoints, metrics.jsonl, results.json), relative to the pretraining folder. */
  run: string;
  max_steps: number;
  selected_step: number;
  selection_metric: string;
  /** Dev and test metrics of the selected bank (the shared stage: `<task>_<metric>` and `average`). */
  dev: Record<string, number>;
  test: Record<string, number>;
}

/** The manifest. */
export interface PretrainManifest {
  format: typeof PRETRAIN_MANIFEST_FORMAT;
  version: 1;
  name: string;
  /** The frozen model folder, and whether its weights are random (numbers made with it are not T5's). */
  model: string;
  random_weights: boolean;
  data_dir: string | null;
  /** The source tasks mixed, in order (DePT names). */
  tasks: string[];
  /** Sources named in the recipe but not trained, and why. */
  skipped: { task: string; reason: string }[];
  examples: Record<string, SourceExamples>;
  mixing: { kind: MixingKind; cap: number | null; temperature: number | null; rates: Record<string, number> };
  steps: { shared: number; per_task: number };
  /** The resolved training config of the shared stage, and of the per-task stages (null without them). */
  train: TrainConfig;
  per_task_train: TrainConfig | null;
  /** Dev metrics of the shared bank, per task. */
  dev: Record<string, Record<string, number>>;
  /** Test metrics of the shared bank, per task (empty where a task has no test part). */
  test: Record<string, Record<string, number>>;
  shared: StageSummary;
  /** Per-task banks (continued from the shared bank on one task each). */
  per_task: Record<string, StageSummary>;
  /** Bank name → folder relative to the pretraining folder: `shared` and each per-task bank. */
  banks: Record<string, string>;
}

/**
 * Reads and checks `<dir>/manifest.json`.
 *
 * @example
 * const manifest = readPretrainManifest('runs/pretrain-sources');
 * manifest.mixing.rates; // { mnli: 0.25, qqp: 0.25, … }
 */
export function readPretrainManifest(dir: string): PretrainManifest {
  const path = join(dir, SOURCE_MANIFEST_FILE);
  const raw = readJsonFile<Record<string, unknown>>(path, 'a pretraining manifest');
  if (typeof raw !== 'object' || raw === null || raw.format !== PRETRAIN_MANIFEST_FORMAT) {
    throw new DeptError(`${path}: field "format" is ${JSON.stringify((raw as Record<string, unknown> | null)?.format)}, expected "${PRETRAIN_MANIFEST_FORMAT}"`);
  }
  if (raw.version !== 1) throw new DeptError(`${path}: field "version" is ${JSON.stringify(raw.version)}, expected 1`);
  for (const key of ['tasks', 'banks', 'mixing', 'examples', 'shared'] as const) {
    if (raw[key] === undefined || raw[key] === null) throw new DeptError(`${path}: field "${key}" is missing`);
  }
  return raw as unknown as PretrainManifest;
}
