import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { DeptError, isDir, readJsonFile, readRegularFile, withEnvironmentErrors } from '@dept/core';
import type { WritableDtype } from '@dept/tensor';
import { parseT5Config, presetConfig, T5_PRESETS } from '@dept/t5/config';
import { intOption } from '../options.ts';

/** Sample text for the demo tokenizer when no real tokenizer is given (a few hundred common English words). */
export const DEMO_TOKENIZER_TEXT = [
  'the a an of to and in is it that for on was with as be at by this from or have not are but had they his her',
  'sentence premise hypothesis question passage answer paragraph word text choice entailment contradiction neutral',
  'true false yes no good bad great terrible movie film story acting plot boring fun loved hated best worst',
  'man woman child dog cat house car city school book water food time day year people world life work place',
  'said went came saw made took gave found knew thought told asked left ran sat stood walked played bought',
  'Classify this text is postive or not: . , ; ! ? \' " ( ) - 0 1 2 3 4 5 6 7 8 9',
].join(' ');

/** `dept model init`: writes a random T5 checkpoint in the Hugging Face layout. */
export function registerModel(program: Command): void {
  const model = program.command('model').description('make or fetch T5 model folders');
  model
    .command('init')
    .description('write a random T5 checkpoint (HF layout: config.json, model.safetensors, tokenizer.json); numbers made with it are random-weight numbers')
    .requiredOption('--config <file|preset>', `a config.json path or a preset (${Object.keys(T5_PRESETS).join(', ')}) (required)`)
    .requiredOption('--out <dir>', 'output folder, new or empty (required)')
    .option('--seed <n>', 'random seed', '0')
    .option('--tokenizer <dir>', 'copy the tokenizer files of this folder (it must hold tokenizer.json) (default: none: a demo tokenizer, see --sample)')
    .option('--sample <file>', 'without --tokenizer: build the demo tokenizer from this text file (default: a built-in English sample)')
    .option('--dtype <dtype>', 'stored dtype: F32, F16 or BF16', 'F32')
    .option('--shard-bytes <n>', 'split into shards of at most this many bytes, with model.safetensors.index.json (default: one file)')
    .option('--json', 'print {out, config, dtype, random_weights} as JSON instead of a line (default: off)')
    .action(async (opts: { config: string; out: string; seed: string; tokenizer?: string; sample?: string; dtype: string; shardBytes?: string; json?: boolean }) => {
      if (isDir(opts.config)) throw new DeptError(`--config ${opts.config}: is a folder, expected a config.json file or a preset (${Object.keys(T5_PRESETS).join(', ')})`);
      const config = existsSync(opts.config)
        ? parseT5Config(readJsonFile(opts.config, 'a T5 config.json'), opts.config)
        : presetConfig(opts.config);
      if (!['F32', 'F16', 'BF16'].includes(opts.dtype)) throw new DeptError(`--dtype is "${opts.dtype}", expected F32, F16 or BF16`);
      if (existsSync(opts.out) && existsSync(`${opts.out}/config.json`)) {
        throw new DeptError(`${opts.out}: already holds a model (config.json); choose another --out`);
      }
      let sampleTexts: string[] | undefined;
      if (!opts.tokenizer) {
        if (opts.sample && !existsSync(opts.sample)) throw new DeptError(`--sample ${opts.sample}: file not found`);
        const sample = opts.sample;
        if (sample && isDir(sample)) throw new DeptError(`--sample ${sample}: is a folder, expected a text file`);
        sampleTexts = (sample ? withEnvironmentErrors(sample, 'read', () => readRegularFile(sample, 'a text file')).toString('utf8') : DEMO_TOKENIZER_TEXT).split(/\r?\n/);
      }
      const { writeRandomT5 } = await import('@dept/t5');
      writeRandomT5(opts.out, config, {
        seed: intOption(opts.seed, '--seed', { min: 0 }),
        ...(opts.tokenizer ? { tokenizerDir: opts.tokenizer } : {}),
        ...(sampleTexts ? { sampleTexts } : {}),
        dtype: opts.dtype as WritableDtype,
        ...(opts.shardBytes ? { maxShardBytes: intOption(opts.shardBytes, '--shard-bytes', { min: 1 }) } : {}),
      });
      if (opts.json) process.stdout.write(`${JSON.stringify({ out: opts.out, config, dtype: opts.dtype, random_weights: true }, null, 2)}\n`);
      else process.stdout.write(`made a random T5 (d_model ${config.d_model}, ${config.num_layers} layers, vocab ${config.vocab_size}) in ${opts.out}\n`);
    });
}
