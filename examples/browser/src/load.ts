/**
 * A model folder and a bank folder fetched over HTTP, turned into the library's objects by the same functions the
 * Node loaders use after reading files: `decodeSafetensors`, `parseShardIndex`/`takeShardTensors` (sharded
 * checkpoints, such as the mini T5's), `parseT5Config`, `T5Tokenizer`, `t5FromParts`, `parseBankConfig`,
 * `bankFromTensors`.
 */
import { parseJsonText } from '@dept/core';
import { decodeSafetensors, parseShardIndex, takeShardTensors, SAFETENSORS_INDEX, SAFETENSORS_SINGLE, type HostTensor, type SafetensorsDtype } from '@dept/tensor';
import { parseT5Config, t5FromParts, T5Tokenizer, type PretrainedT5 } from '@dept/t5';
import { bankFromTensors, parseBankConfig, BANK_CONFIG_FILE, BANK_WEIGHTS_FILE, type Bank } from '@dept/prompt';

/** `base` with one trailing slash. */
function folder(base: string): string {
  return base.endsWith('/') ? base : `${base}/`;
}

async function fetchOk(url: string): Promise<Response> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return res;
}

async function fetchJson<T>(url: string): Promise<T> {
  return parseJsonText<T>(await (await fetchOk(url)).text(), url);
}

async function fetchBytes(url: string, onBytes?: (n: number) => void): Promise<Uint8Array> {
  const bytes = new Uint8Array(await (await fetchOk(url)).arrayBuffer());
  onBytes?.(bytes.byteLength);
  return bytes;
}

/** A checkpoint fetched from a folder URL: `model.safetensors`, else the index and its shards. */
async function fetchCheckpoint(dir: string, onBytes?: (n: number) => void): Promise<{ tensors: Map<string, HostTensor>; metadata: Record<string, string>; where: string }> {
  const single = `${dir}${SAFETENSORS_SINGLE}`;
  const res = await fetch(single);
  if (res.ok) {
    const bytes = new Uint8Array(await res.arrayBuffer());
    onBytes?.(bytes.byteLength);
    const f = decodeSafetensors(bytes, single);
    return { tensors: f.tensors, metadata: f.metadata, where: single };
  }
  const indexUrl = `${dir}${SAFETENSORS_INDEX}`;
  const plan = parseShardIndex(await (await fetchOk(indexUrl)).text(), indexUrl);
  const tensors = new Map<string, HostTensor>();
  const dtypes = new Map<string, SafetensorsDtype>();
  for (const [shard, names] of plan.byShard) {
    const url = `${dir}${shard}`;
    const wanted = new Set(names);
    takeShardTensors(decodeSafetensors(await fetchBytes(url, onBytes), url, { names: (n) => wanted.has(n) }), names, url, SAFETENSORS_INDEX, tensors, dtypes);
  }
  return { tensors, metadata: plan.metadata, where: indexUrl };
}

/**
 * Fetches a Hugging Face T5 folder (config.json, weights, tokenizer.json) and builds the model on the current
 * backend.
 *
 * @example
 * const { model, tokenizer } = await fetchT5('./model/');
 */
export async function fetchT5(base: string, onBytes?: (n: number) => void): Promise<PretrainedT5 & { tokenizer: T5Tokenizer }> {
  const dir = folder(base);
  const config = parseT5Config(await fetchJson(`${dir}config.json`), `${dir}config.json`);
  const tokenizerJson = await fetchJson<Record<string, unknown>>(`${dir}tokenizer.json`);
  const configRes = await fetch(`${dir}tokenizer_config.json`);
  const tokenizerConfig = configRes.ok ? parseJsonText<Record<string, unknown>>(await configRes.text(), `${dir}tokenizer_config.json`) : {};
  const tokenizer = new T5Tokenizer(tokenizerJson, tokenizerConfig, `${dir}tokenizer.json`);
  const checkpoint = await fetchCheckpoint(dir, onBytes);
  return { ...t5FromParts({ dir, config, ...checkpoint, tokenizer }), tokenizer };
}

/**
 * Fetches a bank folder (adapter_config.json + adapter_model.safetensors), checked as `readBank` checks files.
 *
 * @example
 * const bank = await fetchBank('./bank/');
 */
export async function fetchBank(base: string): Promise<Bank> {
  const dir = folder(base);
  const config = parseBankConfig(await fetchJson(`${dir}${BANK_CONFIG_FILE}`), `${dir}${BANK_CONFIG_FILE}`);
  const weights = `${dir}${BANK_WEIGHTS_FILE}`;
  return bankFromTensors(config, decodeSafetensors(await fetchBytes(weights), weights).tensors, weights);
}
