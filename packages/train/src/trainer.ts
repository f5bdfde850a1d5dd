/**
 * The DePT training loop on a frozen T5: AdamW with two parameter groups (P at `lr`, A and B at `lora_lr`), linear
 * warm-up and decay, global gradient clipping, dropout on the frozen model, evaluation on dev every `eval_steps`
 * with best-on-dev selection, the selected bank evaluated once on test, and checkpoints that resume exactly.
 *
 * Run folder: `config.resolved.json`, `metrics.jsonl`, `results.json`, `bank/`, `predictions.jsonl`,
 * `checkpoint/`, `.dept.json` (the record of these names: `--overwrite` removes only what it lists), `.lock` while
 * running. Other files in the folder are never touched.
 */
import { appendFileSync, closeSync, existsSync, fsyncSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  DeptError, FOLDER_RECORD_FILE, Rng, claimEntries, environmentError, firstDifference, forgetUnusedFolder, nextTurn, readFolderRecord, readJsonFile,
  removeRecordedEntries, sortKeysDeep, writeFileAtomic, writeJsonAtomic, type ProgressEvent,
} from '@dept/core';
import { currentBackend, initBackend, type HostTensor } from '@dept/tensor';
import type { T5ForConditionalGeneration, T5Tokenizer } from '@dept/t5';
import type { DataOrigin } from '@dept/tasks';
import { DecomposedPrompt, initPromptValues, makeBankConfig, type Bank, type DecomposedPromptShape } from '@dept/prompt';
import { batchIndices, cumulativeWeights, derivedSeed, weightedBatchIndices } from './batches.ts';
import { checkpointPath, loadCheckpoint, removeStaleRunTemporaries, saveCheckpoint, type CheckpointState } from './checkpoint.ts';
import { checkModelLimits, maxInputPositions, resolveTrainConfig, withoutMemorySettings, type TrainConfig } from './config.ts';
import { predict, type TextExample } from './evaluate.ts';
import { linearWarmupDecay } from './schedule.ts';
import { acquireRunLock } from './runlock.ts';
import { encodeExamples, PARAM_NAMES, promptStep, targetLengthFor, type PromptOptimiser } from './step.ts';

/** How predictions are scored: the caller supplies the task's metrics (values ×100). */
export interface Evaluation {
  /** Metrics of predictions against the examples' targets, e.g. `{ accuracy: 75 }` (examples keep any extra fields
   * of the caller's example type, such as MultiRC question groups). */
  metrics: (predictions: string[], examples: readonly TextExample[]) => Record<string, number>;
  /** The metric that selects the best bank on dev (greater is better, as DePT forces). */
  selectionMetric: string;
  /** Label strings (needed for `predict: 'score'`). */
  labels?: readonly string[];
}

/** The phases of the evaluations a run makes: dev every `eval_steps`, the selected bank on dev again, then test. */
export type EvaluationPhase = 'dev' | 'selected dev' | 'test';

/**
 * Progress events for displays. `epoch` is HF Trainer's, a float: optimiser steps done / steps per epoch (the same
 * number `metrics.jsonl` records). `progress` comes after each batch of an evaluation (and once with 0 before the
 * first), `step` being the training step the evaluated bank is from.
 */
export type TrainEvent =
  | { type: 'start'; step: number; maxSteps: number; resumed: boolean; trainExamples: number; trainableParameters: number }
  | { type: 'step'; step: number; maxSteps: number; loss: number; learningRate: number; loraLearningRate: number; epoch: number }
  | { type: 'progress'; step: number; progress: ProgressEvent & { phase: EvaluationPhase } }
  | { type: 'log'; record: Record<string, number> }
  | { type: 'eval'; step: number; metrics: Record<string, number>; best: boolean }
  | { type: 'checkpoint'; step: number }
  | { type: 'done'; results: TrainResults };

