/**
 * Exporting banks: to a plain PEFT prompt-tuning adapter (r = 0 only) or to our bank folder.
 */
import { join } from 'node:path';
import { DeptError, writeFolderAtomic, writeJsonAtomic } from '@dept/core';
import { writeSafetensors } from '@dept/tensor';
import { BANK_CONFIG_FILE, BANK_FOLDER_FILES, BANK_KEYS, BANK_WEIGHTS_FILE, type Bank, validateBank, writeBank } from '@dept/prompt';

/** `adapter_config.json` of a plain PEFT prompt-tuning adapter, as PEFT's dataclass dump writes it. */
export interface PeftPromptTuningConfig {
  auto_mapping: null;
  base_model_name_or_path: string | null;
  inference_mode: boolean;
  modules_to_save: null;
  num_attention_heads: number | null;
  num_layers: number | null;
  num_transformer_submodules: 1;
  num_virtual_tokens: number;
  peft_type: 'PROMPT_TUNING';
  prompt_tuning_init: 'TEXT' | 'SAMPLE_VOCAB' | 'RANDOM';
  prompt_tuning_init_text: string | null;
  revision: string | null;
  task_type: 'SEQ_2_SEQ_LM';
  token_dim: number;
  tokenizer_kwargs: null;
  tokenizer_name_or_path: string | null;
}

/**
 * The PEFT config of a bank exported as plain prompt tuning. `num_transformer_submodules` is 1 (encoder
 * prompt only) and must stay so: PEFT's seq2seq default of 2 would expect a decoder prompt too. PEFT refuses
 * TEXT init without a tokenizer name, so such a bank is marked RANDOM (the init method is informational once
 * trained weights are loaded).
 *
 * @example
 * peftConfigOf(bank).peft_type; // 'PROMPT_TUNING'
 */
export function peftConfigOf(bank: Bank, notes: string[] = []): PeftPromptTuningConfig {
  const c = bank.config;
  let init = c.prompt_tuning_init;
  if (init === 'TEXT' && c.tokenizer_name_or_path === null) {
    init = 'RANDOM';
    notes.push('prompt_tuning_init TEXT without tokenizer_name_or_path is refused by PEFT; written as RANDOM (the trained prompt is loaded over it anyway)');
  }
  return {
    auto_mapping: null,
    base_model_name_or_path: c.base_model_name_or_path,
    inference_mode: true,
    modules_to_save: null,
    num_attention_heads: c.num_attention_heads,
    num_layers: c.num_layers,
    num_transformer_submodules: 1,
    num_virtual_tokens: c.num_virtual_tokens,
    peft_type: 'PROMPT_TUNING',
    prompt_tuning_init: init,
    prompt_tuning_init_text: init === 'TEXT' ? c.prompt_tuning_init_text : null,
    revision: c.revision,
    task_type: 'SEQ_2_SEQ_LM',
    token_dim: c.token_dim,
    tokenizer_kwargs: null,
    tokenizer_name_or_path: c.tokenizer_name_or_path,
  };
}

/**
 * Writes a bank as a plain PEFT prompt-tuning adapter: `adapter_config.json` (`peft_type` "PROMPT_TUNING",
 * sorted keys) and `adapter_model.safetensors` holding only `prompt_embeddings` [m, d]. Only r = 0 banks can
 * be exported: DePT's offset A·B is added to the input embeddings by position, and PEFT prompt tuning has no
 * such term, so it cannot be folded into the prompt. Written atomically; returns notes.
 *
 * @example
 * exportPeft(bank, 'out/peft-adapter'); // then in Python: PeftModel.from_pretrained(t5, 'out/peft-adapter')
 */
export function exportPeft(bank: Bank, dir: string): { notes: string[] } {
  validateBank(bank, dir);
  if (bank.config.r !== 0) {
    throw new DeptError(
      `cannot export a bank with r = ${bank.config.r} as plain PEFT prompt tuning: its offset scaling·(A @ B) is added to the input embeddings by position and cannot be folded into the prompt; export with --to dept, or train with r = 0`,
    );
  }
  const notes: string[] = [];
  const config = peftConfigOf(bank, notes);
  writeFolderAtomic(
    dir,
    (tmp) => {
      writeJsonAtomic(join(tmp, BANK_CONFIG_FILE), config, 2, { sortKeys: true });
      writeSafetensors(join(tmp, BANK_WEIGHTS_FILE), { [BANK_KEYS.prompt_embeddings]: bank.prompt_embeddings }, { format: 'pt' });
    },
    BANK_FOLDER_FILES,
  );
  return { notes };
}

/**
 * Writes a bank as our bank folder (DePT fork layout with `adapter_model.safetensors`); the same as
 * `writeBank` from `@dept/prompt`.
 *
 * @example
 * exportDept(importBank('../shared/banks/dept-sst2').bank, 'banks/sst2');
 */
export function exportDept(bank: Bank, dir: string): void {
  writeBank(dir, bank);
}
