/**
 * `dept eval --model M --bank B --task T [--split dev|test]`: a bank evaluated on DePT's split of a task, with the
 * task's metrics in both flavours. A finished run's bank is evaluated with the run's settings unless a flag says
 * otherwise, and then gives exactly the run's `results.json` metrics (said on stderr). The metrics go to stdout (with
 * `--json`: `eval.json`). With `--out DIR`: `eval.json` and `predictions.jsonl` (the run's format) there.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { DeptError, isFile, readJsonFile } from '@dept/core';
import type { BankEvaluation, EvaluateBankOptions } from '@dept/fewshot';
import type { MetricFlavour } from '@dept/tasks';
import { intOption } from '../options.ts';
import { progressDisplay } from './common.ts';
import { RANDOM_WEIGHTS_MARK, addUseFlags, describeOpened, explicitSettings, openModelAndBank, taskOf, type UseFlags } from './bank-use.ts';

interface EvalFlags extends UseFlags {
  split: string;
  dataDir?: string;
  flavour?: string;
  maxEvalExamples?: string;
  out?: string;
  overwrite?: boolean;
  json?: boolean;
}

/** What marks an `eval.json` as written by `dept eval` (only such files are replaced with `--overwrite`). */
const EVAL_KIND = 'dept-eval';

/** Refuses an `--out` that holds files `dept eval` did not write, or its own without `--overwrite`. */
function checkOut(out: string, overwrite: boolean): void {
  const present = ['eval.json', 'predictions.jsonl'].filter((f) => existsSync(join(out, f)));
  if (present.length === 0) return;
  const evalPath = join(out, 'eval.json');
  let ours = false;
  if (isFile(evalPath)) {
    try {
      ours = readJsonFile<{ kind?: unknown }>(evalPath, 'an evaluation').kind === EVAL_KIND;
    } catch {
      ours = false;
    }
  }
  if (!ours) {
    throw new DeptError(`${out}: holds ${present.join(' and ')} that dept eval did not write (a run folder?); choose another --out`);
  }
  if (!overwrite) throw new DeptError(`${out}: already holds an evaluation (${present.join(', ')}); use --overwrite to replace it, or another --out`);
}

const fmt = (metrics: Record<string, number>): string => Object.entries(metrics).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ');

/** The first metric whose value differs, or null when `a` and `b` hold the same metrics and values. */
function firstDifference(a: Record<string, number>, b: Record<string, number>): string | null {
  for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) if (a[k] !== b[k]) return `${k} ${a[k] ?? '-'} vs ${b[k] ?? '-'}`;
  return null;
}

