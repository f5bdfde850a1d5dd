/**
 * T5 model folders from the Hugging Face hub: `fetchT5Model('google/flan-t5-base')` downloads what
 * {@link loadPretrainedT5} reads (`config.json`, `model.safetensors` or `model.safetensors.index.json` and its
 * shards, and the tokenizer and generation files) into the hub cache, in `huggingface_hub`'s layout, and returns the
 * snapshot folder. Repositories with only PyTorch pickles (`pytorch_model.bin`) are refused: they are never read.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DeptError, parseJsonText, readRegularFile } from '@dept/core';
import { cachedSnapshotFolder, downloadSafetensors, openHubSnapshot, safetensorsKind, type FetchedFiles, type HubOptions } from '@dept/hub';
import { parseT5Config } from './config.ts';

/** The files of a model folder fetched besides the weights, when the repository has them. */
export const T5_HUB_EXTRA_FILES: readonly string[] = ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'generation_config.json'];

/** Options of {@link fetchT5Model}: the hub options plus the revision. */
export interface FetchT5Options extends HubOptions {
  /** Branch, tag, `refs/pr/N` or commit (default `main`). */
  revision?: string;
}

/** What {@link fetchT5Model} fetched: `dir` is the folder to pass to {@link loadPretrainedT5}. */
export type FetchedT5 = FetchedFiles;

/**
 * Downloads a T5 model folder from the hub (or finds it in the cache) and returns its snapshot folder. The
 * config is fetched and checked first, so a repository that is not a T5 fails before any weights download.
 * Files already in the cache are not downloaded again.
 *
 * @example
 * const { dir } = await fetchT5Model('google/flan-t5-base');
 * const { model, tokenizer } = loadPretrainedT5(dir);
 *
 * @example
 * // Offline, from a cache filled earlier (here or by Python's huggingface_hub):
 * await fetchT5Model('t5-base', { offline: true });
 */
export async function fetchT5Model(repo: string, opts: FetchT5Options = {}): Promise<FetchedT5> {
  const revision = opts.revision ?? 'main';
  const snap = await openHubSnapshot({ type: 'model', id: repo }, revision, opts);
  const where = `${repo}@${revision}`;
  if (!snap.has('config.json')) {
    throw new DeptError(
      snap.fromCache
        ? `${where}: the cache (${snap.folder}) has no config.json; run the fetch once with the network`
        : `${where}: the repository has no config.json (expected a Hugging Face T5 model repository)`,
    );
  }
  safetensorsKind(snap, where); // refuses a repository without safetensors before anything is downloaded
  const configPath = await snap.download('config.json');
  parseT5Config(parseJsonText(readRegularFile(configPath, 'a JSON file').toString('utf8'), `${where} config.json`), `${where} config.json`);
  const files = ['config.json', ...(await downloadSafetensors(snap, where))];
  for (const f of T5_HUB_EXTRA_FILES) {
    if (!snap.has(f)) continue;
    await snap.download(f);
    files.push(f);
  }
  if (!files.includes('tokenizer.json')) {
    opts.onEvent?.({ type: 'warning', message: `${where} has no tokenizer.json: dept's tokenizer needs it, so only pre-tokenized input works with this folder` });
  }
  return snap.fetched(files);
}

/**
 * The cached snapshot folder of a hub model, without touching the network; null when the cache has no
 * `config.json` for it. Lets `--model google/flan-t5-base` work once the model was fetched.
 *
 * @example
 * cachedT5Model('google/flan-t5-base'); // '~/.cache/huggingface/hub/models--google--flan-t5-base/snapshots/7bcac57…' or null
 */
export function cachedT5Model(repo: string, opts: { revision?: string; cacheDir?: string } = {}): string | null {
  let folder: string | null;
  try {
    folder = cachedSnapshotFolder({ type: 'model', id: repo }, opts.revision ?? 'main', opts.cacheDir === undefined ? {} : { cacheDir: opts.cacheDir });
  } catch {
    return null; // not a repository id (a local path, say)
  }
  return folder !== null && existsSync(join(folder, 'config.json')) ? folder : null;
}
