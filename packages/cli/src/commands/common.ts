/**
 * What `dept train` and `dept fewshot` share: the flags that override a recipe, resolving them into a validated
 * recipe, and the progress displays (training events; "done of total" events of any loop, such as evaluation).
 */
import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import type { ProgressEvent } from '@dept/core';
import { LAYOUT_PRIORITY } from '@dept/tasks';
import type { TrainEvent } from '@dept/train';
import { DeptError } from '@dept/core';
import type { z } from 'zod';
import { DEFAULT_TRAIN_CONFIG, kshotTrainDefaults, trainConfigWarnings, type TrainConfig } from '@dept/train/config';
import { RecipeSchema, applySearches, blameOf, commandLineOverrides, readRecipeFile, requireFlags, validateRecipe, type Recipe } from '../recipe.ts';
import { intListOption, intOption, numberOption } from '../options.ts';

/** Flags common to recipe-driven commands. */
export interface RecipeFlags {
  task?: string;
  dataDir?: string;
  layout?: string;
  subset?: string;
  maxEvalExamples?: string;
  model?: string;
  bank?: string[];
  bankMode?: string;
  k?: string;
  seeds?: string;
  seed?: string;
  sampler?: string;
  m?: string;
  r?: string;
  maxLength?: string;
  lr?: string;
  loraLr?: string;
  warmupSteps?: string;
  maxSteps?: string;
  batchSize?: string;
  evalSteps?: string;
  saveSteps?: string;
  logSteps?: string;
  predict?: string;
  dropout?: boolean;
  padToMaxLength?: boolean;
  out?: string;
  set?: string[];
  /** `dept fewshot` only: `--search field=v1,v2`. */
  search?: string[];
  /** `dept train` only: continue the run in `--out`. */
  resume?: boolean;
}

/** The file of a run folder that records its settings (and, for `dept train`, its recipe). */
export const RESOLVED_CONFIG = 'config.resolved.json';

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** `(default: the recipe's, else 0.3)` for a flag that overrides `train.<field>`. */
function trainDefault(field: keyof typeof DEFAULT_TRAIN_CONFIG, shown: (v: never) => string = String): string {
  return `(default: the recipe's, else ${shown(DEFAULT_TRAIN_CONFIG[field] as never)})`;
}

