/**
 * What `dept eval` and `dept predict` share: the flags of how predictions are made, the model reference (a folder,
 * or a hub id fetched with `dept model fetch`), and opening the model and the bank together, with the settings of a
 * finished run as defaults when the bank is a run's.
 */
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { DeptError } from '@dept/core';
import type { EvaluateBankOptions, OpenedBank, PredictionSettings } from '@dept/fewshot';
import type { PretrainedT5 } from '@dept/t5';
import { intOption } from '../options.ts';

/** The flags both commands take. */
export interface UseFlags {
  model?: string;
  bank: string;
  task?: string;
  predict?: string;
  maxLength?: string;
  batchSize?: string;
  maxNewTokens?: string;
  padToMaxLength?: boolean;
  addPrefix?: boolean;
}

/** Adds the flags of {@link UseFlags} to a command. */
export function addUseFlags(cmd: Command): Command {
  return cmd
    .option('--model <dir|repo>', 'Hugging Face T5 folder, or a hub id fetched with dept model fetch (default: the model of the run the bank comes from)')
    .requiredOption('--bank <ref>', 'a bank folder or file (ours, DePT .bin, ATTEMPT .pt, PEFT), a run folder, <pretraining folder>#<name>, or a hub id fetched with dept bank fetch (org/name[@revision]) (required)')
    .option('--task <name>', "the task, DePT or HF name (default: the run's; required for a bank that is not a run's)")
    .option('--predict <mode>', "generate (greedy, as DePT) | score (most likely label string) (default: the run's, else generate)")
    .option('--max-length <n>', "s: inputs truncated to n tokens (default: the run's, else the bank's max_length)")
    .option('--batch-size <n>', "examples per batch (default: the run's eval_batch_size, else 32)")
    .option('--max-new-tokens <n>', "generate: new tokens at most (default: the run's, else 20)")
    .option('--pad-to-max-length', "pad every input to s as DePT's code does (default: the run's, else off)")
    .option('--add-prefix', "prefix each input with the task name, DePT's add_prefix (default: the run's, else off)");
}

/**
 * The model folder a `--model` value names: an existing folder, else the cached snapshot of a hub id (`org/name`,
 * `org/name@revision`, `t5-base`) fetched earlier. `from` says where the value came from, for the message.
 */
export async function resolveModelDir(ref: string, from = '--model'): Promise<string> {
  if (existsSync(ref)) return ref;
  const at = ref.indexOf('@');
  const repo = at < 0 ? ref : ref.slice(0, at);
  const revision = at < 0 ? 'main' : ref.slice(at + 1);
  const { cachedT5Model } = await import('@dept/t5');
  const cached = revision ? cachedT5Model(repo, { revision }) : null;
  if (cached) return cached;
  const { hubCacheDir } = await import('@dept/hub');
  throw new DeptError(`${from} ${ref}: no such folder, and no model ${ref} fetched into the hub cache (${hubCacheDir()}); give a Hugging Face T5 folder, or fetch it first: dept model fetch ${repo}${at < 0 ? '' : ` --revision ${revision}`}`);
}

/** The prediction settings the flags give explicitly (each overrides the run's). */
export function explicitSettings(flags: UseFlags): PredictionSettings {
  const int = (v: string | undefined, flag: string, min: number) => (v === undefined ? undefined : intOption(v, flag, { min }));
  if (flags.predict !== undefined && flags.predict !== 'generate' && flags.predict !== 'score') {
    throw new DeptError(`--predict is "${flags.predict}", expected generate or score`);
  }
  const out: PredictionSettings = {};
  const maxLength = int(flags.maxLength, '--max-length', 1);
  const batchSize = int(flags.batchSize, '--batch-size', 1);
  const maxNewTokens = int(flags.maxNewTokens, '--max-new-tokens', 1);
  if (flags.predict !== undefined) out.predict = flags.predict;
  if (maxLength !== undefined) out.maxLength = maxLength;
  if (batchSize !== undefined) out.batchSize = batchSize;
  if (maxNewTokens !== undefined) out.maxNewTokens = maxNewTokens;
  if (flags.padToMaxLength) out.padToMaxLength = true;
  if (flags.addPrefix) out.addPrefix = true;
  return out;
}

/** What a bank's run sets when the flags do not (empty for a bank that is not a run's). */
export type RunDefaults = Partial<Omit<EvaluateBankOptions, 'pretrained' | 'bank'>>;

/** The task from `--task`, else the run's; an error naming both when there is neither. */
export function taskOf(flags: UseFlags, defaults: RunDefaults): string {
  const task = flags.task ?? defaults.task;
  if (!task) throw new DeptError(`--task is required: ${flags.bank} is not a run folder that records its task`);
  return task;
}

/**
 * Opens the model and the bank: the bank's run (when it is one) gives the default model and, in `defaults`, the
 * evaluation settings (`runEvaluationDefaults`). The bank is checked against the model's config before any weight
 * is loaded. The caller disposes `pretrained.model`.
 */
export async function openModelAndBank(flags: UseFlags): Promise<{ pretrained: PretrainedT5; opened: OpenedBank; defaults: RunDefaults }> {
  const { openBank, readRunSettings, runEvaluationDefaults, runFolderOf } = await import('@dept/fewshot');
  const runDir = runFolderOf(flags.bank);
  const run = runDir === null ? null : readRunSettings(runDir);
  const defaults: RunDefaults = run ? runEvaluationDefaults(run) : {};
  const modelRef = flags.model ?? run?.model;
  if (!modelRef) throw new DeptError(`--model is required: ${flags.bank} is not a run folder that records its model`);
  const modelDir = await resolveModelDir(modelRef, flags.model ? '--model' : `${runDir}/config.resolved.json: model`);
  const { loadPretrainedT5, readT5Config } = await import('@dept/t5');
  const maxLength = explicitSettings(flags).maxLength ?? defaults.maxLength;
  const opened = openBank(flags.bank, { dir: modelDir, config: readT5Config(modelDir) }, maxLength === undefined ? {} : { maxLength });
  const { initBackend } = await import('@dept/tensor');
  await initBackend({ announce: true });
  return { pretrained: loadPretrainedT5(modelDir), opened, defaults };
}

/** One line that says what was opened (stderr). */
export function describeOpened(pretrained: PretrainedT5, opened: OpenedBank, ref: string): string {
  const c = opened.bank.config;
  const run = opened.run ? `, the selected bank of the run ${opened.run.dir}` : '';
  return `bank ${ref} (${opened.format}: m ${c.num_virtual_tokens}, d ${c.token_dim}, s ${c.max_length}, r ${c.r}${run}); model ${pretrained.dir}${pretrained.randomWeights ? ' (random weights)' : ''}`;
}

/** The project's marker for numbers made with random weights. */
export const RANDOM_WEIGHTS_MARK = 'RANDOM WEIGHTS — not a result';
