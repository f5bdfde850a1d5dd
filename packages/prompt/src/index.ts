/**
 * @dept/prompt: the decomposed prompt of DePT and the bank that stores it.
 *
 * 1. Bank: one folder in the layout of DePT's PEFT fork (`adapter_config.json` + `adapter_model.safetensors`).
 */
export {
  type Bank,
  type BankConfig,
  type BankConfigInput,
  type PromptTuningInit,
  BANK_CONFIG_FILE,
  BANK_WEIGHTS_FILE,
  BANK_KEYS,
  BANK_FOLDER_FILES,
  makeBankConfig,
  parseBankConfig,
  bankScaling,
  bankFromTensors,
  bankTensors,
  validateBank,
  readBank,
  writeBank,
} from './bank.ts';

// 2. The decomposed prompt as trainable tfjs variables, its initialisation and parameter budget.
export { DecomposedPrompt, type DecomposedPromptShape, promptScaling, unpaddedLength, cutRows } from './decomposed.ts';
export { initPromptValues, kaimingUniformA, tileIds, embeddingRows, DEFAULT_INIT_TEXT, type PromptInit, type InitPromptOptions } from './init.ts';
export { promptParameterCount, rankForBudget, budgetPairs } from './budget.ts';

// 3. Scoring a bank on a pre-tokenized batch (port checking).
export { scoreBatch, type TokenizedBatch, type BatchScores } from './score.ts';
