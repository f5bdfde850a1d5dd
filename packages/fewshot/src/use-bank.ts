/**
 * Using a bank once it exists, without training: open it from any source (a bank folder or file of any format, a
 * finished run, a pretraining folder's named bank, a bank fetched from the hub) checked against the model,
 * evaluate it on a task's dev or test split exactly as a run evaluates its selected bank (the same examples in the
 * same order, batching, predict mode and metrics, in both flavours), or label new rows with it.
 */
import { DeptError, type ProgressEvent } from '@dept/core';
import { T5_PRESETS, type PretrainedT5, type T5Config } from '@dept/t5';
import { DecomposedPrompt, type Bank } from '@dept/prompt';
import { formatRow, getTask, id2label, loadTaskData, formatExamples, splitTaskData, type LayoutName, type TaskRow, type TaskSpec, type MetricFlavour } from '@dept/tasks';
import { importSourceBank, type BankFormat } from '@dept/transfer';
import { DEFAULT_TRAIN_CONFIG, maxInputPositions, predictWithScores, taskEvaluation, type PredictionMode, type TextExample } from '@dept/train';
import { readRunSettings, runFolderOf, type RunSettings } from './run-folder.ts';
import { evaluationSubsample } from './cell.ts';

/** A bank opened for a model by {@link openBank}. */
export interface OpenedBank {
  bank: Bank;
  /** The format it was read as. */
  format: BankFormat;
  /** The weights file read. */
  path: string;
  /** What was converted or guessed while importing it. */
  notes: string[];
  /** The run it is the selected bank of, when the reference was a run folder (or its `bank/`). */
  run: RunSettings | null;
}

/** The metric flavours every evaluation reports. */
const FLAVOURS: readonly MetricFlavour[] = ['dept', 'official'];

/** Preset names with a given d_model, for messages (`t5-base, t5-v1_1-base, flan-t5-base` for 768). */
function presetsOfWidth(d: number): string[] {
  return Object.entries(T5_PRESETS).filter(([name, p]) => p.d_model === d && !/tiny|mini/.test(name)).map(([name]) => name);
}

/**
 * Checks that a bank fits a model and an input length, with one line that says what would fit: the prompt width
 * (`token_dim`) must be the model's `d_model`; inputs may be at most s positions when the bank has A (one row of A
 * per position); and m + s must stay within the model's attention limit.
 *
 * @example
 * checkBankFits(bank, pretrained.config, { where: 'banks/sst2', model: 'models/t5-small', maxLength: 256 });
 * // DeptError: banks/sst2: the bank's prompt is 768 wide (token_dim; made for t5-base) but models/t5-small has d_model 512; …
 */
export function checkBankFits(bank: Bank, model: Pick<T5Config, 'd_model' | 'num_heads'>, opts: { where: string; model: string; maxLength?: number }): void {
  const c = bank.config;
  const { where } = opts;
  if (c.token_dim !== model.d_model) {
    const widths = presetsOfWidth(c.token_dim);
    const made = c.base_model_name_or_path ? `; made for ${c.base_model_name_or_path}` : '';
    throw new DeptError(
      `${where}: the bank's prompt is ${c.token_dim} wide (token_dim${made}) but ${opts.model} has d_model ${model.d_model}; a prompt cannot move between model widths: ` +
        `use a model with d_model ${c.token_dim}${widths.length ? ` (${widths.join(', ')})` : ''}, or train a bank for this model (dept train)`,
    );
  }
  const s = opts.maxLength ?? c.max_length;
  if (c.r > 0 && s > c.max_length) {
    throw new DeptError(
      `${where}: --max-length ${s} is more than the bank's max_length ${c.max_length}: its A [${c.max_length}, ${c.r}] has one row per input position; use --max-length ${c.max_length} or less`,
    );
  }
  const limit = maxInputPositions(model.num_heads);
  if (c.num_virtual_tokens + s > limit) {
    const fit = limit - c.num_virtual_tokens;
    const convert = c.r === 0 ? `, or store a shorter s with dept bank convert ${where} --to dept --max-length ${fit}` : '';
    throw new DeptError(
      `${where}: the prompt's ${c.num_virtual_tokens} rows and ${s} input positions (m + s = ${c.num_virtual_tokens + s}) are over ${opts.model}'s limit of ${limit} positions (${model.num_heads} heads); use --max-length ${fit} or less${convert}`,
    );
  }
}

