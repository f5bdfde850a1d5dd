/**
 * Prompt banks from the Hugging Face hub: `fetchBank('org/name')` downloads a PEFT prompt-tuning adapter
 * (`adapter_config.json` + `adapter_model.safetensors`) into the hub cache, in `huggingface_hub`'s layout, as
 * `fetchT5Model` does for models; `cachedBank('org/name')` finds it there again without the network, so a bank can
 * be named by its repository id (`org/name`, `org/name@revision`) wherever a bank path is taken. Adapters stored
 * only as `adapter_model.bin` (a PyTorch pickle) are refused: pickles are never fetched.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DeptError, parseJsonText } from '@dept/core';
import { cachedSnapshotFolder, hubCacheDir, openHubSnapshot, validateRepoId, type FetchedFiles, type HubOptions } from '@dept/hub';
import { BANK_CONFIG_FILE, BANK_WEIGHTS_FILE } from '@dept/prompt';
import type { BankFormat } from './formats.ts';
import { importBank } from './import.ts';

/** The `peft_type`s of prompt-tuning adapters dept reads (PEFT's, DePT's fork's, PEFT's multitask one). */
export const PROMPT_PEFT_TYPES: readonly string[] = ['PROMPT_TUNING', 'PROMPT_TUNING_LORA', 'MULTITASK_PROMPT_TUNING'];

/** A hub reference `org/name` or `org/name@revision`, split. */
export interface HubBankRef {
  repo: string;
  /** The revision after `@` (default `main`). */
  revision: string;
}

/**
 * Splits `org/name@revision` (revision default `main`); null when `ref` is not of that form (a local path such as
 * `./bank`, `/abs/bank`, `a/b/c`, or a plain name without an org).
 *
 * @example
 * parseHubBankRef('peft-internal/t5-sst2-prompt@v1'); // { repo: 'peft-internal/t5-sst2-prompt', revision: 'v1' }
 * parseHubBankRef('runs/cb');                          // { repo: 'runs/cb', revision: 'main' } (a path that does not exist may still be meant as a repository)
 * parseHubBankRef('../shared/banks/dept-sst2');        // null
 */
export function parseHubBankRef(ref: string): HubBankRef | null {
  const at = ref.indexOf('@');
  const repo = at < 0 ? ref : ref.slice(0, at);
  const revision = at < 0 ? 'main' : ref.slice(at + 1);
  if (!/^[\w.-]+\/[\w.-]+$/.test(repo) || revision === '') return null;
  try {
    validateRepoId(repo);
  } catch {
    return null;
  }
  return { repo, revision };
}

/** Options of {@link fetchBank}: the hub options plus the revision. */
export interface FetchBankOptions extends HubOptions {
  /** Branch, tag, `refs/pr/N` or commit (default `main`). */
  revision?: string;
}

/** What {@link fetchBank} fetched: `dir` is a bank folder every bank command reads (or name it `repo@revision`). */
export interface FetchedBank extends FetchedFiles {
  /** The format the bank was read as (`peft`, `ours`, `peft-mpt`). */
  format: BankFormat;
  /** Its sizes: m, d, s (rows of A, or the default input length of a prompt-only bank) and r. */
  shape: { num_virtual_tokens: number; token_dim: number; max_length: number; r: number };
  /** The model the adapter names in `base_model_name_or_path`, if any. */
  base_model_name_or_path: string | null;
  /** What was converted or guessed when reading it (the bank's import notes). */
  notes: string[];
}

/**
 * Downloads a PEFT prompt-tuning adapter from the hub (or finds it in the cache) and returns its snapshot folder,
 * checked: `adapter_config.json` is fetched and its `peft_type` checked before the weights, and the weights are
 * read back as a bank (shapes against the config, finite values) before the call returns. Files already in the
 * cache are not downloaded again; an interrupted download resumes.
 *
 * @example
 * const { dir, shape } = await fetchBank('org/t5-base-sst2-prompt');
 * shape.token_dim; // 768: use it with a t5-base-sized model
 *
 * @example
 * // Offline, from a cache filled earlier (here or by Python's huggingface_hub):
 * await fetchBank('org/t5-base-sst2-prompt', { offline: true, revision: 'v1' });
 */