/** Registers `dept eval`. */
export function registerEval(program: Command): void {
  const cmd = program
    .command('eval')
    .description("evaluate a bank on DePT's dev or test split of a task: the task's metrics in both flavours (a finished run's bank with the run's settings gives its results.json)");
  addUseFlags(cmd)
    .option('--split <name>', 'dev or test', 'test')
    .option('--data-dir <dir>', "data folder (default: the run's, else $DEPT_DATA, else datasets/)")
    .option('--flavour <name>', "metrics shown first and compared with the run's: dept | official, both computed (default: the run's, else dept)")
    .option('--max-eval-examples <n>', 'evaluate only the first n examples of the split (default: all)')
    .option('--out <dir>', 'write eval.json and predictions.jsonl into this folder (default: none: nothing is written)')
    .option('--overwrite', 'replace the eval.json and predictions.jsonl of an earlier dept eval in --out (default: off)')
    .option('--json', 'print eval.json instead of the metrics for people (default: off)')
    .action(async (flags: EvalFlags) => {
      if (flags.split !== 'dev' && flags.split !== 'test') throw new DeptError(`--split is "${flags.split}", expected dev or test`);
      if (flags.flavour !== undefined && flags.flavour !== 'dept' && flags.flavour !== 'official') throw new DeptError(`--flavour is "${flags.flavour}", expected dept or official`);
      const maxExamples = flags.maxEvalExamples === undefined ? undefined : intOption(flags.maxEvalExamples, '--max-eval-examples', { min: 1 });
      if (flags.out) checkOut(flags.out, Boolean(flags.overwrite));
      const start = Date.now();
      const { pretrained, opened, defaults } = await openModelAndBank(flags);
      try {
        const { evaluateBank } = await import('@dept/fewshot');
        const { currentBackend } = await import('@dept/tensor');
        const run = opened.run;
        const task = taskOf(flags, defaults);
        const dataDir = flags.dataDir ?? defaults.dataDir;
        const flavour = (flags.flavour as MetricFlavour | undefined) ?? defaults.flavour ?? 'dept';
        for (const note of opened.notes) process.stderr.write(`note: bank: ${note}\n`);
        process.stderr.write(`evaluating ${task} ${flags.split} with ${describeOpened(pretrained, opened, flags.bank)}\n`);
        // The run's settings (exactly its evaluation), then whatever a flag says instead.
        const options: EvaluateBankOptions = {
          ...defaults, ...explicitSettings(flags),
          pretrained, bank: opened.bank, task, split: flags.split, flavour,
          ...(dataDir !== undefined ? { dataDir } : {}),
          ...(maxExamples !== undefined ? { maxExamples } : {}),
          onProgress: progressDisplay(`eval ${task}`),
        };
        const result: BankEvaluation = await evaluateBank(options);
        const mark = result.random_weights ? ` [${RANDOM_WEIGHTS_MARK}]` : '';
        if (!flags.json) {
          process.stdout.write(`${task} ${result.split} (${result.examples} examples, predict ${result.predict}): ${fmt(result.metrics[flavour])} [${flavour}]${mark}\n`);
          for (const f of ['dept', 'official'] as const) if (f !== flavour) process.stdout.write(`  ${f} flavour: ${fmt(result.metrics[f])}${mark}\n`);
        }
        // A finished run's own numbers for this split, when it recorded the same task and split in full.
        let comparison: { recorded: Record<string, number>; same: boolean; first_difference: string | null } | null = null;
        const recorded = run?.results ? (result.split === 'test' ? run.results.test : run.results.dev) : undefined;
        if (run && recorded && result.task === run.task && maxExamples === undefined) {
          const diff = firstDifference(result.metrics[flavour], recorded);
          comparison = { recorded, same: diff === null, first_difference: diff };
          process.stderr.write(diff === null
            ? `the same as ${join(run.dir, 'results.json')} (${result.split}, ${flavour})\n`
            : `dept: warning: differs from ${join(run.dir, 'results.json')} (${result.split}): ${diff}; a setting differs from the run's (flags override it)\n`);
        }
        if (result.random_weights) process.stderr.write(`${RANDOM_WEIGHTS_MARK}: ${pretrained.dir} has random weights\n`);
        const record = {
          kind: EVAL_KIND,
          task: result.task,
          split: result.split,
          examples: result.examples,
          predict: result.predict,
          flavour,
          metrics: result.metrics,
          selection_metric: result.selection_metric,
          settings: { ...result.settings, data_dir: dataDir ?? null, max_eval_examples: maxExamples ?? null },
          model: pretrained.dir,
          bank: flags.bank,
          bank_format: opened.format,
          bank_weights: opened.path,
          run: run ? { dir: run.dir, ...(comparison ? { results: comparison } : {}) } : null,
          random_weights: result.random_weights,
          backend: currentBackend()?.name ?? 'unknown',
          wall_seconds: Math.round((Date.now() - start) / 10) / 100,
        };
        if (flags.out) {
          const { writeFileAtomic, writeJsonAtomic } = await import('@dept/core');
          const { mkdirSync } = await import('node:fs');
          mkdirSync(flags.out, { recursive: true });
          checkOut(flags.out, Boolean(flags.overwrite)); // again: another process may have written meanwhile
          writeFileAtomic(join(flags.out, 'predictions.jsonl'), result.predictions.map((p) => `${JSON.stringify(p)}\n`).join(''));
          writeJsonAtomic(join(flags.out, 'eval.json'), record); // last: it marks the folder's evaluation complete
          process.stderr.write(`wrote ${join(flags.out, 'eval.json')} and ${join(flags.out, 'predictions.jsonl')}\n`);
        }
        if (flags.json) process.stdout.write(`${JSON.stringify(record, null, 2)}\n`);
      } finally {
        pretrained.model.dispose();
      }
    });
}
