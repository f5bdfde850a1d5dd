/**
 * `dept predict --model M --bank B --task T [--input PATH]`: labels rows with a bank and prints one JSON line per
 * row on stdout: `{"prediction": "1", "label_name": "positive", "scores": {"0": -3.2, "1": -0.04}}` (scores with
 * `--predict score`). Rows come from `--input` (a file in any format the readers take, or a data folder's
 * `--split`), else from stdin: one JSON object a line with the task's field names, or plain text for tasks with one
 * field.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { DeptError } from '@dept/core';
import type { SourceSplit } from '@dept/tasks';
import { progressDisplay } from './common.ts';
import { RANDOM_WEIGHTS_MARK, addUseFlags, describeOpened, explicitSettings, openModelAndBank, taskOf, type UseFlags } from './bank-use.ts';

interface PredictFlags extends UseFlags {
  input?: string;
  split?: string;
}

/** Registers `dept predict`. */
export function registerPredict(program: Command): void {
  const cmd = program
    .command('predict')
    .description('label rows with a bank: one JSON line per row on stdout ({"prediction", "label_name", "scores" when scoring})');
  addUseFlags(cmd)
    .option('--input <path>', 'rows: a .tsv, .jsonl/.json, .parquet or .txt file, or a data folder (with --split); default: stdin, one JSON object (or, for one-field tasks, plain text) a line')
    .option('--split <name>', 'with a data folder as --input: the split to read (train, validation, test, …)', 'test')
    .addHelpText('after', '\nExamples:\n  echo \'{"premise": "It rained.", "hypothesis": "The ground is wet."}\' | dept predict --model M --bank B --task superglue-cb\n  echo "a gorgeous, witty film" | dept predict --model M --bank B --task sst2 --predict score')
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
        process.stdout.write(predictions.map((p) => `${JSON.stringify({ ...p, ...mark })}\n`).join(''));
        if (pretrained.randomWeights) process.stderr.write(`${RANDOM_WEIGHTS_MARK}: ${pretrained.dir} has random weights\n`);
      } finally {
        pretrained.model.dispose();
      }
    });
}