/**
 * Opens a bank for a model: a bank folder or weights file of any supported format (ours, DePT `.bin`, ATTEMPT
 * `.pt`, PEFT), a pretraining folder's named bank (`dir#name`), a bank fetched with `dept bank fetch` (`org/name`,
 * `org/name@revision`), or a finished run folder (or its `bank/`), whose settings come back in `run`. The bank is
 * checked against the model with {@link checkBankFits}.
 *
 * @example
 * const { bank, run } = openBank('runs/cb/k16/seed13', pretrained);
 * const evaluation = await evaluateBank({ pretrained, bank, ...runEvaluationDefaults(run!) });
 */
export function openBank(ref: string, model: Pick<PretrainedT5, 'dir' | 'config'>, opts: { maxLength?: number } = {}): OpenedBank {
  const runDir = runFolderOf(ref);
  const run = runDir === null ? null : readRunSettings(runDir);
  const imported = importSourceBank(run ? run.bankDir : ref);
  checkBankFits(imported.bank, model.config, { where: ref, model: model.dir, ...(opts.maxLength !== undefined ? { maxLength: opts.maxLength } : {}) });
  return { bank: imported.bank, format: imported.format, path: imported.weightsPath, notes: imported.notes, run };
}

/** How predictions are made (each defaults to the training recipe's default). */
export interface PredictionSettings {
  /** `generate` (greedy, as DePT; default) or `score` (the most likely label string). */
  predict?: PredictionMode;
  /** s: inputs are truncated to it (default the bank's max_length). */
  maxLength?: number;
  /** Pad every input to s, as DePT's code does (default false: the same predictions up to float summation order). */
  padToMaxLength?: boolean;
  /** Examples per batch (default 32). */
  batchSize?: number;
  /** generate: new tokens at most (default 20). */
  maxNewTokens?: number;
  /** Prefix every source with the task name (DePT's `add_prefix`, default false). */
  addPrefix?: boolean;
  onProgress?: (event: ProgressEvent) => void;
}

/** Options of {@link evaluateBank}. */
export interface EvaluateBankOptions extends PredictionSettings {
  pretrained: PretrainedT5;
  bank: Bank;
  task: string;
  /** DePT's dev or test split of the task (default `test`). */
  split?: 'dev' | 'test';
  /** The data directory (default `$DEPT_DATA`, else `datasets/`). */
  dataDir?: string;
  /** The folder's layout and LM-BFF `<k>-<seed>` folder, as `runCell` takes them (a run's recorded ones). */
  layout?: LayoutName;
  subset?: string;
  /** A run's `max_eval_examples`: the same seeded subsample of the split the run evaluated (before `maxExamples`). */
  evalSubsample?: number;
  /** The flavour `metrics` is compared in and shown first (both are computed; default `dept`). */
  flavour?: MetricFlavour;
  /** Evaluate only the first n examples of the split. */
  maxExamples?: number;
}

/** One evaluated example, as a run's `predictions.jsonl` holds it. */
export interface EvaluatedExample {
  index: number;
  source: string;
  target: string;
  prediction: string;
}

/** What {@link evaluateBank} returns. */
export interface BankEvaluation {
  task: string;
  split: 'dev' | 'test';
  examples: number;
  predict: PredictionMode;
  flavour: MetricFlavour;
  /** The task's metrics (×100) in both flavours; `metrics[flavour]` is what a run's `results.json` records. */
  metrics: Record<MetricFlavour, Record<string, number>>;
  /** The metric a run selects on, per flavour. */
  selection_metric: Record<MetricFlavour, string>;
  /** The settings the predictions were made with. */
  settings: { max_length: number; pad_to_max_length: boolean; eval_batch_size: number; max_new_tokens: number; add_prefix: boolean };
  /** True when the model has random weights: the numbers are not results. */
  random_weights: boolean;
  predictions: EvaluatedExample[];
}

