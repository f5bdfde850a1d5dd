/**
 * Datasets from the Hugging Face hub: `fetchHfDataset('super_glue/cb')` downloads the Parquet files of one
 * dataset config into the hub cache (`huggingface_hub`'s layout) and places them in the data directory as a
 * Hugging Face export that the readers detect (`hf-parquet`):
 *
 * ```
 * datasets/super_glue/cb/train-00000-of-00001.parquet  validation-00000-of-00001.parquet  test-00000-of-00001.parquet
 *                        .dept-fetch.json   (where the files came from: repository, config, revision, commit)
 * ```
 *
 * The files are the repository's own Parquet files (`nyu-mll/glue`: `rte/train-00000-of-00001.parquet`) when it
 * has them for the config, else the hub's Parquet conversion on the `refs/convert/parquet` branch
 * (`cb/train/0000.parquet`).
 */
import { constants, copyFileSync, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { resolveDataDir } from './layout.ts';
import { DeptError, openHubSnapshot, writeFolderAtomic, writeJsonAtomic, type HubOptions, type HubSnapshot } from '@dept/tensor';

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

/** Name of the record {@link fetchHfDataset} leaves in the folders it writes. */
export const FETCH_RECORD = '.dept-fetch.json';

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
interface ParquetFile {
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

/** Options of {@link fetchHfDataset}. */
export interface FetchDatasetOptions extends HubOptions {
  /** The config, when the name does not include it. */
  config?: string;
  /**
   * The revision to read Parquet files from. Default: the repository's own files on `main`, else the hub's
   * conversion ({@link PARQUET_CONVERSION_REVISION}).
   */
  revision?: string;
  /** The data directory to write into (default `$DEPT_DATA`, else `datasets`). */
  dataDir?: string;
}

/** What {@link fetchHfDataset} wrote. */
export interface FetchedDataset {
  /** The folder the files are in (`datasets/super_glue/cb`). */
  folder: string;
  repo: string;
  config: string | null;
  /** The revision the files came from, and its commit. */
  revision: string;
  commit: string;
  /** The file names in `folder` per split, in shard order. */
  splits: Record<string, string[]>;
  /** Files downloaded now (the others came from the hub cache). */
  downloaded: string[];
  /** False when `folder` already held exactly these files (nothing was written). */
  changed: boolean;
  /** True when served from the cache without the network. */
  fromCache: boolean;
}

interface FetchRecord {
  repo: string;
  config: string | null;
  revision: string;
  commit: string;
  files: Record<string, { source: string; size: number }>;
}

function readRecord(folder: string): FetchRecord | null {
  try {
    return JSON.parse(readFileSync(join(folder, FETCH_RECORD), 'utf8')) as FetchRecord;
  } catch {
    return null;
  }
}

/** Copies `from` (following the cache's symlink) to `to`, as a copy-on-write clone where the file system can. */
function copyOut(from: string, to: string): void {
  copyFileSync(from, to, constants.COPYFILE_FICLONE);
}

/**
 * Downloads the Parquet files of a hub dataset config and places them in `<dataDir>/<name>/<config>/` as
 * `<split>-00000-of-0000N.parquet`, the layout `findTaskData` reads as `hf-parquet`. The folder is written
 * atomically (all files or none); an existing folder is replaced only when a previous fetch wrote it, and left
 * alone when it already holds the same files.
 *
 * @example
 * const { folder } = await fetchHfDataset('super_glue/cb');           // 'datasets/super_glue/cb'
 * const data = await loadTaskData('superglue-cb', { dataDir: 'datasets' });
 *
 * @example
 * await fetchHfDataset('nyu-mll/glue', { config: 'rte', dataDir: '/data/hf' }); // '/data/hf/nyu-mll/glue/rte'
 */
export async function fetchHfDataset(name: string, opts: FetchDatasetOptions = {}): Promise<FetchedDataset> {
  const spec = parseHfDatasetSpec(name, opts.config);
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
  for (const split of new Set(files.filter((f) => f.partial).map((f) => f.split))) {
    opts.onEvent?.({ type: 'warning', message: `${label}: the hub converted only part of split "${split}" (partial-${split}); the files hold its first rows, not all of it` });
  }

  // Download into the cache, then name the shards of each split <split>-0000i-of-0000n.parquet.
  const bySplit = new Map<string, ParquetFile[]>();
  for (const f of [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))) {
    const list = bySplit.get(f.split) ?? [];
    list.push(f);
    bySplit.set(f.split, list);
  }
  const local = new Map<string, string>();
  const record: FetchRecord = { repo: spec.repo, config: picked.config || null, revision: snap.revision, commit: snap.commit, files: {} };
  const splits: Record<string, string[]> = {};
  for (const [split, list] of bySplit) {
    const n = list.length;
    splits[split] = [];
    for (const [i, f] of list.entries()) {
      const out = `${split}-${String(i).padStart(5, '0')}-of-${String(n).padStart(5, '0')}.parquet`;
      const path = await snap.download(f.path);
      local.set(out, path);
      record.files[out] = { source: f.path, size: statSync(path).size };
      splits[split].push(out);
    }
  }

  const dataDir = resolveDataDir(opts.dataDir);
  // The config is part of the folder when it was named (datasets/glue/rte), not when the dataset has only one.
  const folder = spec.config !== undefined && spec.config !== 'default'
    ? join(dataDir, ...spec.folder.split('/'), spec.config)
    : join(dataDir, ...spec.folder.split('/'));
  const result: FetchedDataset = {
    folder, repo: spec.repo, config: picked.config || null, revision: snap.revision, commit: snap.commit, splits,
    downloaded: snap.downloaded.slice(), changed: true, fromCache: snap.fromCache,
  };

  if (existsSync(folder)) {
    if (!statSync(folder).isDirectory()) throw new DeptError(`${folder}: exists and is a file; choose another --out`);
    const present = readdirSync(folder);
    if (present.length === 0) return write();
    const old = readRecord(folder);
    const foreign = present.filter((p) => p !== FETCH_RECORD && !(old !== null && p in old.files));
    if (old === null || foreign.length > 0) {
      const shown = (old === null ? present : foreign).slice(0, 3).join(', ');
      throw new DeptError(`${folder}: exists and holds files dept data fetch did not write (${shown || 'no fetch record'}); move it away or choose another --out`);
    }
    const same = old.commit === record.commit && old.repo === record.repo && Object.keys(old.files).length === local.size
      && [...local.keys()].every((k) => old.files[k]?.source === record.files[k]?.source && present.includes(k) && statSync(join(folder, k)).size === record.files[k]?.size);
    if (same) return { ...result, changed: false };
  }
  return write();

  function write(): FetchedDataset {
    writeFolderAtomic(
      folder,
      (tmp) => {
        for (const [out, from] of local) copyOut(from, join(tmp, out));
        writeJsonAtomic(join(tmp, FETCH_RECORD), record);
      },
      existsSync(folder) ? readdirSync(folder) : [],
    );
    return result;
  }
}
