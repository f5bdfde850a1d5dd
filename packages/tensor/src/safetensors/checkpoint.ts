/**
 * Model folders as Hugging Face writes them: `model.safetensors`, or a sharded checkpoint
 * (`model.safetensors.index.json` and the shards its `weight_map` names).
 */
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DeptError, writeJsonAtomic } from '@dept/core';
import type { HostTensor } from '../host.ts';
import type { SafetensorsDtype } from './dtypes.ts';
import type { SafetensorsEntry } from './header.ts';
import { parseShardIndex, takeShardTensors } from './shards.ts';
import { readSafetensors, type ReadSafetensorsOptions } from './read.ts';
import { compareUtf8, entriesOf, writeSafetensors, type TensorCollection, type WriteSafetensorsOptions } from './write.ts';


/** Name of the single-file checkpoint in a model folder. */
export const SAFETENSORS_SINGLE = 'model.safetensors';
/** Name of the index of a sharded checkpoint. */
export const SAFETENSORS_INDEX = 'model.safetensors.index.json';

/** A checkpoint read from a model folder. */
export interface Checkpoint {
  tensors: Map<string, HostTensor>;
  /** `__metadata__` of the single file, or the index's `metadata` (values turned to strings). */
  metadata: Record<string, string>;
  /** The safetensors files read, in order. */
  files: string[];
  /** Stored dtype of every tensor of the checkpoint. */
  dtypes: Map<string, SafetensorsDtype>;
}

/**
 * Reads the weights of a model folder: `model.safetensors`, or else `model.safetensors.index.json`
 * (`{"metadata": {...}, "weight_map": {name: shard file}}`) and its shards, checking that every name of the
 * weight map is present in its shard. `dir` may also be a `.safetensors` file.
 *
 * @example
 * const { tensors } = readCheckpoint('models/t5-base');
 * tensors.get('shared.weight')?.shape; // [32128, 768]
 */
export function readCheckpoint(dir: string, opts: ReadSafetensorsOptions = {}): Checkpoint {
  if (existsSync(dir) && statSync(dir).isFile()) {
    const f = readSafetensors(dir, opts);
    return { tensors: f.tensors, metadata: f.metadata, files: [dir], dtypes: dtypesOf(f.entries) };
  }
  if (!existsSync(dir)) throw new DeptError(`${dir}: folder not found`);
  const single = join(dir, SAFETENSORS_SINGLE);
  if (existsSync(single)) {
    const f = readSafetensors(single, opts);
    return { tensors: f.tensors, metadata: f.metadata, files: [single], dtypes: dtypesOf(f.entries) };
  }
  const indexPath = join(dir, SAFETENSORS_INDEX);
  if (!existsSync(indexPath)) throw new DeptError(`${dir}: holds neither ${SAFETENSORS_SINGLE} nor ${SAFETENSORS_INDEX}`);
  const { byShard, metadata } = parseShardIndex(readIndexText(indexPath), indexPath, opts.names);
  const tensors = new Map<string, HostTensor>();
  const dtypes = new Map<string, SafetensorsDtype>();
  const files: string[] = [];
  for (const [shard, list] of byShard) {
    const names = new Set(list);
    const path = join(dir, shard);
    if (!existsSync(path)) throw new DeptError(`${path}: file not found (${SAFETENSORS_INDEX} lists it for "${list[0]}")`);
    takeShardTensors(readSafetensors(path, { names: (n) => names.has(n) }), list, path, SAFETENSORS_INDEX, tensors, dtypes);
    files.push(path);
  }
  return { tensors, metadata, files, dtypes };
}

function readIndexText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new DeptError(`${path}: cannot read (${(error as NodeJS.ErrnoException).code ?? String(error)}; expected a safetensors index)`, { cause: error });
  }
}

function dtypesOf(entries: Map<string, SafetensorsEntry>): Map<string, SafetensorsDtype> {
  return new Map([...entries].map(([k, e]) => [k, e.dtype]));
}

/** Options for {@link writeShardedCheckpoint}. */
export interface WriteShardedOptions extends WriteSafetensorsOptions {
  /** Largest shard in data bytes; a tensor larger than this gets a shard of its own. */
  maxShardBytes: number;
  /** Extra `__metadata__` for every shard. */
  metadata?: Record<string, string>;
}

/**
 * Writes a checkpoint as shards `model-00001-of-0000N.safetensors` plus `model.safetensors.index.json`
 * (`{"metadata": {"total_size": bytes, ...metadata}, "weight_map": {...}}`), filling shards greedily in name order as
 * Hugging Face does. When everything fits in one shard it writes `model.safetensors` alone. Creates `dir`.
 *
 * @example
 * writeShardedCheckpoint('out/model', weights, { maxShardBytes: 200e6, dtype: 'BF16' });
 */
export function writeShardedCheckpoint(dir: string, tensors: TensorCollection, opts: WriteShardedOptions): { files: string[]; index: string | null } {
  if (!(opts.maxShardBytes > 0)) throw new DeptError(`writeShardedCheckpoint: maxShardBytes must be positive, got ${opts.maxShardBytes}`);
  const bytesPer = (opts.dtype ?? 'F32') === 'F32' ? 4 : 2;
  const list = entriesOf(tensors).sort((a, b) => compareUtf8(a[0], b[0]));
  const shards: [string, HostTensor][][] = [];
  let current: [string, HostTensor][] = [];
  let currentBytes = 0;
  let total = 0;
  for (const item of list) {
    const size = item[1].data.length * bytesPer;
    total += size;
    if (current.length > 0 && currentBytes + size > opts.maxShardBytes) {
      shards.push(current);
      current = [];
      currentBytes = 0;
    }
    current.push(item);
    currentBytes += size;
  }
  if (current.length > 0 || shards.length === 0) shards.push(current);
  mkdirSync(dir, { recursive: true });
  if (shards.length === 1) {
    const path = join(dir, SAFETENSORS_SINGLE);
    writeSafetensors(path, new Map(shards[0]), opts.metadata, opts);
    return { files: [path], index: null };
  }
  const pad = (i: number): string => String(i).padStart(5, '0');
  const weightMap: Record<string, string> = {};
  const files: string[] = [];
  shards.forEach((shard, i) => {
    const file = `model-${pad(i + 1)}-of-${pad(shards.length)}.safetensors`;
    writeSafetensors(join(dir, file), new Map(shard), opts.metadata, opts);
    for (const [name] of shard) weightMap[name] = file;
    files.push(join(dir, file));
  });
  const index = join(dir, SAFETENSORS_INDEX);
  writeJsonAtomic(index, { metadata: { ...opts.metadata, total_size: total }, weight_map: weightMap }, 2, { sortKeys: true });
  return { files, index };
}