export async function fetchBank(repo: string, opts: FetchBankOptions = {}): Promise<FetchedBank> {
  const revision = opts.revision ?? 'main';
  const snap = await openHubSnapshot({ type: 'model', id: repo }, revision, opts);
  const where = `${repo}@${revision}`;
  const missing = (what: string, expected: string): DeptError => new DeptError(
    snap.fromCache
      ? `${where}: the cache (${snap.folder}) has no ${what}; run the fetch once with the network`
      : `${where}: the repository has no ${what} (${expected})`,
  );
  if (!snap.has(BANK_CONFIG_FILE)) throw missing(BANK_CONFIG_FILE, 'expected a PEFT prompt-tuning adapter: adapter_config.json + adapter_model.safetensors');
  if (!snap.has(BANK_WEIGHTS_FILE)) {
    if (snap.has('adapter_model.bin')) {
      throw new DeptError(
        `${where}: has only adapter_model.bin, a PyTorch pickle; dept never fetches pickles, it fetches ${BANK_WEIGHTS_FILE} only: ask for a revision with safetensors (PEFT writes them by default), or download adapter_model.bin yourself and read it with dept bank convert (its safe reader executes nothing)`,
      );
    }
    throw missing(BANK_WEIGHTS_FILE, 'the weights of a PEFT adapter; other weight files are not fetched');
  }
  const configPath = await snap.download(BANK_CONFIG_FILE);
  const config = parseJsonText<unknown>(readFileSync(configPath, 'utf8'), `${where} ${BANK_CONFIG_FILE}`);
  const peftType = config !== null && typeof config === 'object' && !Array.isArray(config) ? (config as Record<string, unknown>).peft_type : undefined;
  if (typeof peftType !== 'string' || !PROMPT_PEFT_TYPES.includes(peftType)) {
    throw new DeptError(
      `${where} ${BANK_CONFIG_FILE}: peft_type is ${JSON.stringify(peftType ?? null)}, expected a prompt-tuning adapter (${PROMPT_PEFT_TYPES.join(', ')}); dept uses prompts, not ${typeof peftType === 'string' ? peftType : 'other'} adapters`,
    );
  }
  await snap.download(BANK_WEIGHTS_FILE);
  const files = [BANK_CONFIG_FILE, BANK_WEIGHTS_FILE];
  const imported = importBank(snap.folder);
  const c = imported.bank.config;
  return {
    ...snap.fetched(files),
    format: imported.format,
    shape: { num_virtual_tokens: c.num_virtual_tokens, token_dim: c.token_dim, max_length: c.max_length, r: c.r },
    base_model_name_or_path: c.base_model_name_or_path,
    notes: imported.notes,
  };
}

/**
 * The cached snapshot folder of a bank fetched from the hub, without touching the network; null when the cache has
 * no `adapter_config.json` and `adapter_model.safetensors` for it.
 *
 * @example
 * cachedBank('org/t5-base-sst2-prompt'); // '~/.cache/huggingface/hub/models--org--t5-base-sst2-prompt/snapshots/3f1c…' or null
 */
export function cachedBank(repo: string, opts: { revision?: string; cacheDir?: string } = {}): string | null {
  const folder = cachedSnapshotFolder({ type: 'model', id: repo }, opts.revision ?? 'main', opts.cacheDir === undefined ? {} : { cacheDir: opts.cacheDir });
  return folder !== null && existsSync(join(folder, BANK_CONFIG_FILE)) && existsSync(join(folder, BANK_WEIGHTS_FILE)) ? folder : null;
}

/**
 * The local folder of a bank named by its hub id (`org/name`, `org/name@revision`), from the cache; null when
 * `ref` is not of that form. Throws when it is, but the cache does not hold it, saying how to fetch it.
 *
 * @example
 * hubBankFolder('org/t5-base-sst2-prompt@v1'); // '…/models--org--t5-base-sst2-prompt/snapshots/3f1c…'
 */
export function hubBankFolder(ref: string): string | null {
  const hub = parseHubBankRef(ref);
  if (hub === null) return null;
  let folder: string | null;
  try {
    folder = cachedBank(hub.repo, { revision: hub.revision });
  } catch (error) {
    if (error instanceof DeptError) return null; // not a valid revision: a path after all
    throw error;
  }
  if (folder !== null) return folder;
  const fetch = `dept bank fetch ${hub.repo}${hub.revision === 'main' ? '' : `@${hub.revision}`}`;
  throw new DeptError(
    `bank "${ref}": no such file or folder, and the hub cache (${hubCacheDir()}) holds no bank ${hub.repo} at revision ${hub.revision}; if it is a hub repository, fetch it first: ${fetch}`,
  );
}
