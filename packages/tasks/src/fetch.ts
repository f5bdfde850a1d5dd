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
 * The files are the repository's own Parquet files when it has them for the config, else the hub's Parquet
 * conversion (`@dept/hub` finds them).
 */
import { constants, copyFileSync, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { resolveDataDir } from './layout.ts';
import { DeptError, writeFolderAtomic, writeJsonAtomic } from '@dept/core';
import { findParquetFiles, parseHfDatasetSpec, type HubOptions, type ParquetFile } from '@dept/hub';

/** Name of the record {@link fetchHfDataset} leaves in the folders it writes. */
export const FETCH_RECORD = '.dept-fetch.json';

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
  const label = `datasets/${spec.repo}${spec.config ? ` config ${spec.config}` : ''}`;
  const { snap, files, config } = await findParquetFiles(spec, opts);
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
  const record: FetchRecord = { repo: spec.repo, config: config || null, revision: snap.revision, commit: snap.commit, files: {} };
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
    folder, repo: spec.repo, config: config || null, revision: snap.revision, commit: snap.commit, splits,
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
