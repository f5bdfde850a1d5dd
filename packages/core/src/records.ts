/**
 * What dept wrote in a folder. A folder that dept writes into (a run folder, a grid folder, a pretraining folder,
 * a model folder) holds `.dept.json`: the kind of folder and the names of the entries dept made there, recorded
 * before they are written. dept replaces or removes an entry only when the record names it, so files of your own
 * in the same folder (`thesis.tex`, `notes/`) are never touched, and a folder of another kind (a grid given as a
 * run folder) is refused.
 */
import { existsSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { DeptError } from './errors.ts';
import { ensureFolder, parseTempName, removeEmptyFolders, tempSiblingPath, writeJsonAtomic } from './files.ts';
import { readJsonFile } from './json.ts';

/** The record's file name. */
export const FOLDER_RECORD_FILE = '.dept.json';

/** The content of `.dept.json`. */
export interface FolderRecord {
  written_by: 'dept';
  /** What the folder is: `run`, `grid`, `pretrain`, `model`, ... */
  kind: string;
  /** Names (directly in the folder) of the entries dept made or will make. */
  entries: string[];
}

/**
 * The record of `dir`, or null when it has none. A `.dept.json` that is not a record is refused (it is not ours).
 *
 * @example
 * readFolderRecord('runs/rte')?.entries; // ['bank', 'checkpoint', 'config.resolved.json', ...]
 */
export function readFolderRecord(dir: string): FolderRecord | null {
  const path = join(dir, FOLDER_RECORD_FILE);
  if (!existsSync(path)) return null;
  const value = readJsonFile<Partial<FolderRecord>>(path, 'the record of what dept wrote here');
  if (value === null || typeof value !== 'object' || value.written_by !== 'dept' || typeof value.kind !== 'string'
    || !Array.isArray(value.entries) || !value.entries.every((e) => typeof e === 'string')) {
    throw new DeptError(`${path}: not a dept folder record (expected {"written_by": "dept", "kind", "entries"}); it was not written by dept, so the folder is left alone: choose another folder`);
  }
  return value as FolderRecord;
}

/** Options of {@link claimEntries}. */
export interface ClaimOptions {
  /** Without a record, the folder must be absent or empty: it becomes dept's as a whole (grids, models). */
  newFolder?: boolean;
  /** Existing entries to record as dept's although there is no record: folders made by a dept without records. */
  adopt?: readonly string[];
  /** What the folder is for, in the messages (default: `a ${kind} folder`). */
  what?: string;
}

const list = (names: readonly string[]) => `${names.slice(0, 3).join(', ')}${names.length > 3 ? ', ...' : ''}`;

/**
 * Claims `names` in `dir` for dept before anything is written there: refuses (one-line `DeptError`, nothing
 * changed) when the folder's record is of another kind, when one of `names` exists but is not recorded as dept's,
 * or (with `newFolder`) when a folder without a record is not empty. Then records them and returns the record.
 * The folder is created when absent.
 *
 * @example
 * claimEntries('runs/rte', 'run', ['config.resolved.json', 'metrics.jsonl', 'bank', 'results.json']);
 */
export function claimEntries(dir: string, kind: string, names: readonly string[], options: ClaimOptions = {}): FolderRecord {
  const what = options.what ?? `a ${kind} folder`;
  const existed = existsSync(dir);
  const made = ensureFolder(dir, what);
  const record = readFolderRecord(dir);
  if (record && record.kind !== kind) {
    throw new DeptError(`${dir}: is a dept ${record.kind} folder (${FOLDER_RECORD_FILE}), not ${what}; choose another folder`);
  }
  const present = existed ? readdirSync(dir) : [];
  const ours = new Set([...(record?.entries ?? []), ...(options.adopt ?? []).filter((n) => present.includes(n))]);
  if (!record && options.newFolder && (options.adopt ?? []).length === 0) {
    // A lock, or the temporary of another process claiming the same new folder this instant (grid shards start
    // together), do not make a folder someone else's.
    const others = present.filter((n) => n !== '.lock' && parseTempName(n) === null);
    if (others.length > 0) {
      throw new DeptError(`${dir}: is not empty (${list(others)}) and was not made by dept; ${what} must be new, empty, or one that dept made: choose another folder`);
    }
  }
  const foreign = names.filter((n) => !ours.has(n) && present.includes(n));
  if (foreign.length > 0) {
    throw new DeptError(`${join(dir, foreign[0] as string)}: exists and was not written by dept (not in ${FOLDER_RECORD_FILE}); refusing to replace it: move it away or choose another folder`);
  }
  const entries = [...new Set([...ours, ...names])].sort();
  if (!record || entries.length !== record.entries.length) {
    try {
      writeJsonAtomic(join(dir, FOLDER_RECORD_FILE), { written_by: 'dept', kind, entries } satisfies FolderRecord);
    } catch (error) {
      removeEmptyFolders(dir, made); // a full or read-only disk: the folder this call made goes again
      throw error;
    }
  }
  return { written_by: 'dept', kind, entries };
}

/**
 * Removes the entries of `dir` that the record names (all but `keep`), leaving everything else. Each entry is
 * renamed aside first (`.<name>.trash-<pid>-<hex>`, removed by the next process if this one is killed), so a kill
 * never leaves a half-deleted checkpoint or bank under its own name. Returns the names removed.
 *
 * @example
 * removeRecordedEntries('runs/rte', readFolderRecord('runs/rte')!); // ['bank', 'checkpoint', 'results.json', ...]
 */
export function removeRecordedEntries(dir: string, record: FolderRecord, keep: readonly string[] = []): string[] {
  const present = new Set(readdirSync(dir));
  const names = record.entries.filter((n) => present.has(n) && !keep.includes(n) && n !== FOLDER_RECORD_FILE && n !== '.lock');
  const aside = names.map((n) => {
    const to = tempSiblingPath(join(dir, n), 'trash');
    renameSync(join(dir, n), to);
    return to;
  });
  for (const path of aside) rmSync(path, { recursive: true, force: true });
  return names;
}

/**
 * Undoes a claim that was never used: when `dir` holds nothing but its record, the record and the folder (and
 * the empty parents up to `created`, the first folder the claim made; see `ensureFolder`) are removed. Used
 * when a command fails before writing anything, so it leaves nothing behind.
 *
 * @example
 * try { ... } catch (e) { forgetUnusedFolder('runs/rte', made); throw e; }
 */
export function forgetUnusedFolder(dir: string, created: string | null): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  try {
    if (names.length === 1 && names[0] === FOLDER_RECORD_FILE) rmSync(join(dir, FOLDER_RECORD_FILE), { force: true });
    else if (names.length > 0) return;
  } catch {
    return; // cleaning up never hides the error that led here
  }
  removeEmptyFolders(dir, created ?? dir);
}
