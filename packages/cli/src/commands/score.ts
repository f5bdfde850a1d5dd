import type { Command } from 'commander';
import { DeptError, readJsonFile, writeJsonAtomic } from '@dept/core';
import type { HostTensor } from '@dept/tensor';
import { intOption } from '../options.ts';
import { RANDOM_WEIGHTS_MARK } from './bank-use.ts';

/** A host tensor as nested arrays (for JSON). */
function nested(t: HostTensor): unknown {
  const build = (offset: number, dim: number): unknown => {
    if (dim === t.shape.length) return t.data[offset];
    const stride = t.shape.slice(dim + 1).reduce((a, b) => a * b, 1);
    return Array.from({ length: t.shape[dim] as number }, (_, i) => build(offset + i * stride, dim + 1));
  };
  return build(0, 0);
}

interface ScoreBatch {
  input_ids: number[][];
  attention_mask: number[][];
  labels: number[][];
}

function checkMatrix(value: unknown, field: string, file: string, rows?: number, cols?: number): number[][] {
  if (!Array.isArray(value) || value.length === 0 || !value.every((r) => Array.isArray(r) && r.every((v) => Number.isInteger(v)))) {
    throw new DeptError(`${file}: field "${field}" must be a non-empty list of lists of integers`);
  }
  const m = value as number[][];
  const width = cols ?? m[0]!.length;
  if (rows !== undefined && m.length !== rows) throw new DeptError(`${file}: field "${field}" has ${m.length} rows, expected ${rows}`);
  m.forEach((r, i) => {
    if (r.length !== width) throw new DeptError(`${file}: field "${field}" row ${i} has ${r.length} values, expected ${width}`);
  });
  return m;
}

/** Reads and validates a pre-tokenized batch file. */
export function readScoreBatch(file: string): ScoreBatch {
  const raw = readJsonFile<Record<string, unknown>>(file, 'a pre-tokenized batch (JSON)');
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new DeptError(`${file}: expected a JSON object with input_ids, attention_mask and labels`);
  const input_ids = checkMatrix(raw.input_ids, 'input_ids', file);
  const attention_mask = checkMatrix(raw.attention_mask, 'attention_mask', file, input_ids.length, input_ids[0]!.length);
  const labels = checkMatrix(raw.labels, 'labels', file, input_ids.length);
  return { input_ids, attention_mask, labels };
}

/**
 * `dept score`: the port-checking tool. For a pre-tokenized batch it writes the loss, logits, encoder output,
 * the gradients with respect to P, A and B, and raw greedy ids, so any implementation can be compared with it.
 */
export function registerScore(program: Command): void {
  program
    .command('score')
    .description('loss, logits, encoder states, gradients and greedy ids of a model + bank on a pre-tokenized batch (for parity checks)')
    .requiredOption('--model <dir>', 'Hugging Face T5 folder (required)')
    .requiredOption('--bank <dir>', 'bank folder (adapter_config.json + adapter_model.safetensors) (required)')
    .requiredOption('--batch <file>', 'JSON with input_ids, attention_mask (padded to max_length) and labels (-100 ignored) (required)')
    .requiredOption('--out <file>', 'output JSON (required)')
    .option('--greedy-steps <n>', 'raw argmax steps from the decoder start token (no EOS stop)', '0')
    .option('--json', 'print {out, loss, greedy_ids, random_weights} as JSON instead of a line (default: off)')
    .action(async (opts: { model: string; bank: string; batch: string; out: string; greedySteps: string; json?: boolean }) => {
      const steps = intOption(opts.greedySteps, '--greedy-steps', { min: 0 });
      const batch = readScoreBatch(opts.batch);
      const { initBackend } = await import('@dept/tensor');
      const { loadPretrainedT5 } = await import('@dept/t5');
      const { DecomposedPrompt, readBank, scoreBatch } = await import('@dept/prompt');
      const { resolveBankRef } = await import('@dept/transfer');
      const bank = readBank(resolveBankRef(opts.bank).path);
      await initBackend({ announce: true });
      const { model, config, randomWeights } = loadPretrainedT5(opts.model);
      if (bank.config.token_dim !== config.d_model) {
        throw new DeptError(`${opts.bank}/adapter_config.json: token_dim ${bank.config.token_dim} does not match the model's d_model ${config.d_model}`);
      }
      const s = batch.input_ids[0]!.length;
      if (s !== bank.config.max_length) {
        throw new DeptError(`${opts.batch}: inputs have ${s} positions, but the bank's max_length is ${bank.config.max_length} (DePT pads inputs to exactly max_length)`);
      }
      for (const row of batch.input_ids) for (const id of row) if (id < 0 || id >= config.vocab_size) throw new DeptError(`${opts.batch}: input id ${id} is outside the vocabulary [0, ${config.vocab_size})`);
      const prompt = DecomposedPrompt.fromHost(bank.config, bank);
      const scores = await scoreBatch(model, prompt, batch, { greedySteps: steps });
      const g = scores.grads;
      const result = {
        loss: scores.loss,
        logits: nested(scores.logits),
        encoder_last_hidden_state: nested(scores.encoder_last_hidden_state),
        grads: { prompt_embeddings: nested(g.prompt_embeddings), lora_embedding_A: g.lora_embedding_A && nested(g.lora_embedding_A), lora_embedding_B: g.lora_embedding_B && nested(g.lora_embedding_B) },
        greedy_ids: scores.greedy_ids,
      };
      writeJsonAtomic(opts.out, result, 0);
      process.stderr.write(`wrote ${opts.out}\n`);
      if (opts.json) process.stdout.write(`${JSON.stringify({ out: opts.out, loss: result.loss, greedy_ids: result.greedy_ids, random_weights: randomWeights }, null, 2)}\n`);
      else process.stdout.write(`loss ${result.loss}${randomWeights ? ` [${RANDOM_WEIGHTS_MARK}]` : ''}\n`);
      prompt.dispose();
      model.dispose();
    });
}