/** Adds the recipe-overriding flags to a command; each says its default (a recipe file's value comes first). */
export function addRecipeFlags(cmd: Command, opts: { grid: boolean }): Command {
  const onOff = (v: boolean) => (v ? 'on' : 'off');
  cmd
    .option('--task <names>', `${opts.grid ? 'tasks, comma-separated (DePT or HF names: rte, superglue-cb, glue/rte, super_glue/cb)' : 'task (DePT or HF name)'} (default: the recipe's; required without one)`)
    .option('--data-dir <dir>', "data folder (default: the recipe's data.dir, else $DEPT_DATA, else datasets/)")
    .option('--layout <name>', `read the task from the folder in this layout when several hold it: ${LAYOUT_PRIORITY.join(' | ')} (default: the recipe's data.layout, else the first by layout priority, as dept data)`)
    .option('--subset <k-seed>', "LM-BFF k-shot layout: the <k>-<seed> folder to use (default: the recipe's data.subset, else the seed's own, e.g. 16-21 for seed 21)")
    .option('--max-eval-examples <n>', "evaluate on at most n dev and n test examples, a seed-42 subsample, the same for every seed (default: the recipe's data.max_eval_examples, else all, as DePT)")
    .option('--model <dir>', "Hugging Face T5 folder (default: the recipe's model.path; required without one)")
    .option('--bank <dir>', "initialise from this source bank, repeatable (default: the recipe's bank, else none: P, A and B start as DePT's)", collect)
    .option('--bank-mode <mode>', 'with several --bank: average | best (lowest dev loss) | single (default: average with several --bank, single with one)')
    .option('--sampler <name>', "k-shot sampler: dept (exact official) | balanced (default: the recipe's, else dept)")
    .option('--m <n>', `soft prompt length (num_virtual_tokens) ${trainDefault('num_virtual_tokens')}`)
    .option('--r <n>', `rank of A·B (0 = vanilla prompt tuning) ${trainDefault('r')}`)
    .option('--max-length <n>', `input length s ${trainDefault('max_length')}`)
    .option('--pad-to-max-length', `pad every input to s as DePT's code does (same results, slower) ${trainDefault('pad_to_max_length', (v: boolean) => `${onOff(v)}: each batch cut to its longest input`)}`)
    .option('--lr <x>', `learning rate of P ${trainDefault('lr')}`)
    .option('--lora-lr <x>', `learning rate of A and B ${trainDefault('lora_lr')}`)
    .option('--warmup-steps <n>', `linear warm-up steps ${trainDefault('warmup_steps')}`)
    .option('--max-steps <n>', `training steps ${trainDefault('max_steps')}`)
    .option('--batch-size <n>', `training batch size ${trainDefault('batch_size')}`)
    .option('--eval-steps <n>', `evaluate on dev every n steps ${trainDefault('eval_steps')}`)
    .option('--save-steps <n>', `checkpoint every n steps ${trainDefault('save_steps')}`)
    .option('--log-steps <n>', `log the loss every n steps ${trainDefault('log_steps')}`)
    .option('--predict <mode>', `generate (greedy, as DePT) | score (most likely label) ${trainDefault('predict')}`)
    .option('--no-dropout', `turn off the frozen model's dropout during training ${trainDefault('dropout', (v: boolean) => `dropout ${onOff(v)}`)}`)
    .option('--out <dir>', `output folder (default: the recipe's out, else ${opts.grid ? 'runs/<name>' : 'runs/<name>/<task>'}; <name> is the recipe's name, else "run")`)
    .option('--set <key=value>', 'set any recipe field, e.g. --set train.lr=0.3, repeatable (default: none)', collect);
  if (opts.grid) {
    const defaults = RecipeSchema.shape;
    const list = (schema: z.ZodType) => (schema.parse(undefined) as number[]).join(',');
    cmd.option('--k <list>', `k values, e.g. 4,16,32 (default: the recipe's, else ${list(defaults.k)}); ${KSHOT_DEFAULTS_HELP}`)
      .option('--seeds <list>', `seeds, e.g. 13,21,42 (default: the recipe's, else ${list(defaults.seeds)})`)
      .option('--search <field=v1,v2>', "search a train field in every cell, e.g. --search lr=0.3,0.4 --search lora_lr=5e-3,5e-4, repeatable; a sub-run per setting, the best on dev kept (default: the recipe's search, else none)", collect);
  } else {
    cmd.option('--k <n>', `train on k shots of the training split (default: the recipe's k, else the whole training split); with --k, ${KSHOT_DEFAULTS_HELP}`)
      .option('--seed <n>', "seed of the k-shot sample and the training (default: the recipe's, else 42)");
  }
  return cmd;
}

/** A finished or unfinished run's recorded recipe (`dept train --out DIR --resume` without a recipe file). */
export interface RecordedRecipe {
  /** The recipe as `config.resolved.json` holds it. */
  raw: Record<string, unknown>;
  /** The file it came from, for messages. */
  file: string;
}

/**
 * The recipe a command runs: the file (if any; or a run folder's recorded recipe), then `--set`, then the explicit
 * flags, validated. A refusal names what the user typed (`--set k=abc`, `--sampler x`) when that set the field,
 * else the file.
 *
 * @example
 * const recipe = resolveRecipe('recipes/quickstart.yaml', { maxSteps: '50' }, { grid: true });
 */
