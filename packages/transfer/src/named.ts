/**
 * Source banks by name: a pretraining folder (`dept pretrain`) holds `manifest.json` whose `banks` field maps a
 * name (`shared`, or a source task such as `mnli`) to a bank folder relative to it. A reference is either
 * `<folder>#<name>`, or the folder itself with `{ name }` (default `shared`). A hub id (`org/name`,
 * `org/name@revision`) that is not a local path is the bank `dept bank fetch` put in the hub cache. Anything else
 * is passed through unchanged, so plain bank paths keep working exactly as before.
 */
import { existsSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { DeptError, isDir, readJsonFile } from '@dept/core';
import { hubBankFolder } from './fetch.ts';
import { importBank, type ImportBankOptions, type ImportedBank } from './import.ts';

/** The file that marks a folder of named source banks (written by `@dept/pretrain`). */
export const SOURCE_MANIFEST_FILE = 'manifest.json';

/** The bank a folder of named banks gives when no name is asked for. */
export const DEFAULT_SOURCE_BANK = 'shared';

/** What {@link resolveBankRef} and {@link importSourceBank} accept besides a path. */
export interface BankRefOptions {
  /** The bank name inside a pretraining folder (default `shared`; a `#name` suffix on the path wins). */
  name?: string;
}

/** A resolved reference. */
export interface ResolvedBankRef {
  /** The bank folder or file to import (for a hub id, its snapshot folder in the hub cache). */
  path: string;
  /** The name it was found under, or null for a plain path. */
  name: string | null;
  /** The manifest it came from, or null for a plain path. */
  manifestPath: string | null;
}

/**
 * The named banks of a pretraining folder: name → absolute bank folder. Throws when the folder has no
 * manifest or its `banks` field is not a mapping of names to relative paths.
 *
 * @example
 * listSourceBanks('runs/pretrain-sources'); // { shared: '/…/runs/pretrain-sources/banks/shared', mnli: '/…/banks/mnli' }
 */
export function listSourceBanks(dir: string): Record<string, string> {
  const manifestPath = join(dir, SOURCE_MANIFEST_FILE);
  const manifest = readJsonFile<unknown>(manifestPath, 'a pretraining manifest');
  const banks = typeof manifest === 'object' && manifest !== null ? (manifest as Record<string, unknown>).banks : undefined;
  if (typeof banks !== 'object' || banks === null || Array.isArray(banks)) {
    throw new DeptError(`${manifestPath}: field "banks" is missing or not a mapping; expected { name: "relative/bank/folder" }`);
  }
  // Own keys only, on an object without a prototype: a bank named "constructor" or "__proto__" is just a name.
  const out = Object.create(null) as Record<string, string>;
  const root = resolve(dir);
  for (const [name, rel] of Object.entries(banks as Record<string, unknown>)) {
    if (typeof rel !== 'string' || rel === '' || isAbsolute(rel)) {
      throw new DeptError(`${manifestPath}: banks.${name} is ${JSON.stringify(rel)}; expected a bank folder path relative to ${dir}`);
    }
    const abs = resolve(root, rel);
    const back = relative(root, abs);
    if (back.startsWith('..') || isAbsolute(back)) {
      throw new DeptError(`${manifestPath}: banks.${name} is "${rel}", which points outside ${dir}; expected a folder inside it`);
    }
    out[name] = abs;
  }
  return out;
}

/**
 * Turns a bank reference into the path to import. `runs/pre#mnli` and (`runs/pre`, `{ name: 'mnli' }`) both give
 * `runs/pre/banks/mnli` when `runs/pre/manifest.json` names it; a folder with a manifest and no name gives its
 * `shared` bank. A path that is not a pretraining folder is returned as it is (a `#` inside an existing path is
 * part of the name). A hub id that is not a local path (`org/name`, `org/name@v1`) gives its cached snapshot
 * folder, or an error that says to run `dept bank fetch` first. A path that exists always wins.
 *
 * @example
 * resolveBankRef('runs/pretrain-sources#qnli').path;            // '/…/runs/pretrain-sources/banks/qnli'
 * resolveBankRef('org/t5-sst2-prompt@v1').path;                 // '~/.cache/huggingface/hub/models--org--t5-sst2-prompt/snapshots/…'
 * resolveBankRef('runs/pretrain-sources').name;                  // 'shared'
 * resolveBankRef('../shared/banks/attempt-record').manifestPath; // null (a plain bank)
 */
export function resolveBankRef(ref: string, opts: BankRefOptions = {}): ResolvedBankRef {
  let dir = ref;
  let name = opts.name;
  const hash = ref.lastIndexOf('#');
  if (!existsSync(ref) && hash > 0) {
    dir = ref.slice(0, hash);
    const suffix = ref.slice(hash + 1);
    if (suffix === '') throw new DeptError(`bank "${ref}": nothing after "#"; expected <pretraining folder>#<bank name>, e.g. runs/pretrain-sources#mnli`);
    if (opts.name !== undefined && opts.name !== suffix) throw new DeptError(`bank "${ref}": names "${suffix}" but the name option says "${opts.name}"; give one`);
    name = suffix;
  }
  const manifestPath = join(dir, SOURCE_MANIFEST_FILE);
  if (!isDir(dir) || !existsSync(manifestPath)) {
    if (name !== undefined) {
      const why = isDir(dir) ? `has no ${SOURCE_MANIFEST_FILE}` : 'is not a folder';
      throw new DeptError(`bank "${ref}": ${dir} ${why}; a named bank needs a pretraining folder (written by dept pretrain)`);
    }
    const fromHub = existsSync(ref) ? null : hubBankFolder(ref);
    return { path: fromHub ?? ref, name: null, manifestPath: null };
  }
  const banks = listSourceBanks(dir);
  const chosen = name ?? DEFAULT_SOURCE_BANK;
  const path = Object.hasOwn(banks, chosen) ? banks[chosen] : undefined;
  if (path === undefined) {
    const known = Object.keys(banks);
    throw new DeptError(`${manifestPath}: no bank named "${chosen}"; it holds ${known.length ? known.join(', ') : 'none'}`);
  }
  if (!isDir(path)) throw new DeptError(`${manifestPath}: banks.${chosen} points to ${path}, which is not a folder (was the pretraining finished?)`);
  return { path, name: chosen, manifestPath };
}

/**
 * {@link importBank} that also accepts named banks of a pretraining folder (see {@link resolveBankRef}); plain
 * paths behave exactly as with `importBank`. A note records which named bank was read.
 *
 * @example
 * const { bank } = importSourceBank('runs/pretrain-sources#mnli');
 * const shared = importSourceBank('runs/pretrain-sources', { name: 'shared' }).bank;
 */
export function importSourceBank(ref: string, opts: ImportBankOptions & BankRefOptions = {}): ImportedBank {
  const { name, ...importOpts } = opts;
  const resolved = resolveBankRef(ref, name === undefined ? {} : { name });
  const imported = importBank(resolved.path, importOpts);
  if (resolved.name !== null) imported.notes.unshift(`named bank "${resolved.name}" of ${resolved.manifestPath}`);
  return imported;
}