/** The resolved prediction settings and a prompt for `bank`, disposed after `fn`. */
async function withPrompt<T>(pretrained: PretrainedT5, bank: Bank, settings: PredictionSettings, fn: (prompt: DecomposedPrompt, s: Required<Omit<PredictionSettings, 'onProgress'>>) => Promise<T>): Promise<T> {
  if (!pretrained.tokenizer) throw new DeptError(`${pretrained.dir}: no tokenizer.json; predictions from text need the model's tokenizer`);
  const s = {
    predict: settings.predict ?? DEFAULT_TRAIN_CONFIG.predict,
    maxLength: settings.maxLength ?? bank.config.max_length,
    padToMaxLength: settings.padToMaxLength ?? false,
    batchSize: settings.batchSize ?? DEFAULT_TRAIN_CONFIG.eval_batch_size,
    maxNewTokens: settings.maxNewTokens ?? DEFAULT_TRAIN_CONFIG.max_new_tokens,
    addPrefix: settings.addPrefix ?? false,
  };
  checkBankFits(bank, pretrained.config, { where: 'bank', model: pretrained.dir, maxLength: s.maxLength });
  const prompt = DecomposedPrompt.fromHost(bank.config, bank);
  try {
    return await fn(prompt, s);
  } finally {
    prompt.dispose();
  }
}

function predictOptions(s: Required<Omit<PredictionSettings, 'onProgress'>>, labels: readonly string[] | undefined, phase: string, onProgress: PredictionSettings['onProgress']) {
  if (s.predict === 'score' && !labels?.length) throw new DeptError('--predict score needs the task\'s label strings (classification tasks only); use --predict generate');
  return {
    mode: s.predict, maxLength: s.maxLength, padToMaxLength: s.padToMaxLength, batchSize: s.batchSize, maxNewTokens: s.maxNewTokens, phase,
    ...(labels ? { labels } : {}), ...(onProgress ? { onProgress } : {}),
  };
}

/**
 * Evaluates a bank on DePT's dev or test split of a task: the examples a run evaluates, in its order, predicted
 * with the same settings, scored with the task's metrics in both flavours. For a run's selected bank with the
 * run's settings ({@link runEvaluationDefaults}) the metrics equal the run's `results.json`.
 *
 * @example
 * const { bank } = openBank('../shared/banks/dept-sst2', pretrained);
 * const result = await evaluateBank({ pretrained, bank, task: 'sst2', dataDir: '../shared/data/glue-pretrain', predict: 'score' });
 * result.metrics.dept.accuracy;
 */
export async function evaluateBank(options: EvaluateBankOptions): Promise<BankEvaluation> {
  const task = getTask(options.task);
  const split = options.split ?? 'test';
  const flavour = options.flavour ?? 'dept';
  // As loadDeptDataset does, without formatting the train part.
  const data = await loadTaskData(task.name, {
    ...(options.dataDir ? { dataDir: options.dataDir } : {}),
    ...(options.layout ? { layout: options.layout } : {}),
    ...(options.subset ? { subset: options.subset } : {}),
    requireSplittable: true,
  });
  const plan = splitTaskData(data);
  let examples = evaluationSubsample(formatExamples(data, plan[split], options.addPrefix !== undefined ? { addPrefix: options.addPrefix } : {}), options.evalSubsample, task.name, split);
  if (options.maxExamples !== undefined) examples = examples.slice(0, options.maxExamples);
  if (examples.length === 0) throw new DeptError(`${task.name}: the ${split} split of ${data.match.folder} is empty; nothing to evaluate`);
  const evaluations = Object.fromEntries(FLAVOURS.map((f) => [f, taskEvaluation(task, f)])) as Record<MetricFlavour, ReturnType<typeof taskEvaluation>>;
  return withPrompt(options.pretrained, options.bank, options, async (prompt, s) => {
    const { predictions } = await predictWithScores(options.pretrained.model, options.pretrained.tokenizer!, prompt, examples,
      predictOptions(s, evaluations.dept.labels, split, options.onProgress));
    const metrics = Object.fromEntries(FLAVOURS.map((f) => [f, evaluations[f].metrics(predictions, examples)])) as Record<MetricFlavour, Record<string, number>>;
    return {
      task: task.name,
      split,
      examples: examples.length,
      predict: s.predict,
      flavour,
      metrics,
      selection_metric: { dept: evaluations.dept.selectionMetric, official: evaluations.official.selectionMetric },
      settings: { max_length: s.maxLength, pad_to_max_length: s.padToMaxLength, eval_batch_size: s.batchSize, max_new_tokens: s.maxNewTokens, add_prefix: s.addPrefix },
      random_weights: options.pretrained.randomWeights,
      predictions: examples.map((e, i) => ({ index: i, source: e.source, target: e.target, prediction: predictions[i] as string })),
    };
  });
}

