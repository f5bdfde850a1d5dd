/**
 * Multitask source pretraining: one shared decomposed prompt trained on a mixture of source tasks (batches drawn
 * by the mixing rates), then optionally one bank per task, continued from the shared bank on that task alone.
 *
 * Folder: `manifest.json` (written last), `banks/shared/`, `banks/<task>/`, and the trainer's run folders
 * `runs/shared/`, `runs/<task>/` (checkpoints, metrics.jsonl, results.json), and `.dept.json`, the record of these
 * names (`--overwrite` removes only what it lists; other files are kept). An interrupted pretraining resumes
 * stage by stage: finished stages are kept, the unfinished one continues from its checkpoint exactly.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { DeptError, FOLDER_RECORD_FILE, claimEntries, isDir, readFolderRecord, readJsonFile, removeRecordedEntries, writeJsonAtomic } from '@dept/core';
import type { PretrainedT5 } from '@dept/t5';
import { readBank, writeBank, type Bank } from '@dept/prompt';
import { resolveDataDir } from '@dept/tasks';
import { resolveTrainConfig, taskEvaluation, trainPrompt, type Evaluation, type TrainConfig, type TrainEvent, type TrainResults } from '@dept/train';
import { SOURCE_MANIFEST_FILE, DEFAULT_SOURCE_BANK } from '@dept/transfer';
import { mixtureEvaluation, metricsByTask, sharedLabels } from './evaluation.ts';
import { PRETRAIN_MANIFEST_FORMAT, readPretrainManifest, type PretrainManifest, type SourceExamples, type StageSummary } from './manifest.ts';
import { exampleWeights, mixingRates, type MixingOptions } from './mixing.ts';
import { hasSourceData, loadSourceTask, sourceTaskName, SOURCES_WITHOUT_READER, type SourceLimits, type SourceTask } from './sources.ts';

/** Progress of a pretraining. */
export type PretrainEvent =
  | { type: 'skip-source'; task: string; reason: string }
  | { type: 'note'; task: string; line: string }
  | { type: 'sources'; tasks: string[]; examples: Record<string, number>; rates: Record<string, number> }
  | { type: 'stage'; stage: string; tasks: string[]; maxSteps: number; finished: boolean }
  | { type: 'train'; stage: string; event: TrainEvent }
  | { type: 'done'; manifest: PretrainManifest };

/** Options of {@link runPretrain}. */
export interface PretrainOptions {
  /** The frozen model and its tokenizer (`loadPretrainedT5`, or `ensureModel` of `@dept/fewshot`). */
  pretrained: PretrainedT5;
  /** Source task names (DePT or Hugging Face spelling; `squad` is known but has no reader). */
  sources: readonly string[];
  dataDir?: string;
  /** Prefix sources with the task name (DePT `--add_prefix`). */
  addPrefix?: boolean;
  flavour?: 'dept' | 'official';
  mixing: MixingOptions;
  /** The shared stage's training config (`max_steps` = steps on the mixture). */
  train: Partial<TrainConfig>;
  /** Steps of each per-task continuation (0 or absent: no per-task banks). */
  perTaskSteps?: number;
  /** Overrides of `train` for the per-task stages (e.g. a shorter warm-up). */
  perTaskTrain?: Partial<TrainConfig>;
  /** Example limits per task (a seeded subsample of each part; `tasks.<name>` overrides): quick runs, tests. */
  limits?: SourceLimits;
  /** What to do with a source that has no data or no reader: `error` (default) or `skip` (recorded in the manifest). */
  missingData?: 'error' | 'skip';
  outDir: string;
  /** The name recorded in the manifest (default: the folder name). */
  name?: string;
  resume?: boolean;
  overwrite?: boolean;
  /** Extra fields for each stage's `config.resolved.json` (a recipe, say). */
  describe?: Record<string, unknown>;
  onEvent?: (event: PretrainEvent) => void;
  /** Stop (as if killed) after this many optimiser updates in this session, counted over all stages: for tests. */
  stopAfterSteps?: number;
}

/** Our folder entries; `--overwrite` removes those of them that the folder's record (`.dept.json`) lists. */
const OWN_ENTRIES = [SOURCE_MANIFEST_FILE, 'banks', 'runs'];

