/**
 * What `dept train` and `dept fewshot` share: the flags that override a recipe, resolving them into a validated
 * recipe, and the progress displays (training events; "done of total" events of any loop, such as evaluation).
 */
import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import type { ProgressEvent } from '@dept/core';
import type { TrainEvent } from '@dept/train';
import { DeptError } from '@dept/core';
import type { z } from 'zod';
import { DEFAULT_TRAIN_CONFIG } from '@dept/train/config';
import { RecipeSchema, applySearches, blameOf, commandLineOverrides, readRecipeFile, requireFlags, validateRecipe, type Recipe } from '../recipe.ts';
import { intListOption, intOption, numberOption } from '../options.ts';

/** Flags common to recipe-driven commands. */
export interface RecipeFlags {
  task?: string;
  dataDir?: string;
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
    cmd.option('--k <list>', `k values, e.g. 4,16,32 (default: the recipe's, else ${list(defaults.k)})`)
      .option('--seeds <list>', `seeds, e.g. 13,21,42 (default: the recipe's, else ${list(defaults.seeds)})`)
      .option('--search <field=v1,v2>', "search a train field in every cell, e.g. --search lr=0.3,0.4 --search lora_lr=5e-3,5e-4, repeatable; a sub-run per setting, the best on dev kept (default: the recipe's search, else none)", collect);
  } else {
    cmd.option('--k <n>', "train on k shots of the training split (default: the recipe's k, else the whole training split)")
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
  const blame = blameOf(origins);
  const recipe = validateRecipe(raw, where, blame);
  if (!opts.grid && !flags.k && ((!path && !opts.recorded) || recordedWithoutK)) recipe.k = [];
  if (recipe.search && Object.keys(recipe.search).length === 0) delete recipe.search;
  if (recipe.search && !opts.grid) {
    throw new DeptError(`${blame(['search']) ?? where}: search: dept train runs one setting; run a search with dept fewshot (each cell a sub-run per setting)`);
  }
  return recipe;
}

/**
 * A progress display for training events: a bar with step, loss, learning rates and ETA when stderr is a
 * terminal (and not CI), otherwise one plain line every `every` steps.
 */
export function progressReporter(label: string, every = 50): (event: TrainEvent) => void {
  const tty = Boolean(process.stderr.isTTY) && !process.env.CI;
  let bar: cliProgress.SingleBar | null = null;
  return (event) => {
    if (event.type === 'start') {
      process.stderr.write(`${label}: ${event.resumed ? `resuming at step ${event.step}` : 'training'} (${event.trainExamples} examples, ${event.trainableParameters} trainable parameters, ${event.maxSteps} steps)\n`);
      if (tty) {
        bar = new cliProgress.SingleBar({
          format: `${label} [{bar}] {value}/{total} | loss {loss} | lr {lr} | lora_lr {loraLr} | ETA {eta_formatted}`,
          stream: process.stderr,
          hideCursor: true,
        }, cliProgress.Presets.shades_classic);
        bar.start(event.maxSteps, event.step, { loss: '-', lr: '-', loraLr: '-' });
      }
    } else if (event.type === 'step') {
      if (bar) bar.update(event.step, { loss: event.loss.toFixed(4), lr: event.learningRate.toExponential(2), loraLr: event.loraLearningRate.toExponential(2) });
      else if (event.step % every === 0 || event.step === event.maxSteps) {
        process.stderr.write(`${label}: step ${event.step}/${event.maxSteps} loss ${event.loss.toFixed(4)} lr ${event.learningRate.toExponential(2)} lora_lr ${event.loraLearningRate.toExponential(2)} epoch ${event.epoch}\n`);
      }
    } else if (event.type === 'eval') {
      const text = Object.entries(event.metrics).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ');
      if (bar) bar.stop();
      process.stderr.write(`${label}: step ${event.step} dev ${text}${event.best ? ' (best so far)' : ''}\n`);
      if (bar && event.step < (bar.getTotal?.() ?? Infinity)) bar.start(bar.getTotal(), event.step);
    } else if (event.type === 'done') {
      bar?.stop();
      const test = Object.entries(event.results.test).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ');
      process.stderr.write(`${label}: done; selected step ${event.results.selected_step}; test ${test || '(no test split)'}${event.results.random_weights ? ' [random weights]' : ''}\n`);
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
 * the ETA, and at the end. A new `phase` starts a new display.
 *
 * @example
 * const onProgress = progressDisplay('eval superglue-cb');
 * onProgress({ phase: 'test', done: 0, total: 56 }); // "eval superglue-cb test: 0/56 examples"
 */
export function progressDisplay(label: string): (event: ProgressEvent) => void {
  const tty = Boolean(process.stderr.isTTY) && !process.env.CI;
  let bar: cliProgress.SingleBar | null = null;
  let phase: string | null = null;
  let started = 0;
  let tenth = -1;
  return (event) => {
    const unit = event.unit ?? 'examples';
    if (event.phase !== phase) {
      bar?.stop();
      bar = null;
      phase = event.phase;
      started = Date.now();
      tenth = -1;
      if (tty) {
        bar = new cliProgress.SingleBar({
          format: `${label} ${event.phase} [{bar}] {value}/{total} ${unit} | ETA {eta_formatted}`,
          stream: process.stderr,
          hideCursor: true,
        }, cliProgress.Presets.shades_classic);
        bar.start(event.total, event.done);
      }
    }
    if (bar) {
      bar.update(event.done);
      if (event.done >= event.total) {
        bar.stop();
        bar = null;
      }
      return;
    }
    const now = event.total > 0 ? Math.floor((10 * event.done) / event.total) : 10;
    if (now === tenth) return;
    tenth = now;
    const elapsed = (Date.now() - started) / 1000;
    let tail = '';
    if (event.done >= event.total) tail = ` (done in ${formatSeconds(elapsed)})`;
    else if (event.done > 0) tail = ` (ETA ${formatSeconds((elapsed / event.done) * (event.total - event.done))})`;
    process.stderr.write(`${label} ${event.phase}: ${event.done}/${event.total} ${unit}${tail}\n`);
  };
}
