/**
 * The Parquet files of a hub dataset: the repository's own files for a config (`nyu-mll/glue`:
 * `rte/train-00000-of-00001.parquet`) or the hub's conversion on `refs/convert/parquet` (`cb/train/0000.parquet`),
 * grouped by config and split. Where they go on disk is the caller's business (`@dept/tasks` `fetchHfDataset`).
 */
import { DeptError } from '@dept/core';
import { openHubSnapshot } from './open.ts';
import type { HubSnapshot } from './snapshot.ts';
import type { HubOptions } from './types.ts';

/**
 * Short names of datasets whose hub copies moved to an organisation: `glue/rte` means config `rte` of `nyu-mll/glue`.
 * The folder under the data directory keeps the short name (`datasets/glue/rte`).
 */
export const HF_DATASET_ALIASES: Readonly<Record<string, string>> = {
  glue: 'nyu-mll/glue',
  super_glue: 'aps/super_glue',
  scitail: 'allenai/scitail',
  snli: 'stanfordnlp/snli',
};

/** The hub's Parquet conversion branch. */
export const PARQUET_CONVERSION_REVISION = 'refs/convert/parquet';

/** A dataset named on the command line, resolved. */
export interface HfDatasetSpec {
  /** The hub repository (`nyu-mll/glue`). */
  repo: string;
  /** The config (`rte`), or undefined to take the only one. */
  config?: string;
  /** The folder under the data directory, before the config (`glue`, or the repository id). */
  folder: string;
}

/**
 * Reads a dataset name: `glue/rte` and `super_glue/cb` (short names, see {@link HF_DATASET_ALIASES}), `org/name`
 * (with `config` for a dataset with several), or `org/name/config`.
 *
 * @example
 * parseHfDatasetSpec('super_glue/cb');          // { repo: 'aps/super_glue', config: 'cb', folder: 'super_glue' }
 * parseHfDatasetSpec('nyu-mll/glue', 'rte');    // { repo: 'nyu-mll/glue', config: 'rte', folder: 'nyu-mll/glue' }
 * parseHfDatasetSpec('nyu-mll/glue/rte');       // the same
 */