/** The kind of folder a pretraining folder's record names. */
const PRETRAIN_KIND = 'pretrain';

/** A pretraining folder written before folder records: it holds a readable pretraining manifest. */
function isLegacyPretrain(outDir: string): boolean {
  if (readFolderRecord(outDir) !== null || !existsSync(join(outDir, SOURCE_MANIFEST_FILE))) return false;
  try {
    readPretrainManifest(outDir);
    return true;
  } catch {
    return false;
  }
}

/**
 * A single task's evaluation: its metrics (×100) and selection metric, its labels when it has classes.
 *
 * @example
 * singleTaskEvaluation('qnli').selectionMetric; // 'accuracy'
 */
export function singleTaskEvaluation(name: string, flavour: 'dept' | 'official' = 'dept'): Evaluation {
  return taskEvaluation(name, flavour);
}

function prepareFolder(options: PretrainOptions): PretrainManifest | null {
  const { outDir } = options;
  if (!existsSync(outDir)) return null;
  if (!isDir(outDir)) throw new DeptError(`${outDir}: exists and is not a folder (expected a pretraining folder)`);
  const manifestPath = join(outDir, SOURCE_MANIFEST_FILE);
  const record = readFolderRecord(outDir);
  if (record && record.kind !== PRETRAIN_KIND) throw new DeptError(`${outDir}: is a dept ${record.kind} folder (${FOLDER_RECORD_FILE}), not a pretraining folder; choose another --out`);
  if (options.overwrite) {
    // Only what dept wrote goes; files of the same names that dept did not write are refused when claimed.
    if (record || isLegacyPretrain(outDir)) removeRecordedEntries(outDir, record ?? { written_by: 'dept', kind: PRETRAIN_KIND, entries: OWN_ENTRIES });
    return null;
  }
  if (existsSync(manifestPath)) {
    if (options.resume) return readPretrainManifest(outDir);
    throw new DeptError(`${outDir}: already holds a finished pretraining (${SOURCE_MANIFEST_FILE}); use --overwrite to replace it or another --out`);
  }
  const entries = readdirSync(outDir).filter((n) => !n.startsWith('.'));
  if (entries.length > 0 && !options.resume) {
    const ours = entries.every((n) => OWN_ENTRIES.includes(n));
    throw new DeptError(ours
      ? `${outDir}: holds an unfinished pretraining; use --resume to continue it or --overwrite to start again`
      : `${outDir}: is not empty (${entries.slice(0, 3).join(', ')}); use --overwrite or another --out`);
  }
  return null;
}

async function loadSources(options: PretrainOptions, seed: number, emit: (e: PretrainEvent) => void): Promise<{ sources: SourceTask[]; skipped: { task: string; reason: string }[] }> {
  if (options.sources.length === 0) throw new DeptError('sources: empty; expected at least one source task');
  const names: (string | null)[] = options.sources.map((s) => sourceTaskName(s));
  const seen = new Set<string>();
  options.sources.forEach((s, i) => {
    const key = names[i] ?? s.trim().toLowerCase();
    if (seen.has(key)) throw new DeptError(`sources: "${s}" is listed twice`);
    seen.add(key);
  });
  const skip = options.missingData === 'skip';
  const sources: SourceTask[] = [];
  const skipped: { task: string; reason: string }[] = [];
  for (let i = 0; i < options.sources.length; i++) {
    const name = names[i] ?? null;
    const given = options.sources[i] as string;
    let reason: string | null = null;
    if (name === null) reason = SOURCES_WITHOUT_READER[given.trim().toLowerCase()] ?? 'no reader';
    else if (!(await hasSourceData(name, options.dataDir))) reason = `no data under ${resolveDataDir(options.dataDir)}`;
    if (reason !== null) {
      if (!skip) throw new DeptError(`sources: ${given}: ${reason} (set missing_data: skip to train on the others)`);
      skipped.push({ task: name ?? given.trim().toLowerCase(), reason });
      emit({ type: 'skip-source', task: name ?? given, reason });
      continue;
    }
    const source = await loadSourceTask(name as string, {
      seed,
      ...(options.dataDir !== undefined ? { dataDir: options.dataDir } : {}),
      ...(options.addPrefix !== undefined ? { addPrefix: options.addPrefix } : {}),
      ...(options.limits ? { limits: options.limits } : {}),
    });
    for (const line of source.notes) emit({ type: 'note', task: source.task, line });
    sources.push(source);
  }
  if (sources.length === 0) throw new DeptError(`sources: none of ${options.sources.join(', ')} has data to train on`);
  return { sources, skipped };
}