export function resolveRecipe(path: string | undefined, flags: RecipeFlags, opts: { grid: boolean; recorded?: RecordedRecipe }): Recipe {
  const raw: Record<string, unknown> = path ? readRecipeFile(path) : opts.recorded ? structuredClone(opts.recorded.raw) : {};
  const where = path ?? opts.recorded?.file ?? 'command line';
  // A run trained on the whole training split records k: [] (which no recipe may say).
  const recordedWithoutK = Boolean(opts.recorded) && Array.isArray(raw.k) && raw.k.length === 0;
  if (recordedWithoutK) delete raw.k;
  const { origins, set } = commandLineOverrides(raw, flags.set ?? []);
  if (flags.task) set('tasks', flags.task.split(',').map((t) => t.trim()).filter(Boolean), `--task ${flags.task}`);
  set('data.dir', flags.dataDir, `--data-dir ${flags.dataDir}`);
  if (flags.layout !== undefined && !(LAYOUT_PRIORITY as readonly string[]).includes(flags.layout)) {
    throw new DeptError(`--layout must be one of ${LAYOUT_PRIORITY.join(', ')}, got "${flags.layout}"`);
  }
  if (flags.subset !== undefined && !/^\d+-\d+$/.test(flags.subset)) throw new DeptError(`--subset must be a <k>-<seed> folder name such as 16-13, got "${flags.subset}"`);
  set('data.layout', flags.layout, `--layout ${flags.layout}`);
  set('data.subset', flags.subset, `--subset ${flags.subset}`);
  set('data.max_eval_examples', flags.maxEvalExamples === undefined ? undefined : intOption(flags.maxEvalExamples, '--max-eval-examples', { min: 1 }), `--max-eval-examples ${flags.maxEvalExamples}`);
  if (flags.model) {
    set('model', { ...((raw.model as Record<string, unknown> | undefined) ?? {}), path: flags.model });
    origins.set('model.path', `--model ${flags.model}`);
  }
  if (flags.bank) set('bank', { paths: flags.bank, mode: flags.bankMode ?? (flags.bank.length > 1 ? 'average' : 'single') }, flags.bank.map((b) => `--bank ${b}`).join(' '));
  else set('bank.mode', flags.bankMode);
  if (flags.bankMode) origins.set('bank.mode', `--bank-mode ${flags.bankMode}`);
  set('sampler', flags.sampler, `--sampler ${flags.sampler}`);
  if (opts.grid) {
    if (flags.k) set('k', intListOption(flags.k, '--k', { min: 1 }));
    if (flags.seeds) set('seeds', intListOption(flags.seeds, '--seeds', { min: 0 }));
  } else {
    if (flags.k) set('k', [intOption(flags.k, '--k', { min: 1 })]);
    if (flags.seed) set('seeds', [intOption(flags.seed, '--seed', { min: 0 })]);
  }
  const int = (v: string | undefined, flag: string, min: number) => (v === undefined ? undefined : intOption(v, flag, { min }));
  set('train.num_virtual_tokens', int(flags.m, '--m', 0));
  set('train.r', int(flags.r, '--r', 0));
  set('train.max_length', int(flags.maxLength, '--max-length', 1));
  set('train.lr', flags.lr === undefined ? undefined : numberOption(flags.lr, '--lr', { positive: true }));
  set('train.lora_lr', flags.loraLr === undefined ? undefined : numberOption(flags.loraLr, '--lora-lr', { positive: true }));
  set('train.warmup_steps', int(flags.warmupSteps, '--warmup-steps', 0));
  set('train.max_steps', int(flags.maxSteps, '--max-steps', 1));
  set('train.batch_size', int(flags.batchSize, '--batch-size', 1));
  set('train.eval_steps', int(flags.evalSteps, '--eval-steps', 1));
  set('train.save_steps', int(flags.saveSteps, '--save-steps', 1));
  set('train.log_steps', int(flags.logSteps, '--log-steps', 1));
  set('train.predict', flags.predict, `--predict ${flags.predict}`);
  if (flags.dropout === false) set('train.dropout', false);
  if (flags.padToMaxLength) set('train.pad_to_max_length', true);
  set('out', flags.out);
  applySearches(raw, flags.search ?? [], origins);
  if (!path && !opts.recorded) {
    const hint = flags.resume ? ` (with --resume: or --out of a run folder that holds ${RESOLVED_CONFIG})` : '';
    requireFlags(raw, { model: '--model <dir>', tasks: '--task <name>' }, opts.grid ? 'fewshot' : 'train', hint);
  }
  // The train fields the recipe file, --set or a flag gave: a k-shot run fills the others with few-shot defaults.
  const given = typeof raw.train === 'object' && raw.train !== null ? Object.keys(raw.train) : [];
  const blame = blameOf(origins);
  const recipe = validateRecipe(raw, where, blame);
  if (!opts.grid && !flags.k && ((!path && !opts.recorded) || recordedWithoutK)) recipe.k = [];
  if (recipe.k.length > 0) {
    const explicit = Object.fromEntries(given.map((key) => [key, (recipe.train as Record<string, unknown>)[key]])) as Partial<TrainConfig>;
    Object.assign(recipe.train, kshotTrainDefaults(explicit));
  }
  if (recipe.search && Object.keys(recipe.search).length === 0) delete recipe.search;
  if (recipe.search && !opts.grid) {
    throw new DeptError(`${blame(['search']) ?? where}: search: dept train runs one setting; run a search with dept fewshot (each cell a sub-run per setting)`);
  }
  return recipe;
}

