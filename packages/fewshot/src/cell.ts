/**
 * One cell of an experiment: a task, optionally k shots with a seed, trained and evaluated into its own run folder.
 * `dept train` is a single cell; `dept fewshot` runs a grid of them.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DeptError } from '@dept/core';
import { loadPretrainedT5, presetConfig, readT5Config, writeRandomT5, type PretrainedT5 } from '@dept/t5';
import type { Bank } from '@dept/prompt';
import { getTask, loadDeptDataset, subsample, type DataOrigin, type KshotSampler, type LayoutName } from '@dept/tasks';
import { checkModelLimits, derivedSeed, kshotTrainDefaults, resolveTrainConfig, taskEvaluation, trainPrompt, type TrainConfig, type TrainEvent, type TrainResults } from '@dept/train';

/** Where the frozen model comes from. */
export interface ModelSource {
  /** A Hugging Face T5 folder. */
  path: string;
  /** When `path` does not exist: write a random checkpoint there first (results are then labelled random). */
  init?: { preset: string; seed?: number; tokenizer?: string; sampleTexts?: readonly string[] };
}

/**
 * Loads the model folder, creating a random one first when asked and absent.
 *
 * @example
 * const pretrained = ensureModel({ path: '.dept-cache/models/mini', init: { preset: 'mini', seed: 0 } });
 */
export function ensureModel(source: ModelSource): PretrainedT5 {
  if (!existsSync(join(source.path, 'config.json'))) {
    if (!source.init) throw new DeptError(`${source.path}: no model here (config.json missing); give a Hugging Face T5 folder, or model.init to make a random one`);
    writeRandomT5(source.path, presetConfig(source.init.preset), {
      seed: source.init.seed ?? 0,
      ...(source.init.tokenizer ? { tokenizerDir: source.init.tokenizer } : { sampleTexts: source.init.sampleTexts ?? [] }),
    });
  } else {
    readT5Config(source.path);
  }
  const pretrained = loadPretrainedT5(source.path);
  if (!pretrained.tokenizer) throw new DeptError(`${source.path}: no tokenizer.json; training from text needs the model's tokenizer`);
  return pretrained;
}

/** Options of {@link runCell}. */
export interface CellOptions {
  pretrained: PretrainedT5;
  task: string;
  dataDir?: string;
  /** Read the task from the folder in this layout when several hold it (default: the first by layout priority). */
  layout?: LayoutName;
  /** LM-BFF k-shot layout: this `<k>-<seed>` folder (default: the seed's own). */
  subset?: string;
  /**
   * Evaluate on at most this many dev and this many test examples (default: all, as DePT): a subsample drawn with
   * seed 42 whatever the cell's seed, so every cell of a task is scored on the same rows, kept in their order.
   */
  maxEvalExamples?: number;
  /** k shots of the training split (omit for full data). */
  k?: number;
  /** The run's seed: k-shot sample and training (as DePT: one seed for both). */
  seed: number;
  sampler?: KshotSampler;
  addPrefix?: boolean;
  flavour?: 'dept' | 'official';
  /** Training fields; with `k`, those not given take the few-shot defaults of `kshotTrainDefaults` (1,000 steps, …). */
  train: Partial<TrainConfig>;
  outDir: string;
  initialBank?: Bank;
  resume?: boolean;
  overwrite?: boolean;
  describe?: Record<string, unknown>;
  onEvent?: (event: TrainEvent) => void;
  /** Notes about the data for the user (the folder read when several hold the task, rows labelled -1 left out). */
  log?: (line: string) => void;
  /** Warnings about the data for the user (a k-shot sample of fewer than k rows, and why). */
  warn?: (line: string) => void;
  stopAfterSteps?: number;
}

/** The seed of the dev and test subsamples of `maxEvalExamples` (DePT's split seed): the same rows for every cell. */
const EVAL_SUBSAMPLE_SEED = 42;

/**
 * The dev or test examples a run with `max_eval_examples` evaluates: at most `limit` of them, drawn with seed 42 for
 * the task and part whatever the run's seed, in their order (all of them without a limit).
 *
 * @example
 * evaluationSubsample(ds.test, 200, 'sst2', 'test').length; // 200 of SST-2's 872
 */
export function evaluationSubsample<T>(examples: readonly T[], limit: number | undefined, task: string, part: 'dev' | 'test'): T[] {
  return subsample(examples, limit, derivedSeed(EVAL_SUBSAMPLE_SEED, 'eval', task, part));
}

/**
 * Reads, splits, samples and formats the task, then trains and evaluates one run folder.
 *
 * @example
 * const results = await runCell({ pretrained, task: 'rte', k: 16, seed: 13, train: { max_steps: 100 }, outDir: 'runs/x/rte/k16/seed13' });
 */
export async function runCell(options: CellOptions): Promise<TrainResults> {
  const task = getTask(options.task);
  const trainConfig: Partial<TrainConfig> = options.k !== undefined ? { ...options.train, ...kshotTrainDefaults(options.train) } : options.train;
  // Sizes that do not fit the model are refused before the data is read (the trainer checks again).
  checkModelLimits(resolveTrainConfig({ seed: options.seed, ...trainConfig }), options.pretrained.config);
  const ds = await loadDeptDataset(task.name, {
    ...(options.dataDir ? { dataDir: options.dataDir } : {}),
    ...(options.layout ? { layout: options.layout } : {}),
    ...(options.subset ? { subset: options.subset } : {}),
    ...(options.k !== undefined ? { k: options.k } : {}),
    seed: options.seed,
    ...(options.sampler ? { sampler: options.sampler } : {}),
    ...(options.addPrefix !== undefined ? { addPrefix: options.addPrefix } : {}),
  });
  for (const note of ds.notes) options.log?.(note);
  for (const warning of ds.warnings) options.warn?.(warning);
  const train = ds.train.filter((e) => e.target !== '');
  const limit = options.maxEvalExamples;
  const dev = evaluationSubsample(ds.dev, limit, task.name, 'dev');
  const test = evaluationSubsample(ds.test, limit, task.name, 'test');
  const { choice } = ds.data;
  const origin: DataOrigin = { folder: choice.folder, layout: choice.layout, subset: choice.subset };
  const evaluation = taskEvaluation(task, options.flavour ?? 'dept');
  return trainPrompt({
    model: options.pretrained.model,
    tokenizer: options.pretrained.tokenizer!,
    data: { train, dev, test },
    evaluation,
    config: { seed: options.seed, ...trainConfig },
    outDir: options.outDir,
    ...(options.initialBank ? { initialBank: options.initialBank } : {}),
    ...(options.resume !== undefined ? { resume: options.resume } : {}),
    ...(options.overwrite !== undefined ? { overwrite: options.overwrite } : {}),
    describe: {
      task: task.name,
      k: options.k ?? null,
      seed: options.seed,
      sampler: options.sampler ?? 'dept',
      model: options.pretrained.dir,
      data_dir: options.dataDir ?? null,
      data: origin,
      ...(limit !== undefined ? { max_eval_examples: limit } : {}),
      kshot_indices: ds.kshot?.indices ?? null,
      ...(options.describe ?? {}),
    },
    randomWeights: options.pretrained.randomWeights,
    dataOrigin: origin,
    ...(options.onEvent ? { onEvent: options.onEvent } : {}),
    ...(options.stopAfterSteps !== undefined ? { stopAfterSteps: options.stopAfterSteps } : {}),
  });
}

/** Re-exported from `@dept/train`, where it lives (pretraining needs it too). */
export { taskEvaluation };
