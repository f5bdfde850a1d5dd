/**
 * `dept predict --model M --bank B --task T [--input PATH] [--json]`: labels rows with a bank and prints one line per
 * row on stdout: the label name and the prediction (`positive (1)`), with `--predict score` each label's score; with
 * `--json` one JSON object a row: `{"prediction": "1", "label_name": "positive", "scores": {"0": -3.2, "1": -0.04}}`. Rows come from `--input` (a file in any format the readers take, or a data folder's
 * `--split`), else from stdin: one JSON object a line with the task's field names, or plain text for tasks with one
 * field.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { DeptError } from '@dept/core';
import type { RowPrediction } from '@dept/fewshot';
import type { SourceSplit } from '@dept/tasks';
import { progressDisplay } from './common.ts';
import { RANDOM_WEIGHTS_MARK, addUseFlags, describeOpened, explicitSettings, openModelAndBank, taskOf, type UseFlags } from './bank-use.ts';

interface PredictFlags extends UseFlags {
  input?: string;
  split?: string;
  json?: boolean;
}

/** A prediction as a line for people: `positive (1)`, then each label's score with `--predict score`. */
function predictionLine(p: RowPrediction, randomWeights: boolean): string {
  const what = p.label_name === null ? p.prediction : `${p.label_name} (${p.prediction})`;
  const scores = p.scores ? `\tscores ${Object.entries(p.scores).map(([label, v]) => `${label} ${v.toFixed(4)}`).join(', ')}` : '';
  return `${what}${scores}${randomWeights ? `\t[${RANDOM_WEIGHTS_MARK}]` : ''}`;
}

/** Registers `dept predict`. */
export function registerPredict(program: Command): void {
  const cmd = program
    .command('predict')
    .description('label rows with a bank: one line per row on stdout (with --json one JSON object a row: {"prediction", "label_name", "scores" when scoring})');
  addUseFlags(cmd)
    .option('--input <path>', 'rows: a .tsv, .jsonl/.json, .parquet or .txt file, or a data folder (with --split) (default: stdin, one JSON object, or for one-field tasks plain text, a line)')
    .option('--split <name>', 'with a data folder as --input: the split to read (train, validation, test, …)', 'test')
    .option('--json', 'print one JSON object a row instead of a line for people (default: off)')
    .addHelpText('after', '\nExamples:\n  echo \'{"premise": "It rained.", "hypothesis": "The ground is wet."}\' | dept predict --model M --bank B --task superglue-cb\n  echo "a gorgeous, witty film" | dept predict --model M --bank B --task sst2 --predict score --json')
    .action(async (flags: PredictFlags) => {
      const { readInputRows, rowsFromLines, getTask } = await import('@dept/tasks');
      let readRows: (task: string) => Promise<{ rows: import('@dept/tasks').TaskRow[] }>;
      if (flags.input !== undefined) {
        const input = flags.input;
        readRows = (task) => readInputRows(input, getTask(task), { split: flags.split as SourceSplit });
      } else {
        if (process.stdin.isTTY) throw new DeptError('no rows: give --input FILE, or pipe rows on stdin (one JSON object, or plain text for one-field tasks, a line)');
        const text = readFileSync(0, 'utf8');
        readRows = async (task) => rowsFromLines(text, getTask(task), 'stdin');
      }
      // Bad rows are refused before the model loads, when the task is known already.
      let rows = flags.task ? (await readRows(flags.task)).rows : null;
      const { pretrained, opened, defaults } = await openModelAndBank(flags);
      try {
        const task = taskOf(flags, defaults);
        rows ??= (await readRows(task)).rows;
        const { predictRows } = await import('@dept/fewshot');
        for (const note of opened.notes) process.stderr.write(`note: bank: ${note}\n`);
        process.stderr.write(`predicting ${rows.length} rows of ${task} with ${describeOpened(pretrained, opened, flags.bank)}\n`);
        const predictions = await predictRows({
          ...defaults, ...explicitSettings(flags), pretrained, bank: opened.bank, task, rows, onProgress: progressDisplay(task),
        });
        const mark = pretrained.randomWeights ? { random_weights: true } : {};
        process.stdout.write(predictions.map((p) => `${flags.json ? JSON.stringify({ ...p, ...mark }) : predictionLine(p, pretrained.randomWeights)}\n`).join(''));
        if (pretrained.randomWeights) process.stderr.write(`${RANDOM_WEIGHTS_MARK}: ${pretrained.dir} has random weights\n`);
      } finally {
        pretrained.model.dispose();
      }
    });
}
