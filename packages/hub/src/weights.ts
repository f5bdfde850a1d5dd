/**
 * The weights of a model repository on the hub: `model.safetensors`, or a sharded checkpoint
 * (`model.safetensors.index.json` and the shards its `weight_map` names). PyTorch pickles are never fetched.
 */
import { readFileSync } from 'node:fs';
import { DeptError, parseJsonText } from '@dept/core';
import type { HubSnapshot } from './snapshot.ts';

const PICKLES = /(^|\/)(pytorch_model[-\w.]*\.bin|pytorch_model\.bin\.index\.json|tf_model\.h5|flax_model\.msgpack|[-\w.]+\.(ckpt|pt|pth))$/;

/**
 * Which weights the repository uses, decided from the file list alone (nothing is downloaded for a refusal):
 * `<stem>.safetensors`, or `<stem>.safetensors.index.json` and its shards. Repositories with only pickles are refused.
 */
export function safetensorsKind(snap: HubSnapshot, where: string, stem = 'model'): 'single' | 'sharded' {
  if (snap.has(`${stem}.safetensors`)) return 'single';
  if (snap.has(`${stem}.safetensors.index.json`)) return 'sharded';
  if (snap.fromCache) {
    throw new DeptError(`${where}: the cache (${snap.folder}) has no ${stem}.safetensors or ${stem}.safetensors.index.json; run the fetch once with the network`);
  }
  const pickles = snap.files.map((f) => f.path).filter((p) => PICKLES.test(p));
  const found = pickles.length > 0 ? `only ${pickles.slice(0, 3).join(', ')}${pickles.length > 3 ? ', …' : ''}` : 'no weights dept can read';
  throw new DeptError(
    `${where}: has no ${stem}.safetensors or ${stem}.safetensors.index.json (${found}); dept reads safetensors only, never PyTorch pickles such as pytorch_model.bin: pick a revision with safetensors (the hub's conversion bot opens one as refs/pr/N: --revision refs/pr/N) or convert the weights`,
  );
}

/** Downloads the index and returns the shards it names, checking each is a plain file the repository has. */
async function shardFiles(snap: HubSnapshot, where: string, stem: string): Promise<string[]> {
  const indexName = `${stem}.safetensors.index.json`;
  const indexPath = await snap.download(indexName);
  const index = parseJsonText<unknown>(readFileSync(indexPath, 'utf8'), `${where} ${indexName}`);
  const map = index !== null && typeof index === 'object' ? (index as { weight_map?: unknown }).weight_map : undefined;
  if (map === null || typeof map !== 'object' || Array.isArray(map)) {
    throw new DeptError(`${where} ${indexName}: "weight_map" must be an object of {tensor name: shard file}`);
  }
  const shards = [...new Set(Object.values(map as Record<string, unknown>))];
  for (const s of shards) {
    if (typeof s !== 'string' || !/^[\w.-]+\.safetensors$/.test(s) || s.includes('..')) {
      throw new DeptError(`${where} ${indexName}: weight_map names ${JSON.stringify(s)}, expected a .safetensors file in the same folder`);
    }
    if (!snap.has(s)) {
      throw new DeptError(
        snap.fromCache
          ? `${where}: shard ${s} is not in the cache (${snap.folder}); run the fetch once with the network`
          : `${where}: ${indexName} names shard ${s}, which the repository does not have`,
      );
    }
  }
  return (shards as string[]).sort();
}

/**
 * Downloads a repository's safetensors weights (one file, or the index and every shard it names) and returns the
 * file names fetched, in order. The choice is made from the file list first ({@link safetensorsKind}).
 *
 * @example
 * const snap = await openHubSnapshot({ type: 'model', id: 'google/flan-t5-base' });
 * await downloadSafetensors(snap, 'google/flan-t5-base@main'); // ['model.safetensors']
 */
export async function downloadSafetensors(snap: HubSnapshot, where: string, stem = 'model'): Promise<string[]> {
  if (safetensorsKind(snap, where, stem) === 'single') {
    await snap.download(`${stem}.safetensors`);
    return [`${stem}.safetensors`];
  }
  const shards = await shardFiles(snap, where, stem);
  for (const f of shards) await snap.download(f);
  return [`${stem}.safetensors.index.json`, ...shards];
}