/** What `--help` says of the few-shot defaults (see `kshotTrainDefaults` in @dept/train). */
export const KSHOT_DEFAULTS_HELP = 'train fields not set take few-shot defaults: max_steps 1000, warmup_steps a tenth of max_steps, eval_steps and save_steps a tenth, log_steps a hundredth (DePT\'s 30000 steps, 500 warm-up and eval every 1000 are for full data)';

/**
 * The warnings of a recipe's training config, one line each, for every setting of its search (a warm-up that never
 * ends, see `trainConfigWarnings`).
 *
 * @example
 * for (const line of recipeWarnings(recipe)) process.stderr.write(`dept: warning: ${line}\n`);
 */
export function recipeWarnings(recipe: Pick<Recipe, 'train' | 'search'>): string[] {
  const maxSteps = (recipe.search?.max_steps ?? [recipe.train.max_steps]) as number[];
  const warmups = (recipe.search?.warmup_steps ?? [recipe.train.warmup_steps]) as number[];
  const searched = recipe.search?.max_steps !== undefined || recipe.search?.warmup_steps !== undefined;
  const out: string[] = [];
  for (const max_steps of maxSteps) {
    for (const warmup_steps of warmups) {
      for (const line of trainConfigWarnings({ max_steps, warmup_steps })) out.push(searched ? `search (max_steps ${max_steps}, warmup_steps ${warmup_steps}): ${line}` : line);
    }
  }
  return out;
}

/** Where a display writes, and whether it draws bars: stderr, bars when it is a terminal and `CI` is not set. */
export interface DisplayOutput {
  stream: NodeJS.WritableStream & { isTTY?: boolean };
  tty: boolean;
  /** The clock, in milliseconds (tests pass their own). */
  now: () => number;
}

function stderrOutput(): DisplayOutput {
  return { stream: process.stderr, tty: Boolean(process.stderr.isTTY) && !process.env.CI, now: Date.now };
}

function bar(output: DisplayOutput, format: string): cliProgress.SingleBar {
  return new cliProgress.SingleBar({ format, stream: output.stream, hideCursor: true }, cliProgress.Presets.shades_classic);
}

/**
 * A number of things with its noun.
 *
 * @example
 * plural(1, 'cell'); // '1 cell'
 * plural(8, 'cell'); // '8 cells'
 */
export function plural(n: number, noun: string, nouns = `${noun}s`): string {
  return `${n} ${n === 1 ? noun : nouns}`;
}

/** The step bar's values, and what it shows before the first step. */
type StepPayload = { loss: string; lr: string; loraLr: string };
const NO_STEP_YET: StepPayload = { loss: '-', lr: '-', loraLr: '-' };

/**
 * A progress display for training events. On a terminal (and not CI): a bar with step, loss, learning rates and ETA,
 * set aside during each evaluation for a bar of its examples. Elsewhere: a line at every `log_steps` step (the
 * running loss metrics.jsonl records, its learning rates and epoch), the evaluation lines of {@link progressDisplay}
 * (only for evaluations that last over 10 s), and every dev and test result.
 *
 * @example
 * const onEvent = progressReporter('superglue-cb k=16 seed=13');
 * await runCell({ ...options, onEvent });
 */