/**
 * The evaluation settings of a finished run, for {@link evaluateBank}: its task, data, prefix, flavour, predict
 * mode, s, padding, batch size and decoding length. Explicit options given after it override them.
 *
 * @example
 * const { bank, run } = openBank('runs/cb', pretrained);
 * const again = await evaluateBank({ pretrained, bank, ...runEvaluationDefaults(run!) });
 * again.metrics[again.flavour]; // equals run.results.test
 */
export function runEvaluationDefaults(run: RunSettings): Omit<EvaluateBankOptions, 'pretrained' | 'bank'> {
  return {
    task: run.task,
    ...(run.dataDir !== null ? { dataDir: run.dataDir } : {}),
    ...(run.layout !== null ? { layout: run.layout } : {}),
    ...(run.subset !== null ? { subset: run.subset } : {}),
    ...(run.maxEvalExamples !== null ? { evalSubsample: run.maxEvalExamples } : {}),
    addPrefix: run.addPrefix,
    flavour: run.flavour,
    predict: run.predict,
    maxLength: run.maxLength,
    padToMaxLength: run.padToMaxLength,
    batchSize: run.evalBatchSize,
    maxNewTokens: run.maxNewTokens,
  };
}

/** Options of {@link predictRows}. */
export interface PredictRowsOptions extends PredictionSettings {
  pretrained: PretrainedT5;
  bank: Bank;
  task: string;
  /** Rows with the task's Hugging Face fields (`readInputRows` / `rowsFromLines` of `@dept/tasks` read them); labels are ignored. */
  rows: readonly TaskRow[];
}

/** One labelled row. */
export interface RowPrediction {
  /** The predicted target string: a label id (`"1"`), an STS-B score, a ReCoRD answer, or whatever was generated. */
  prediction: string;
  /** The ClassLabel name of the prediction (`"positive"`), or null (not a label id, or not a classification task). */
  label_name: string | null;
  /** score: each label string's summed log-probability (natural log; the prediction is the largest). */
  scores?: Record<string, number>;
}

/** The source string of a row, as DePT's template makes it (labels are not needed). */
function sourceOf(task: TaskSpec, row: TaskRow, addPrefix: boolean): string {
  const filled: TaskRow = task.labelKind === 'answers'
    ? { entity_spans: [], answers: [], ...row }
    : { ...row, label: typeof row.label === 'number' ? row.label : -1 };
  return (formatRow(task, filled, { addPrefix })[0] as { source: string }).source;
}

/**
 * Labels rows with a bank: each row is formatted with the task's template and predicted by greedy generation or
 * label scoring, in order.
 *
 * @example
 * const { bank } = openBank('banks/sst2', pretrained);
 * const [p] = await predictRows({ pretrained, bank, task: 'sst2', rows: [{ sentence: 'a gorgeous, witty film' }], predict: 'score' });
 * p; // { prediction: '1', label_name: 'positive', scores: { '0': -4.1, '1': -0.02 } }
 */
export async function predictRows(options: PredictRowsOptions): Promise<RowPrediction[]> {
  const task = getTask(options.task);
  const evaluation = taskEvaluation(task);
  const names = task.labelKind === 'class' ? id2label(task) : {};
  return withPrompt(options.pretrained, options.bank, options, async (prompt, s) => {
    const examples: TextExample[] = options.rows.map((row) => ({ source: sourceOf(task, row, s.addPrefix), target: '' }));
    const { predictions, scores } = await predictWithScores(options.pretrained.model, options.pretrained.tokenizer!, prompt, examples,
      predictOptions(s, evaluation.labels, 'predict', options.onProgress));
    return predictions.map((prediction, i) => {
      const id = /^\d+$/.test(prediction) ? Number(prediction) : -1;
      const out: RowPrediction = { prediction, label_name: names[id] ?? null };
      const row = scores?.[i];
      if (row && evaluation.labels) out.scores = Object.fromEntries(evaluation.labels.map((l, j) => [l, row[j] as number]));
      return out;
    });
  });
}