/** What `results.json` holds. */
export interface TrainResults {
  dev: Record<string, number>;
  test: Record<string, number>;
  selected_step: number;
  selection_metric: string;
  max_steps: number;
  wall_seconds: number;
  backend: string;
  predict: TrainConfig['predict'];
  random_weights: boolean;
  train_examples: number;
  dev_examples: number;
  test_examples: number;
  /** Where the examples came from (the data folder, relative to the data directory, and its layout), when the caller said. */
  data?: DataOrigin;
}

/** Options of {@link trainPrompt}. */
export interface TrainOptions {
  model: T5ForConditionalGeneration;
  tokenizer: T5Tokenizer;
  data: { train: readonly TextExample[]; dev: readonly TextExample[]; test: readonly TextExample[] };
  evaluation: Evaluation;
  config: Partial<TrainConfig>;
  outDir: string;
  /** Start from this bank instead of initialising P, A, B (shapes must match the config). */
  initialBank?: Bank;
  resume?: boolean;
  overwrite?: boolean;
  /** Extra fields for `config.resolved.json` (task, model path, data, ...). */
  describe?: Record<string, unknown>;
  /** Whether the model has random weights (recorded in results so reports can say so). */
  randomWeights?: boolean;
  /** Where the examples came from, recorded in `results.json` as `data`. */
  dataOrigin?: DataOrigin;
  onEvent?: (event: TrainEvent) => void;
  /**
   * Sample each batch with replacement from these per-training-example weights (a multitask mixture) instead of
   * shuffled epochs. Same length as `data.train`.
   */
  sampleWeights?: readonly number[];
  /** Stop (as if killed) after this many optimiser updates in this session: for tests of resume. */
  stopAfterSteps?: number;
}

/** Thrown when `stopAfterSteps` ends a session early (tests of resume use it as a clean "kill"). */
export class TrainingStopped extends Error {
  readonly step: number;
  constructor(step: number) {
    super(`training stopped after step ${step} (stopAfterSteps)`);
    this.name = 'TrainingStopped';
    this.step = step;
  }
}

function jsonLine(value: unknown): string {
  return `${JSON.stringify(value)}\n`;
}

/** The kind of folder a run folder's record (`.dept.json`) names. */
export const RUN_KIND = 'run';

/** Every entry a run writes in its folder (besides `.lock` and temporaries): `--overwrite` removes only these. */
export const RUN_ENTRIES: readonly string[] = ['config.resolved.json', 'metrics.jsonl', 'results.json', 'predictions.jsonl', 'bank', 'checkpoint', 'checkpoint.old'];

/** A run folder written before folder records: its `config.resolved.json` is an object with a `train` field. */
function isLegacyRun(dir: string): boolean {
  try {
    const value = JSON.parse(readFileSync(join(dir, 'config.resolved.json'), 'utf8')) as unknown;
    return typeof value === 'object' && value !== null && typeof (value as { train?: unknown }).train === 'object';
  } catch {
    return false;
  }
}

/** Appends one line to metrics.jsonl and flushes it to disk. */
function appendMetrics(path: string, record: Record<string, unknown>): void {
  try {
    appendFileSync(path, jsonLine(record));
    const fd = openSync(path, 'r+');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    throw environmentError(error, path, 'append to') ?? error;
  }
}

/** Keeps only complete metric lines up to `step` (after a resume, later lines are replayed). */
function truncateMetrics(path: string, step: number): void {
  if (!existsSync(path)) return;
  const kept: string[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      const rec = JSON.parse(line) as { step?: number };
      if (typeof rec.step === 'number' && rec.step <= step) kept.push(line);
    } catch {
      // a half-written last line from a kill: dropped
    }
  }
  writeFileAtomic(path, kept.map((l) => `${l}\n`).join(''));
}

