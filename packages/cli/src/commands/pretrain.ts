import { join } from 'node:path';
import type { Command } from 'commander';
import type { PretrainEvent, PretrainManifest, PretrainOptions } from '@dept/pretrain';
import type { TrainEvent } from '@dept/train';
import { DEFAULT_TRAIN_CONFIG } from '@dept/train/config';
import { progressReporter } from './common.ts';
import { RANDOM_WEIGHTS_MARK } from './bank-use.ts';
import { deptCommand, onInterrupt, TrainProgress } from '../interrupt.ts';
import { intOption, numberOption } from '../options.ts';
import { resolvePretrainRecipe, type PretrainFlags } from '../pretrain-recipe.ts';

const collect = (value: string, previous: string[] = []) => [...previous, value];
const int = (flag: string, min: number) => (value: string) => intOption(value, flag, { min });
const positive = (flag: string) => (value: string) => numberOption(value, flag, { positive: true });
/** `(default: the recipe's, else 0.3)` for a flag over `train.<field>`. */
const trainDefault = (field: keyof typeof DEFAULT_TRAIN_CONFIG) => `(default: the recipe's, else ${String(DEFAULT_TRAIN_CONFIG[field])})`;

/** The result for people: the banks written, by the names transfer reads them by, and the shared bank's metrics. */
function summary(outDir: string, manifest: PretrainManifest): string {
  const mark = manifest.random_weights ? ` [${RANDOM_WEIGHTS_MARK}]` : '';
  const fmt = (metrics: Record<string, number> | undefined) => Object.entries(metrics ?? {}).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ');
  const lines = [`${outDir}: banks ${Object.keys(manifest.banks).map((b) => `${outDir}#${b}`).join(', ')}`];
  for (const task of manifest.tasks) {
    lines.push(`  ${task}: shared bank dev ${fmt(manifest.dev[task]) || '-'}; test ${fmt(manifest.test[task]) || '(no test part)'}${mark}`);
  }
  for (const s of manifest.skipped) lines.push(`  ${s.task}: skipped (${s.reason})`);
  return lines.join('\n');
}

/** `dept pretrain`: multitask source pretraining into a folder of named banks (shared, and one per task). */
export function registerPretrain(program: Command): void {
  program
    .command('pretrain [recipe]')
    .description('train a shared decomposed prompt on a mixture of source tasks (and optionally one bank per task); writes <out>/banks/<name>/ and <out>/manifest.json, which transfer reads by name (<out>#<name>)')
    .option('--sources <names>', "source tasks, comma-separated, e.g. mnli,qqp,qnli,sst2 (default: the recipe's; required without one)")
    .option('--data-dir <dir>', "data folder (default: the recipe's data.dir, else $DEPT_DATA, else datasets/)")
    .option('--model <dir>', "Hugging Face T5 folder (default: the recipe's model.path; required without one)")
    .option('--mixing <kind>', "proportional (rate ∝ min(n, cap)) | temperature (rate ∝ min(n, cap)^(1/T)) (default: the recipe's, else proportional)")
    .option('--cap <n>', "examples-proportional cap K (default: the recipe's, else no cap)", int('--cap', 1))
    .option('--temperature <t>', "mixing temperature T (default: the recipe's, else 1)", positive('--temperature'))
    .option('--per-task-steps <n>', "continue the shared bank on each task alone for n steps, 0 = shared bank only (default: the recipe's, else 0)", int('--per-task-steps', 0))
    .option('--max-steps <n>', `steps on the mixture ${trainDefault('max_steps')}`, int('--max-steps', 1))
    .option('--batch-size <n>', `training batch size ${trainDefault('batch_size')}`, int('--batch-size', 1))
    .option('--eval-steps <n>', `evaluate on dev every n steps ${trainDefault('eval_steps')}`, int('--eval-steps', 1))
    .option('--save-steps <n>', `checkpoint every n steps ${trainDefault('save_steps')}`, int('--save-steps', 1))
    .option('--lr <x>', `learning rate of P ${trainDefault('lr')}`, positive('--lr'))
    .option('--lora-lr <x>', `learning rate of A and B ${trainDefault('lora_lr')}`, positive('--lora-lr'))
    .option('--max-train-examples <n>', "use at most n training examples per task, a seeded subsample (default: the recipe's, else all)", int('--max-train-examples', 1))
    .option('--max-eval-examples <n>', "use at most n dev and n test examples per task (default: the recipe's, else all)", int('--max-eval-examples', 1))
    .option('--seed <n>', "training seed: batches, dropout, init, subsamples (default: the recipe's, else 42)", int('--seed', 0))
    .option('--missing-data <what>', "a source without data: error | skip (default: the recipe's, else error)")
    .option('--out <dir>', `output folder (default: the recipe's out, else runs/<name>; <name> is the recipe's name, else "pretrain")`)
    .option('--set <key=value>', 'set any recipe field, e.g. --set mixing.cap=524288, repeatable (default: none)', collect)
    .option('--resume', 'continue an unfinished pretraining in --out; finished stages are kept (default: off)')
    .option('--overwrite', 'replace a finished or unfinished pretraining in --out (default: off)')
    .option('--json', 'print the manifest as JSON instead of a summary (default: off)')
    .action(async (recipePath: string | undefined, flags: PretrainFlags & { resume?: boolean; overwrite?: boolean; json?: boolean }) => {
      const recipe = resolvePretrainRecipe(recipePath, flags);
      const outDir = recipe.out ?? join('runs', recipe.name);
      const { initBackend } = await import('@dept/tensor');
      const { ensureModel } = await import('@dept/fewshot');
      const { runPretrain } = await import('@dept/pretrain');
      const { releaseHeldLocks } = await import('@dept/train');
      await initBackend({ announce: true });
      const pretrained = ensureModel(recipe.model);
      const reporters = new Map<string, (event: TrainEvent) => void>();
      let stage: { name: string; progress: TrainProgress } | null = null;
      const onEvent = (event: PretrainEvent) => {
        if (event.type === 'stage') stage = { name: event.stage, progress: new TrainProgress(join(outDir, 'runs', event.stage)) };
        if (event.type === 'train') stage?.progress.see(event.event);
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
      // The same command with --resume continues: finished stages are kept, the one in progress resumes.
      const args = process.argv.slice(2).filter((a) => a !== '--overwrite');
      const again = deptCommand(args.includes('--resume') ? args : [...args, '--resume']);
      const stop = onInterrupt(() => `${stage ? `in stage ${stage.name} ${stage.progress.describe()}` : 'before the first stage started'}; resume with: ${again}`, releaseHeldLocks);
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
        if (flags.json) process.stdout.write(`${JSON.stringify({ out: outDir, ...manifest }, null, 2)}\n`);
        else process.stdout.write(`${summary(outDir, manifest)}\n`);
      } finally {
        stop();
        pretrained.model.dispose();
      }
    });
}