function summary(stage: string, results: TrainResults): StageSummary {
  return {
    bank: `banks/${stage}`,
    run: `runs/${stage}`,
    max_steps: results.max_steps,
    selected_step: results.selected_step,
    selection_metric: results.selection_metric,
    dev: results.dev,
    test: results.test,
  };
}

/**
 * Trains the shared bank on the mixture of `sources` (and, with `perTaskSteps`, one bank per source), writes
 * `banks/` and `manifest.json` into `outDir`, and returns the manifest. With `resume`, finished stages are kept
 * and an unfinished one continues from its checkpoint; a finished folder is returned as it is.
 *
 * @example
 * const manifest = await runPretrain({
 *   pretrained, sources: ['mnli', 'qqp', 'qnli', 'sst2'], dataDir: '../shared/data/glue-pretrain',
 *   mixing: { kind: 'proportional', cap: 2 ** 19 }, train: { max_steps: 1000 }, perTaskSteps: 200, outDir: 'runs/pretrain-sources',
 * });
 * manifest.banks; // { shared: 'banks/shared', mnli: 'banks/mnli', … }
 */
export async function runPretrain(options: PretrainOptions): Promise<PretrainManifest> {
  const { pretrained, outDir } = options;
  const emit = (e: PretrainEvent) => options.onEvent?.(e);
  if (!pretrained.tokenizer) throw new DeptError(`${pretrained.dir}: no tokenizer.json; pretraining from text needs the model's tokenizer`);
  const tokenizer = pretrained.tokenizer;
  const perTaskSteps = options.perTaskSteps ?? 0;
  if (!Number.isInteger(perTaskSteps) || perTaskSteps < 0) throw new DeptError(`per_task_steps is ${perTaskSteps}, expected an integer ≥ 0`);
  const train = resolveTrainConfig(options.train, 'pretrain train');
  const perTaskTrain = perTaskSteps > 0 ? resolveTrainConfig({ ...options.train, ...(options.perTaskTrain ?? {}), max_steps: perTaskSteps }, 'pretrain per_task_train') : null;
  const flavour = options.flavour ?? 'dept';
  const name = options.name ?? (outDir.split(/[\\/]/).filter(Boolean).pop() ?? 'pretrain');
  mixingRates({ check: 1 }, options.mixing, 'mixing'); // bad mixing settings fail before any data is read

  const finished = prepareFolder(options);
  if (finished) {
    emit({ type: 'done', manifest: finished });
    return finished;
  }
  const { sources, skipped } = await loadSources(options, train.seed, emit);
  const adopt = isLegacyPretrain(outDir) || (options.resume && isDir(outDir) && readFolderRecord(outDir) === null);
  claimEntries(outDir, PRETRAIN_KIND, OWN_ENTRIES, { what: 'a pretraining folder', ...(adopt ? { adopt: OWN_ENTRIES } : {}) });
  const tasks = sources.map((s) => s.task);
  const counts: Record<string, number> = {};
  for (const s of sources) counts[s.task] = s.train.length;
  const rates = mixingRates(counts, options.mixing, 'mixing');
  emit({ type: 'sources', tasks, examples: counts, rates });
  if (train.predict === 'score' && !sharedLabels(tasks)) {
    throw new DeptError(`train.predict: "score" needs one label set but ${tasks.join(', ')} have different labels; use generate for a mixture`);
  }

  const mixTrain = sources.flatMap((s) => s.train);
  const mixDev = sources.flatMap((s) => s.dev);
  const mixTest = sources.flatMap((s) => s.test);
  const weights = exampleWeights(mixTrain.map((e) => e.task), rates);
  const mixing = { kind: options.mixing.kind, cap: options.mixing.cap ?? null, temperature: options.mixing.kind === 'temperature' ? (options.mixing.temperature ?? 1) : null };
  const common = {
    pretrain: name,
    model: pretrained.dir,
    data_dir: options.dataDir ?? null,
    add_prefix: options.addPrefix ?? false,
    flavour,
    limits: options.limits ?? null,
    ...(options.describe ?? {}),
  };

  let sessionSteps = 0;
  const stageEvents = (stage: string) => (event: TrainEvent) => {
    if (event.type === 'step') sessionSteps += 1;
    emit({ type: 'train', stage, event });
  };
  const remaining = () => (options.stopAfterSteps === undefined ? {} : { stopAfterSteps: Math.max(0, options.stopAfterSteps - sessionSteps) });

  /** Runs one stage into runs/<stage> (or reads its results when it already finished) and copies its bank. */
  const runStage = async (stage: string, run: () => Promise<TrainResults>, maxSteps: number, stageTasks: string[]): Promise<{ results: TrainResults; bank: Bank }> => {
    const runDir = join(outDir, 'runs', stage);
    const resultsPath = join(runDir, 'results.json');
    const done = existsSync(resultsPath) && existsSync(join(runDir, 'bank'));
    emit({ type: 'stage', stage, tasks: stageTasks, maxSteps, finished: done });
    const results = done ? readJsonFile<TrainResults>(resultsPath, 'the results of a finished stage') : await run();
    const bank = readBank(join(runDir, 'bank'));
    writeBank(join(outDir, 'banks', stage), bank);
    return { results, bank };
  };

  const shared = await runStage(DEFAULT_SOURCE_BANK, () => trainPrompt({
    model: pretrained.model,
    tokenizer,
    data: { train: mixTrain, dev: mixDev, test: mixTest },
    evaluation: mixtureEvaluation(tasks, flavour),
    config: train,
    outDir: join(outDir, 'runs', DEFAULT_SOURCE_BANK),
    sampleWeights: weights,
    resume: Boolean(options.resume),
    describe: { ...common, stage: DEFAULT_SOURCE_BANK, sources: tasks, skipped, examples: counts, mixing: { ...mixing, rates } },
    randomWeights: pretrained.randomWeights,
    onEvent: stageEvents(DEFAULT_SOURCE_BANK),
    ...remaining(),
  }), train.max_steps, tasks);

  const perTask: Record<string, StageSummary> = {};
  const banks: Record<string, string> = { [DEFAULT_SOURCE_BANK]: `banks/${DEFAULT_SOURCE_BANK}` };
  if (perTaskTrain) {
    for (const source of sources) {
      const { results } = await runStage(source.task, () => trainPrompt({
        model: pretrained.model,
        tokenizer,
        data: { train: source.train, dev: source.dev, test: source.test },
        evaluation: singleTaskEvaluation(source.task, flavour),
        config: perTaskTrain,
        outDir: join(outDir, 'runs', source.task),
        initialBank: shared.bank,
        resume: Boolean(options.resume),
        describe: { ...common, stage: source.task, task: source.task, from_bank: `banks/${DEFAULT_SOURCE_BANK}`, examples: source.train.length },
        randomWeights: pretrained.randomWeights,
        onEvent: stageEvents(source.task),
        ...remaining(),
      }), perTaskTrain.max_steps, [source.task]);
      perTask[source.task] = summary(source.task, results);
      banks[source.task] = `banks/${source.task}`;
    }
  }

  const examples: Record<string, SourceExamples> = {};
  for (const s of sources) {
    examples[s.task] = { train: s.train.length, dev: s.dev.length, test: s.test.length, available_train: s.availableTrain, folder: s.folder, layout: s.layout, split: s.split };
  }
  const manifest: PretrainManifest = {
    format: PRETRAIN_MANIFEST_FORMAT,
    version: 1,
    name,
    model: pretrained.dir,
    random_weights: pretrained.randomWeights,
    data_dir: options.dataDir ?? null,
    tasks,
    skipped,
    examples,
    mixing: { ...mixing, rates },
    steps: { shared: train.max_steps, per_task: perTaskSteps },
    train,
    per_task_train: perTaskTrain,
    dev: metricsByTask(shared.results.dev, tasks),
    test: metricsByTask(shared.results.test, tasks),
    shared: summary(DEFAULT_SOURCE_BANK, shared.results),
    per_task: perTask,
    banks,
  };
  writeJsonAtomic(join(outDir, SOURCE_MANIFEST_FILE), manifest);
  emit({ type: 'done', manifest });
  return manifest;
}