function bankFromValues(config: TrainConfig, modelDim: number, values: { prompt_embeddings: HostTensor; lora_embedding_A: HostTensor | null; lora_embedding_B: HostTensor | null }, extra: { base?: string | null }): Bank {
  return {
    config: makeBankConfig({
      num_virtual_tokens: config.num_virtual_tokens,
      token_dim: modelDim,
      max_length: config.max_length,
      r: config.r,
      lora_alpha: config.lora_alpha,
      prompt_tuning_init: config.prompt_init,
      prompt_tuning_init_text: config.prompt_init === 'TEXT' ? config.prompt_init_text : null,
      base_model_name_or_path: extra.base ?? null,
    }),
    prompt_embeddings: values.prompt_embeddings,
    lora_embedding_A: values.lora_embedding_A,
    lora_embedding_B: values.lora_embedding_B,
  };
}

/**
 * Trains a decomposed prompt for one task and writes the run folder. Returns the results (also in
 * `results.json`).
 *
 * @example
 * const results = await trainPrompt({ model, tokenizer, data: { train, dev, test }, evaluation, config: { max_steps: 200 }, outDir: 'runs/rte' });
 */
export async function trainPrompt(options: TrainOptions): Promise<TrainResults> {
  const config = resolveTrainConfig(options.config);
  const { model, outDir } = options;
  const { train, dev, test } = options.data;
  if (train.length === 0) throw new DeptError(`${outDir}: the training split is empty`);
  if (dev.length === 0) throw new DeptError(`${outDir}: the dev split is empty (best-on-dev selection needs it)`);
  if (config.predict === 'score' && !options.evaluation.labels?.length) {
    throw new DeptError(`${outDir}: predict "score" needs the task's label strings`);
  }
  const d = model.config.d_model;
  checkModelLimits(config, model.config);
  await initBackend();
  const existed = existsSync(outDir);
  const release = acquireRunLock(outDir);
  let failed = false;
  try {
    return await trainLocked(options, config, d, train, dev, test);
  } catch (error) {
    failed = true;
    throw error;
  } finally {
    release();
    // A run refused or failed (a full disk, say) before it wrote anything leaves no folder behind.
    if (failed && !existed) forgetUnusedFolder(outDir, null);
  }
}

