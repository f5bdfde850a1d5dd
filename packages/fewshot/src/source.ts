/**
 * Initialising a target run from source banks (transfer): one bank, the average of several, or the one with the
 * lowest loss on the target's dev split before training (as SPoT retrieves prompts). Every source is imported
 * (ours, DePT, ATTEMPT, PEFT) and fitted to the run's m, s and r first.
 */
import { DeptError, Rng } from '@dept/core';
import type { PretrainedT5 } from '@dept/t5';
import { DecomposedPrompt, type Bank } from '@dept/prompt';
import { loadDeptDataset, type LayoutName } from '@dept/tasks';
import { adaptBank, averageBanks, chooseBestSource, importSourceBank } from '@dept/transfer';
import { checkModelLimits, derivedSeed, devLoss, resolveTrainConfig, type TrainConfig } from '@dept/train';

/** Options of {@link resolveSourceBank}. */
export interface SourceBankOptions {
  source: { paths: readonly string[]; mode: 'single' | 'average' | 'best'; reset_A?: boolean; reset_B?: boolean };
  pretrained: PretrainedT5;
  /** The target task (for `best`: its dev loss decides). */
  task: string;
  train: Partial<TrainConfig>;
  seed: number;
  dataDir?: string;
  /** The target's data folder, as the run reads it (`runCell`'s `layout` and `subset`). */
  layout?: LayoutName;
  subset?: string;
  /** Dev examples scored for `best` (default 64). */
  bestExamples?: number;
  log?: (line: string) => void;
}

/**
 * The initial bank of a target run.
 *
 * @example
 * const bank = await resolveSourceBank({ source: { paths: ['banks/mnli', 'banks/qnli'], mode: 'best' }, pretrained, task: 'rte', train: {}, seed: 42 });
 */
export async function resolveSourceBank(options: SourceBankOptions): Promise<Bank> {
  const { source, pretrained } = options;
  const config = resolveTrainConfig(options.train);
  checkModelLimits(config, pretrained.config);
  const target = { num_virtual_tokens: config.num_virtual_tokens, max_length: config.max_length, r: config.r, token_dim: pretrained.config.d_model, lora_alpha: config.lora_alpha };
  const log = options.log ?? (() => undefined);
  if (source.paths.length > 1 && source.mode === 'single') {
    throw new DeptError(`bank: ${source.paths.length} source banks but mode "single"; use mode average or best`);
  }
  const banks = source.paths.map((path, i) => {
    const rng = new Rng(derivedSeed(options.seed, 'transfer', i));
    const imported = importSourceBank(path, { r: config.r, max_length: config.max_length, lora_alpha: config.lora_alpha, rng });
    if (imported.bank.config.token_dim !== target.token_dim) {
      throw new DeptError(`${imported.weightsPath}: token_dim ${imported.bank.config.token_dim} does not match the model's d_model ${target.token_dim} (${pretrained.dir}); a prompt cannot move between model widths`);
    }
    const adapted = adaptBank(imported.bank, target, {
      rng, ...(source.reset_A !== undefined ? { resetA: source.reset_A } : {}), ...(source.reset_B !== undefined ? { resetB: source.reset_B } : {}),
    });
    for (const note of [...imported.notes, ...adapted.notes]) log(`bank ${path} (${imported.format}): ${note}`);
    return { name: path, bank: adapted.bank };
  });
  if (source.mode === 'average' && banks.length > 1) {
    log(`bank: averaging ${banks.length} sources`);
    return averageBanks(banks.map((b) => b.bank));
  }
  if (source.mode === 'best' && banks.length > 1) {
    const ds = await loadDeptDataset(options.task, {
      ...(options.dataDir ? { dataDir: options.dataDir } : {}),
      ...(options.layout ? { layout: options.layout } : {}),
      ...(options.subset ? { subset: options.subset } : {}),
      seed: options.seed,
    });
    const dev = ds.dev.slice(0, options.bestExamples ?? 64);
    const best = await chooseBestSource(banks, async (bank) => {
      const prompt = DecomposedPrompt.fromHost({ ...target, lora_alpha: bank.config.lora_alpha }, bank);
      try {
        return await devLoss(pretrained.model, pretrained.tokenizer!, prompt, dev, { maxLength: config.max_length, padToMaxLength: config.pad_to_max_length, batchSize: config.eval_batch_size });
      } finally {
        prompt.dispose();
      }
    });
    for (const l of best.losses) log(`bank ${l.name}: dev loss ${l.loss.toFixed(4)}${l.name === best.name ? ' (chosen)' : ''}`);
    return best.bank;
  }
  return (banks[0] as { bank: Bank }).bank;
}