export function progressReporter(label: string, options: { output?: DisplayOutput } = {}): (event: TrainEvent) => void {
  const output = options.output ?? stderrOutput();
  const write = (line: string) => output.stream.write(`${line}\n`);
  let stepBar: cliProgress.SingleBar | null = null;
  let running = false;
  let maxSteps = 0;
  let payload: StepPayload = NO_STEP_YET;
  const evaluation = progressDisplay(label, { output, quietSeconds: 10 });
  const pause = () => {
    if (stepBar && running) stepBar.stop();
    running = false;
  };
  return (event) => {
    if (event.type === 'start') {
      maxSteps = event.maxSteps;
      write(`${label}: ${event.resumed ? `resuming at step ${event.step}` : 'training'} (${plural(event.trainExamples, 'example')}, ${plural(event.trainableParameters, 'trainable parameter')}, ${plural(event.maxSteps, 'step')})`);
      if (output.tty) {
        stepBar = bar(output, `${label} [{bar}] {value}/{total} | loss {loss} | lr {lr} | lora_lr {loraLr} | ETA {eta_formatted}`);
        stepBar.start(event.maxSteps, event.step, payload);
        running = true;
      }
    } else if (event.type === 'step') {
      payload = { loss: event.loss.toFixed(4), lr: event.learningRate.toExponential(2), loraLr: event.loraLearningRate.toExponential(2) };
      if (stepBar && !running) {
        // The bar set aside for an evaluation comes back with its last values, never its bare template.
        stepBar.start(maxSteps, event.step, payload);
        running = true;
      } else stepBar?.update(event.step, payload);
    } else if (event.type === 'log') {
      if (!output.tty) {
        const r = event.record;
        write(`${label}: step ${r.step}/${maxSteps} loss ${Number(r.loss).toFixed(4)} lr ${Number(r.learning_rate).toExponential(2)} lora_lr ${Number(r.lora_learning_rate).toExponential(2)} epoch ${r.epoch}`);
      }
    } else if (event.type === 'progress') {
      pause();
      const where = event.progress.phase === 'dev' ? `at step ${event.step}` : `of step ${event.step}`;
      evaluation({ ...event.progress, phase: `${event.progress.phase} ${where}` });
    } else if (event.type === 'eval') {
      pause();
      const text = Object.entries(event.metrics).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ');
      write(`${label}: step ${event.step} dev ${text}${event.best ? ' (best so far)' : ''}`);
    } else if (event.type === 'done') {
      pause();
      stepBar = null;
      const test = Object.entries(event.results.test).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ');
      write(`${label}: done; selected step ${event.results.selected_step}; test ${test || '(no test split)'}${event.results.random_weights ? ' [random weights]' : ''}`);
    }
  };
}

/** Seconds as `42s`, `3m05s` or `1h02m`. */
function formatSeconds(seconds: number): string {
  const t = Math.max(0, Math.round(seconds));
  if (t < 60) return `${t}s`;
  if (t < 3600) return `${Math.floor(t / 60)}m${String(t % 60).padStart(2, '0')}s`;
  return `${Math.floor(t / 3600)}h${String(Math.floor((t % 3600) / 60)).padStart(2, '0')}m`;
}

/**
 * A display for {@link ProgressEvent}s (evaluation, prediction, any counted loop): a bar with done/total and the
 * ETA when stderr is a terminal (and not CI), otherwise a plain line at the start, at each tenth of the way with
 * the ETA, and at the end. A new `phase`, or `done` going back, starts a new display. With `quietSeconds`, plain
 * lines wait until the work has run that long and come at most that often (a tenth passed since the last one), and
 * the end line shows only after another: work that is over sooner prints nothing.
 *
 * @example
 * const onProgress = progressDisplay('eval superglue-cb');
 * onProgress({ phase: 'test', done: 0, total: 56 }); // "eval superglue-cb test: 0/56 examples"
 */
export function progressDisplay(label: string, options: { output?: DisplayOutput; quietSeconds?: number } = {}): (event: ProgressEvent) => void {
  const output = options.output ?? stderrOutput();
  const quiet = (options.quietSeconds ?? 0) * 1000;
  let current: cliProgress.SingleBar | null = null;
  let phase: string | null = null;
  let lastDone = 0;
  let started = 0;
  let tenth = -1;
  let lastLine = 0;
  let printed = false;
  return (event) => {
    const unit = event.unit ?? 'examples';
    const now = output.now();
    if (event.phase !== phase || event.done < lastDone) {
      current?.stop();
      current = null;
      phase = event.phase;
      started = now;
      lastLine = now;
      tenth = -1;
      printed = false;
      if (output.tty) {
        current = bar(output, `${label} ${event.phase} [{bar}] {value}/{total} ${unit} | ETA {eta_formatted}`);
        current.start(event.total, event.done);
      }
    }
    lastDone = event.done;
    if (current) {
      current.update(event.done);
      if (event.done >= event.total) {
        current.stop();
        current = null;
      }
      return;
    }
    const finished = event.done >= event.total;
    const now10 = event.total > 0 ? Math.floor((10 * event.done) / event.total) : 10;
    if (now10 === tenth) return;
    if (quiet > 0 && (finished ? !printed : now - lastLine < quiet)) return;
    tenth = now10;
    lastLine = now;
    printed = true;
    const elapsed = (now - started) / 1000;
    let tail = '';
    if (finished) tail = ` (done in ${formatSeconds(elapsed)})`;
    else if (event.done > 0) tail = ` (ETA ${formatSeconds((elapsed / event.done) * (event.total - event.done))})`;
    output.stream.write(`${label} ${event.phase}: ${event.done}/${event.total} ${unit}${tail}\n`);
  };
}
