/**
 * @dept/transfer: prompt banks across projects, and target prompts initialised from source banks.
 *
 * 1. Import (no Python): DePT `.bin`, ATTEMPT `.pt`, PEFT prompt tuning and multitask prompt tuning, our banks.
 * 2. Export: plain PEFT prompt tuning (r = 0), our bank folder.
 * 3. Inspect: format, config and float64 statistics of any bank.
 * 4. Transfer init: fit a bank to target sizes, average banks, choose the source with the lowest dev loss.
 * 5. The hub: PEFT prompt-tuning adapters fetched into the hub cache, and found there by repository id.
 */
export { type BankFormat, type RawBank, MPT_KEYS, readRawBank, normaliseTensorName } from './formats.ts';
export { type ImportBankOptions, type ImportedBank, importBank } from './import.ts';
export { type PeftPromptTuningConfig, peftConfigOf, exportPeft, exportDept } from './export.ts';
export { type TensorSummary, type BankInspection, inspectBank } from './inspect.ts';
export { type AdaptTarget, type AdaptOptions, type NamedBank, type BestSource, adaptBank, averageBanks, chooseBestSource } from './adapt.ts';
export { SOURCE_MANIFEST_FILE, DEFAULT_SOURCE_BANK, type BankRefOptions, type ResolvedBankRef, listSourceBanks, resolveBankRef, importSourceBank } from './named.ts';
export { PROMPT_PEFT_TYPES, type HubBankRef, type FetchBankOptions, type FetchedBank, parseHubBankRef, fetchBank, cachedBank, hubBankFolder } from './fetch.ts';