export function parseHfDatasetSpec(name: string, config?: string): HfDatasetSpec {
  const parts = name.replace(/^datasets\//, '').split('/');
  const alias = HF_DATASET_ALIASES[(parts[0] ?? '').toLowerCase()];
  let spec: HfDatasetSpec;
  if (alias !== undefined && parts.length <= 2) {
    spec = { repo: alias, folder: (parts[0] as string).toLowerCase(), ...(parts[1] !== undefined ? { config: parts[1] } : {}) };
  } else if (parts.length === 3) {
    spec = { repo: `${parts[0]}/${parts[1]}`, config: parts[2] as string, folder: `${parts[0]}/${parts[1]}` };
  } else if (parts.length <= 2) {
    spec = { repo: name.replace(/^datasets\//, ''), folder: name.replace(/^datasets\//, '') };
  } else {
    throw new DeptError(`dataset "${name}" is not valid (expected glue/rte, super_glue/cb, org/name or org/name/config)`);
  }
  if (config !== undefined) {
    if (spec.config !== undefined && spec.config !== config) {
      throw new DeptError(`dataset "${name}" names config "${spec.config}" but --config says "${config}"; give it once`);
    }
    spec.config = config;
  }
  if (spec.config !== undefined && !/^[\w.-]+$/.test(spec.config)) {
    throw new DeptError(`config "${spec.config}" is not valid (expected letters, digits, -, _ and .)`);
  }
  return spec;
}

/** One Parquet file of a split, as found in a snapshot. */
export interface ParquetFile {
  path: string;
  split: string;
  partial: boolean;
}

/**
 * Groups a snapshot's Parquet files by config and split. Understood layouts: `{config}/{split}/0000.parquet` and
 * `{config}/partial-{split}/0000.parquet` (the conversion branch), `{config}/{split}-00000-of-00001.parquet` and
 * `data/{split}-….parquet` (repositories' own files), `{config}/{dataset}-{split}.parquet` (older conversions).
 * A file directly in the repository or in `data/` belongs to the config `''` (the only one).
 */
function parquetConfigs(paths: readonly string[]): Map<string, ParquetFile[]> {
  const out = new Map<string, ParquetFile[]>();
  for (const path of paths) {
    if (!path.endsWith('.parquet')) continue;
    const dirs = path.split('/');
    const base = dirs.pop() as string;
    const stem = base.slice(0, -'.parquet'.length);
    let split: string;
    if (/^\d+$/.test(stem)) {
      const dir = dirs.pop();
      if (dir === undefined) continue;
      split = dir;
    } else {
      const m = /^(.+?)(?:-\d+-of-\d+)?$/.exec(stem) as RegExpExecArray;
      split = m[1] as string;
      if (split.includes('-')) split = split.slice(split.lastIndexOf('-') + 1); // {dataset}-{split}
    }
    if (dirs[0] === 'data') dirs.shift();
    const partial = split.startsWith('partial-');
    if (partial) split = split.slice('partial-'.length);
    if (!/^[\w.]+$/.test(split)) continue;
    const config = dirs.join('/');
    const list = out.get(config) ?? [];
    list.push({ path, split, partial });
    out.set(config, list);
  }
  return out;
}

/** The chosen config's files in one snapshot (null when the snapshot lacks the config), and every config seen. */
interface Picked {
  config: string;
  files: ParquetFile[] | null;
  configs: string[];
}

/** Finds the requested config among a snapshot's Parquet files; throws when none was named and several exist. */
function pickConfig(snap: HubSnapshot, spec: HfDatasetSpec, where: string): Picked {
  const groups = parquetConfigs(snap.files.map((f) => f.path));
  const configs = [...groups.keys()].filter((c) => c !== '').sort();
  if (spec.config !== undefined) {
    const files = groups.get(spec.config) ?? (spec.config === 'default' ? groups.get('') : undefined) ?? null;
    return { config: spec.config, files, configs };
  }
  if (groups.size === 0) return { config: '', files: null, configs };
  if (groups.size === 1) {
    const [config, files] = groups.entries().next().value as [string, ParquetFile[]];
    return { config, files, configs };
  }
  if (groups.has('')) return { config: '', files: groups.get('') as ParquetFile[], configs };
  throw new DeptError(`${where} has several configs (${configs.join(', ')}); name one, e.g. ${spec.folder}/${configs[0]} or --config ${configs[0]}`);
}

/** What {@link findParquetFiles} found: the snapshot the files are in, the config and its files. */
export interface FoundParquet {
  snap: HubSnapshot;
  /** The config the files belong to ('' for a dataset with only one). */
  config: string;
  files: ParquetFile[];
}

/**
 * Finds a dataset config's Parquet files: in `revision` when given, else the repository's own files on `main`,
 * else the hub's conversion ({@link PARQUET_CONVERSION_REVISION}). Nothing is downloaded but the file lists.
 *
 * @example
 * const { snap, files } = await findParquetFiles(parseHfDatasetSpec('super_glue/cb'));
 * files.map((f) => f.split); // ['test', 'train', 'validation']
 */
export async function findParquetFiles(spec: HfDatasetSpec, opts: HubOptions & { revision?: string } = {}): Promise<FoundParquet> {
  const repo = { type: 'dataset' as const, id: spec.repo };
  const label = `datasets/${spec.repo}${spec.config ? ` config ${spec.config}` : ''}`;
  let snap = await openHubSnapshot(repo, opts.revision ?? 'main', opts);
  let picked = pickConfig(snap, spec, `datasets/${spec.repo}@${snap.revision}`);
  if (picked.files === null && opts.revision === undefined) {
    snap = await openHubSnapshot(repo, PARQUET_CONVERSION_REVISION, opts);
    picked = pickConfig(snap, spec, `datasets/${spec.repo}@${snap.revision}`);
  }
  const files = picked.files;
  if (files === null || files.length === 0) {
    const tried = opts.revision === undefined ? `main or ${PARQUET_CONVERSION_REVISION}` : opts.revision;
    const has = picked.configs.length > 0 ? ` (it has ${picked.configs.join(', ')})` : '';
    throw new DeptError(
      snap.fromCache
        ? `${label}: the cache has no Parquet files for it (revision ${tried})${has}; run the fetch once with the network`
        : `${label}: no Parquet files for it in revision ${tried}${has}; check the config name (datasets without a Parquet conversion cannot be fetched)`,
    );
  }
  return { snap, config: picked.config, files };
}
