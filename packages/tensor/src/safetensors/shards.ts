/**
 * The parts of reading a sharded checkpoint that need no file system: the index (`model.safetensors.index.json`)
 * checked and grouped by shard, and each decoded shard's tensors taken into the checkpoint. `readCheckpoint` reads
 * the files from a folder; the browser example fetches them.
 */
import { DeptError, parseJsonText, scanJson } from '@dept/core';
import type { HostTensor } from '../host.ts';
import type { SafetensorsDtype } from './dtypes.ts';
import type { SafetensorsFile } from './read.ts';

/** A checked index: which tensors each shard holds (shards in name order), and the index's metadata as strings. */
export interface ShardPlan {
  byShard: Map<string, string[]>;
  metadata: Record<string, string>;
}

/**
 * Checks a safetensors index's text (JSON, no duplicate key, a `weight_map` of {tensor name: shard file in the same
 * folder}) and groups the tensors wanted (`names`, default all) by shard.
 *
 * @example
 * const plan = parseShardIndex('{"weight_map": {"shared.weight": "model-00001-of-00002.safetensors"}}', 'index.json');
 * plan.byShard.get('model-00001-of-00002.safetensors'); // ['shared.weight']
 */
export function parseShardIndex(text: string, where: string, names?: (name: string) => boolean): ShardPlan {
  const index = parseJsonText<unknown>(text, where);
  const dup = scanJson(text).duplicate;
  if (dup) throw new DeptError(`${where}: names "${dup.key}" twice${dup.path.length ? ` inside "${dup.path.join('.')}"` : ''}`);
  if (index === null || typeof index !== 'object' || Array.isArray(index)) throw new DeptError(`${where}: must be a JSON object with "weight_map"`);
  const weightMap = (index as Record<string, unknown>).weight_map;
  if (weightMap === null || typeof weightMap !== 'object' || Array.isArray(weightMap)) {
    throw new DeptError(`${where}: "weight_map" must be an object of {tensor name: shard file}`);
  }
  const grouped = new Map<string, string[]>();
  for (const [name, file] of Object.entries(weightMap as Record<string, unknown>)) {
    if (typeof file !== 'string' || file === '' || file === '.' || file === '..' || /[/\\]/.test(file)) {
      throw new DeptError(`${where}: weight_map "${name}" must name a shard file in the same folder, got ${JSON.stringify(file)}`);
    }
    if (names && !names(name)) continue;
    const list = grouped.get(file) ?? [];
    list.push(name);
    grouped.set(file, list);
  }
  const metadata: Record<string, string> = {};
  const rawMeta = (index as Record<string, unknown>).metadata;
  if (rawMeta !== null && typeof rawMeta === 'object' && !Array.isArray(rawMeta)) {
    for (const [k, v] of Object.entries(rawMeta as Record<string, unknown>)) metadata[k] = typeof v === 'string' ? v : JSON.stringify(v);
  }
  const byShard = new Map([...grouped.keys()].sort().map((shard) => [shard, grouped.get(shard) as string[]] as const));
  return { byShard, metadata };
}

/**
 * Moves the tensors `names` of one decoded shard into `tensors` and `dtypes`; a name the index maps to this
 * shard but the shard lacks is an error naming both.
 *
 * @example
 * takeShardTensors(decodeSafetensors(bytes, path), ['shared.weight'], path, 'model.safetensors.index.json', tensors, dtypes);
 */
export function takeShardTensors(
  shard: SafetensorsFile, names: readonly string[], path: string, indexName: string,
  tensors: Map<string, HostTensor>, dtypes: Map<string, SafetensorsDtype>,
): void {
  for (const n of names) {
    const t = shard.tensors.get(n);
    if (!t) throw new DeptError(`${path}: tensor "${n}" is missing (${indexName} maps it to this shard)`);
    tensors.set(n, t);
    dtypes.set(n, shard.entries.get(n)!.dtype);
  }
}
