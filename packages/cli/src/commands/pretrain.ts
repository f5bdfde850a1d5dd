import { join } from 'node:path';
import type { Command } from 'commander';
import type { PretrainEvent, PretrainOptions } from '@dept/pretrain';
import type { TrainEvent } from '@dept/train';
import { progressReporter } from './common.ts';
import { intOption, numberOption } from '../options.ts';
import { resolvePretrainRecipe, type PretrainFlags } from '../pretrain-recipe.ts';

const collect = (value: string, previous: string[] = []) => [...previous, value];
const int = (flag: string, min: number) => (value: string) => intOption(value, flag, { min });
const positive = (flag: string) => (value: string) => numberOption(value, flag, { positive: true });

/** `dept pretrain`: multitask source pretraining into a folder of named banks (shared, and one per task). */
export function registerPretrain(program: Command): void {
  program
    .command('pretrain [recipe]')
    .description('train a shared decomposed prompt on a mixture of source tasks (and optionally one bank per task); writes <out>/banks/<name>/ and <out>/manifest.json, which transfer reads by name (<out>#<name>)')
    .option('--sources <names>', 'source tasks, comma-separated (e.g. mnli,qqp,qnli,sst2)')
    .option('--data-dir <dir>', 'data folder (default $DEPT_DATA, else datasets/)')
    .option('--model <dir>', 'Hugging Face T5 folder')
    .option('--mixing <kind>', 'proportional (rate ∝ min(n, cap)) | temperature (rate ∝ min(n, cap)^(1/T))')
    .option('--cap <n>', 'examples-proportional cap K', int('--cap', 1))
    .option('--temperature <t>', 'mixing temperature T', positive('--temperature'))
    .option('--per-task-steps <n>', 'continue the shared bank on each task alone for n steps (0 = shared bank only)', int('--per-task-steps', 0))
    .option('--max-steps <n>', 'steps on the mixture', int('--max-steps', 1))
    .option('--batch-size <n>', 'training batch size', int('--batch-size', 1))
    .option('--eval-steps <n>', 'evaluate on dev every n steps', int('--eval-steps', 1))
    .option('--save-steps <n>', 'checkpoint every n steps', int('--save-steps', 1))
    .option('--lr <x>', 'learning rate of P', positive('--lr'))
    .option('--lora-lr <x>', 'learning rate of A and B', positive('--lora-lr'))
    .option('--max-train-examples <n>', 'use at most n training examples per task (seeded subsample)', int('--max-train-examples', 1))
    .option('--max-eval-examples <n>', 'use at most n dev and n test examples per task', int('--max-eval-examples', 1))
    .option('--seed <n>', 'training seed (batches, dropout, init, subsamples)', int('--seed', 0))
    .option('--missing-data <what>', 'a source without data: error | skip')
    .option('--out <dir>', 'output folder (default runs/<name>)')
    .option('--set <key=value>', 'set any recipe field, e.g. --set mixing.cap=524288 (repeatable)', collect)
    .option('--resume', 'continue an unfinished pretraining in --out (finished stages are kept)')
    .option('--overwrite', 'replace a finished or unfinished pretraining in --out')
    .action(async (recipePath: string | undefined, flags: PretrainFlags & { resume?: boolean; overwrite?: boolean }) => {
      const recipe = resolvePretrainRecipe(recipePath, flags);
      const outDir = recipe.out ?? join('runs', recipe.name);
      const { initBackend } = await import('@dept/tensor');
      const { ensureModel } = await import('@dept/fewshot');
      const { runPretrain } = await import('@dept/pretrain');
      await initBackend({ announce: true });
      const pretrained = ensureModel(recipe.model);
      const reporters = new Map<string, (event: TrainEvent) => void>();
      const onEvent = (event: PretrainEvent) => {
        if (event.type === 'skip-source') process.stderr.write(`pretrain: skipping ${event.task}: ${event.reason}\n`);
        if (event.type === 'note') process.stderr.write(`pretrain: ${event.task}: note: ${event.line}\n`);
        else if (event.type === 'sources') {
          const parts = event.tasks.map((t) => `${t} ${event.examples[t]} examples, rate ${(event.rates[t] as number).toFixed(4)}`);
          process.stderr.write(`pretrain: mixing ${parts.join('; ')}\n`);
        } else if (event.type === 'stage') {
          if (event.finished) process.stderr.write(`pretrain: stage ${event.stage} already finished; kept\n`);
          reporters.set(event.stage, progressReporter(event.stage === 'shared' ? `shared (${event.tasks.join('+')})` : event.stage));
        } else if (event.type === 'train') reporters.get(event.stage)?.(event.event);
      };
      try {
        const options: PretrainOptions = {
          pretrained,
          sources: recipe.sources,
          ...(recipe.data.dir ? { dataDir: recipe.data.dir } : {}),
          addPrefix: recipe.data.add_prefix,
          flavour: recipe.data.flavour,
          mixing: recipe.mixing,
          train: { ...recipe.train, seed: recipe.seed },
          perTaskSteps: recipe.per_task_steps,
          ...(recipe.per_task_train ? { perTaskTrain: recipe.per_task_train } : {}),
          ...(recipe.data.limits ? { limits: recipe.data.limits } : {}),
          missingData: recipe.missing_data,
          outDir,
          name: recipe.name,
          resume: Boolean(flags.resume),
          overwrite: Boolean(flags.overwrite),
          describe: { recipe: { ...recipe, out: undefined } }, // not where it is: a moved folder resumes
          onEvent,
        };
        const manifest = await runPretrain(options);
        process.stderr.write(`pretrain: wrote ${Object.keys(manifest.banks).map((b) => `${outDir}#${b}`).join(', ')}${manifest.random_weights ? ' [random weights]' : ''}\n`);
        process.stdout.write(`${JSON.stringify({ out: outDir, ...manifest }, null, 2)}\n`);
      } finally {
        pretrained.model.dispose();
      }
    });
}