async function trainLocked(
  options: TrainOptions, config: TrainConfig, d: number,
  train: readonly TextExample[], dev: readonly TextExample[], test: readonly TextExample[],
): Promise<TrainResults> {
  const { model, tokenizer, outDir } = options;
  const resultsPath = join(outDir, 'results.json');
  const metricsPath = join(outDir, 'metrics.jsonl');
  const resolvedPath = join(outDir, 'config.resolved.json');
  const resolved = sortKeysDeep({ ...(options.describe ?? {}), train: config }) as Record<string, unknown>;

  // Under the lock nobody else writes here: half-written temporaries are from killed processes.
  removeStaleRunTemporaries(outDir);
  // What is already in the folder decides between a fresh start, a resume and a refusal. dept replaces or removes
  // only what its record (.dept.json) says it wrote here; anything else in the folder is left alone.
  const record = readFolderRecord(outDir);
  if (record && record.kind !== RUN_KIND) throw new DeptError(`${outDir}: is a dept ${record.kind} folder (${FOLDER_RECORD_FILE}), not a run folder; choose another --out`);
  const legacy = record === null && isLegacyRun(outDir);
  const existing = checkpointPath(outDir);
  const finished = existsSync(resultsPath);
  if (finished || existing) {
    if (options.overwrite) {
      if (!record && !legacy) {
        throw new DeptError(`${outDir}: holds ${finished ? 'results.json' : 'checkpoint/'} but no record that dept wrote it (${FOLDER_RECORD_FILE}) and no config.resolved.json; not replacing files dept did not write: move them away or choose another --out`);
      }
      removeRecordedEntries(outDir, record ?? { written_by: 'dept', kind: RUN_KIND, entries: [...RUN_ENTRIES] });
    } else if (finished) {
      throw new DeptError(`${outDir}: already holds a finished run (results.json); use --overwrite to replace it or another --out`);
    } else if (!options.resume) {
      throw new DeptError(`${outDir}: holds an unfinished run (checkpoint); use --resume to continue it or --overwrite to start again`);
    }
  } else if (!options.overwrite && !options.resume) {
    const ours = new Set(record?.entries ?? (legacy ? RUN_ENTRIES : []));
    const stray = readdirSync(outDir).filter((n) => !n.startsWith('.') && !ours.has(n));
    if (stray.length > 0) {
      throw new DeptError(`${outDir}: is not empty (${stray.slice(0, 3).join(', ')}); use --overwrite to write the run beside them (they are kept) or another --out`);
    }
  }
  // Record what the run writes before writing it; refused when one of those names is someone else's file.
  claimEntries(outDir, RUN_KIND, RUN_ENTRIES, { what: 'a run folder', ...(legacy || (options.resume && existing) ? { adopt: RUN_ENTRIES } : {}) });
  const loaded = options.resume ? loadCheckpoint(outDir) : null;
  if (loaded && existsSync(resolvedPath)) {
    const before = readJsonFile<Record<string, unknown>>(resolvedPath, 'the resolved config');
    const diff = firstDifference(withoutMemorySettings(before), withoutMemorySettings(resolved));
    if (diff) throw new DeptError(`${outDir}: cannot resume: the setting "${diff}" differs from the checkpointed run (config.resolved.json)`);
  }
  writeJsonAtomic(resolvedPath, resolved);

  const shape: DecomposedPromptShape = {
    num_virtual_tokens: config.num_virtual_tokens, token_dim: d, max_length: config.max_length, r: config.r, lora_alpha: config.lora_alpha,
  };
  let startValues: Bank;
  if (loaded) {
    startValues = loaded.bank;
  } else if (options.initialBank) {
    const b = options.initialBank.config;
    if (b.num_virtual_tokens !== config.num_virtual_tokens || b.r !== config.r || b.max_length !== config.max_length || b.token_dim !== d) {
      throw new DeptError(`initial bank has m ${b.num_virtual_tokens}, r ${b.r}, s ${b.max_length}, d ${b.token_dim}; the run needs m ${config.num_virtual_tokens}, r ${config.r}, s ${config.max_length}, d ${d} (adapt it with transfer first)`);
    }
    startValues = { ...options.initialBank, config: { ...options.initialBank.config, lora_alpha: config.lora_alpha } };
  } else {
    const values = await initPromptValues({
      shape, method: config.prompt_init, rng: new Rng(derivedSeed(config.seed, 'init')), model, tokenizer, initText: config.prompt_init_text,
    });
    startValues = bankFromValues(config, d, values, {});
  }
  const prompt = DecomposedPrompt.fromHost(shape, startValues);
  const host = new Map<string, Float32Array>();
  const names = [PARAM_NAMES[0], ...(config.r > 0 ? [PARAM_NAMES[1], PARAM_NAMES[2]] : [])];
  host.set('prompt_embeddings', new Float32Array(startValues.prompt_embeddings.data));
  if (config.r > 0) {
    host.set('lora_embedding_A', new Float32Array((startValues.lora_embedding_A as HostTensor).data));
    host.set('lora_embedding_B', new Float32Array((startValues.lora_embedding_B as HostTensor).data));
  }
  const moments = new Map<string, { m: Float32Array; v: Float32Array }>();
  for (const name of names) {
    const n = (host.get(name) as Float32Array).length;
    const saved = loaded?.moments.get(name);
    if (saved && saved.m.length === n && saved.v.length === n) moments.set(name, { m: new Float32Array(saved.m), v: new Float32Array(saved.v) });
    else if (loaded) throw new DeptError(`${outDir}/checkpoint/optimizer.safetensors: moments of "${name}" are missing or have the wrong size (expected ${n})`);
    else moments.set(name, { m: new Float32Array(n), v: new Float32Array(n) });
  }

  const state: CheckpointState = loaded?.state ?? {
    step: 0, best: null, logLossSum: 0, logLossCount: 0, elapsedSeconds: 0, rng: { scheme: 'derived-per-step', seed: config.seed },
  };
  let bestBank: Bank | null = loaded?.bestBank ?? null;
  if (loaded) truncateMetrics(metricsPath, state.step);
  else if (existsSync(metricsPath)) rmSync(metricsPath);

  const encoded = encodeExamples(tokenizer, train, config.max_length, targetLengthFor(config, tokenizer, train, maxInputPositions(model.config.num_heads)));
  const optimiser: PromptOptimiser = { names, host, moments };
  const trainableParameters = names.reduce((a, n) => a + (host.get(n) as Float32Array).length, 0);
  options.onEvent?.({ type: 'start', step: state.step, maxSteps: config.max_steps, resumed: Boolean(loaded), trainExamples: train.length, trainableParameters });

  const sessionStart = Date.now();
  const elapsed = () => state.elapsedSeconds + (Date.now() - sessionStart) / 1000;
  const currentBank = (): Bank => bankFromValues(config, d, {
    prompt_embeddings: { data: new Float32Array(host.get('prompt_embeddings') as Float32Array), shape: [config.num_virtual_tokens, d] },
    lora_embedding_A: config.r > 0 ? { data: new Float32Array(host.get('lora_embedding_A') as Float32Array), shape: [config.max_length, config.r] } : null,
    lora_embedding_B: config.r > 0 ? { data: new Float32Array(host.get('lora_embedding_B') as Float32Array), shape: [config.r, d] } : null,
  }, { base: (options.describe?.model as string | undefined) ?? null });
  const writeCheckpoint = () => {
    saveCheckpoint(outDir, { state: { ...state, elapsedSeconds: elapsed() }, bank: currentBank(), bestBank, moments });
    options.onEvent?.({ type: 'checkpoint', step: state.step });
  };
  const evaluateOn = async (examples: readonly TextExample[], phase: EvaluationPhase, step: number) => {
    const predictions = await predict(model, tokenizer, prompt, examples, {
      mode: config.predict, maxLength: config.max_length, padToMaxLength: config.pad_to_max_length, batchSize: config.eval_batch_size, maxNewTokens: config.max_new_tokens,
      ...(options.evaluation.labels ? { labels: options.evaluation.labels } : {}),
      ...(options.onEvent ? { phase, onProgress: (progress: ProgressEvent) => options.onEvent?.({ type: 'progress', step, progress: { ...progress, phase } }) } : {}),
    });
    return { predictions, metrics: options.evaluation.metrics(predictions, examples) };
  };
  const evaluateDev = async () => {
    const { metrics } = await evaluateOn(dev, 'dev', state.step);
    const value = metrics[options.evaluation.selectionMetric];
    if (value === undefined) throw new DeptError(`selection metric "${options.evaluation.selectionMetric}" is not among the task's metrics (${Object.keys(metrics).join(', ')})`);
    const isBest = state.best === null || value > state.best.value;
    if (isBest) {
      state.best = { metric: options.evaluation.selectionMetric, value, step: state.step };
      bestBank = currentBank();
    }
    const record: Record<string, number> = { step: state.step, epoch: epochOf(state.step) };
    for (const [k, v] of Object.entries(metrics)) record[`eval_${k}`] = v;
    appendMetrics(metricsPath, record);
    options.onEvent?.({ type: 'eval', step: state.step, metrics, best: isBest });
  };
  const perEpoch = Math.ceil(train.length / config.batch_size);
  const epochOf = (step: number) => Math.round((step / perEpoch) * 1e4) / 1e4;
  if (options.sampleWeights && options.sampleWeights.length !== train.length) {
    throw new DeptError(`sampleWeights has ${options.sampleWeights.length} entries, expected one per training example (${train.length})`);
  }
  const cumulative = options.sampleWeights ? cumulativeWeights(options.sampleWeights) : null;

  try {
    let sessionSteps = 0;
    while (state.step < config.max_steps) {
      if (options.stopAfterSteps !== undefined && sessionSteps >= options.stopAfterSteps) {
        throw new TrainingStopped(state.step);
      }
      const indices = cumulative
        ? weightedBatchIndices({ cumulative, batchSize: config.batch_size, seed: config.seed, step: state.step })
        : batchIndices({ n: train.length, batchSize: config.batch_size, seed: config.seed, step: state.step }).indices;
      const { loss: lossValue, finite } = await promptStep(optimiser, { model, prompt, config, encoded, indices, step: state.step });
      if (!finite) {
        const ck = checkpointPath(outDir) ? ` the last good checkpoint is kept in ${join(outDir, 'checkpoint')}` : ' no checkpoint had been written yet';
        throw new DeptError(`step ${state.step + 1}: the training loss is ${Number.isFinite(lossValue) ? 'finite but a gradient is not' : lossValue}; stopping;${ck} (lower --lr / --lora-lr?)`);
      }
      const t = state.step + 1;
      state.step = t;
      sessionSteps += 1;
      state.logLossSum += lossValue;
      state.logLossCount += 1;
      const nextMultiplier = linearWarmupDecay(state.step, config.warmup_steps, config.max_steps);
      options.onEvent?.({ type: 'step', step: state.step, maxSteps: config.max_steps, loss: lossValue, learningRate: config.lr * nextMultiplier, loraLearningRate: config.lora_lr * nextMultiplier, epoch: epochOf(state.step) });
      if (state.step % config.log_steps === 0 || state.step === config.max_steps) {
        const record = {
          loss: Math.round((state.logLossSum / state.logLossCount) * 1e4) / 1e4,
          learning_rate: config.lr * nextMultiplier,
          lora_learning_rate: config.lora_lr * nextMultiplier,
          epoch: epochOf(state.step),
          step: state.step,
        };
        appendMetrics(join(outDir, 'metrics.jsonl'), record);
        options.onEvent?.({ type: 'log', record });
        state.logLossSum = 0;
        state.logLossCount = 0;
      }
      if (state.step % config.eval_steps === 0 || state.step === config.max_steps) await evaluateDev();
      if (state.step % config.save_steps === 0 && state.step < config.max_steps) writeCheckpoint();
      await nextTurn(); // a signal (Ctrl-C, SIGTERM) is handled between steps, not only after the loop
    }
    // The final checkpoint before the test evaluation, so even a kill during it loses no training.
    writeCheckpoint();

    // The selected bank: evaluate it once on dev (its recorded metrics) and on test.
    const selected = bestBank ?? currentBank();
    prompt.assignFromHost(selected);
    const selectedStep = state.best?.step ?? state.step;
    const devEval = await evaluateOn(dev, 'selected dev', selectedStep);
    const testEval = test.length > 0 ? await evaluateOn(test, 'test', selectedStep) : { predictions: [], metrics: {} };
    const testRecord: Record<string, number> = { step: state.step };
    for (const [k, v] of Object.entries(testEval.metrics)) testRecord[`test_${k}`] = v;
    appendMetrics(metricsPath, testRecord);
    writeFileAtomic(join(outDir, 'predictions.jsonl'), test.map((e, i) => jsonLine({ index: i, source: e.source, target: e.target, prediction: testEval.predictions[i] })).join(''));
    const { writeBank } = await import('@dept/prompt');
    writeBank(join(outDir, 'bank'), selected);
    const results: TrainResults = {
      dev: devEval.metrics,
      test: testEval.metrics,
      selected_step: selectedStep,
      selection_metric: options.evaluation.selectionMetric,
      max_steps: config.max_steps,
      wall_seconds: Math.round(elapsed() * 1000) / 1000,
      backend: currentBackend()?.name ?? 'unknown',
      predict: config.predict,
      random_weights: options.randomWeights ?? false,
      train_examples: train.length,
      dev_examples: dev.length,
      test_examples: test.length,
      ...(options.dataOrigin ? { data: options.dataOrigin } : {}),
    };
    writeJsonAtomic(join(outDir, 'results.json'), results);
    options.onEvent?.({ type: 'done', results });
    return results;
  } finally {
    prompt.dispose();
  }
}
