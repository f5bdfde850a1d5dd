/**
 * Where the hub and its cache are, as `huggingface_hub` reads the environment, and the checks of repository ids,
 * revisions and paths that keep every write inside the cache.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { DeptError } from '@dept/core';
import type { HubOptions, HubRepo, HubSettings } from './types.ts';

const DEFAULT_ENDPOINT = 'https://huggingface.co';
/** A full 40-character git commit id. */
export const COMMIT = /^[0-9a-f]{40}$/;

function expandHome(p: string): string {
  return p === '~' || p.startsWith('~/') ? join(homedir(), p.slice(1)) : p;
}

function truthy(v: string | undefined): boolean {
  return v !== undefined && ['1', 'on', 'yes', 'true'].includes(v.trim().toLowerCase());
}

/** `$HF_HOME`, else `$XDG_CACHE_HOME/huggingface`, else `~/.cache/huggingface`. */
function hfHome(env: NodeJS.ProcessEnv): string {
  return expandHome(env.HF_HOME || join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'huggingface'));
}

/**
 * The hub cache folder, as `huggingface_hub` finds it: `$HF_HUB_CACHE`, else `$HUGGINGFACE_HUB_CACHE`, else
 * `$HF_HOME/hub`, else `$XDG_CACHE_HOME/huggingface/hub`, else `~/.cache/huggingface/hub`.
 *
 * @example
 * hubCacheDir({ HF_HOME: '/data/hf' }); // '/data/hf/hub'
 */
export function hubCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const explicit = env.HF_HUB_CACHE || env.HUGGINGFACE_HUB_CACHE;
  return explicit ? expandHome(explicit) : join(hfHome(env), 'hub');
}

/**
 * The settings a fetch uses: explicit options first, then the environment (`HF_ENDPOINT`, `HF_TOKEN`,
 * `HUGGING_FACE_HUB_TOKEN`, the token file `$HF_TOKEN_PATH` or `$HF_HOME/token`, `HF_HUB_OFFLINE`, the cache
 * variables of {@link hubCacheDir}).
 *
 * @example
 * hubSettings({}, { HF_ENDPOINT: 'https://hf-mirror.com/', HF_HUB_OFFLINE: '1' });
 * // { endpoint: 'https://hf-mirror.com', token: null, cacheDir: '~/.cache/huggingface/hub' (expanded), offline: true }
 */
export function hubSettings(opts: HubOptions = {}, env: NodeJS.ProcessEnv = opts.env ?? process.env): HubSettings {
  const endpoint = (opts.endpoint ?? (env.HF_ENDPOINT || DEFAULT_ENDPOINT)).replace(/\/+$/, '');
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new DeptError(`HF_ENDPOINT "${endpoint}" is not a URL (expected e.g. https://huggingface.co)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new DeptError(`HF_ENDPOINT "${endpoint}" must be an http or https URL`);
  }
  let token: string | null = null;
  if (opts.token !== undefined) token = opts.token || null;
  else if (env.HF_TOKEN) token = env.HF_TOKEN.trim();
  else if (env.HUGGING_FACE_HUB_TOKEN) token = env.HUGGING_FACE_HUB_TOKEN.trim();
  else {
    const file = expandHome(env.HF_TOKEN_PATH || join(hfHome(env), 'token'));
    try {
      token = readFileSync(file, 'utf8').trim() || null;
    } catch {
      token = null;
    }
  }
  return { endpoint, token, cacheDir: opts.cacheDir ?? hubCacheDir(env), offline: opts.offline ?? truthy(env.HF_HUB_OFFLINE) };
}

/**
 * Checks a repository id the way `huggingface_hub` does (`org/name` or `name`; letters, digits, `-`, `_`, `.`;
 * no `--` or `..`; at most 96 characters per part).
 *
 * @example
 * validateRepoId('google/flan-t5-base'); // ok
 * validateRepoId('a/b/c');              // DeptError: repository id "a/b/c" …
 */
export function validateRepoId(id: string, what = 'repository id'): void {
  const ok = /^(?:[\w.-]{1,96}\/)?[\w.-]{1,96}$/.test(id) && !id.includes('--') && !id.includes('..') && !/^[.-]|[.-]$/.test(id) && !id.endsWith('.git');
  if (!ok) throw new DeptError(`${what} "${id}" is not valid (expected "org/name" or "name": letters, digits, -, _ and ., no "--" or "..")`);
}

export function validateRevision(revision: string): void {
  const bad = revision === '' || revision.startsWith('/') || revision.endsWith('/') || revision.split('/').some((s) => s === '' || s === '.' || s === '..') || /[\s\\:~^?*[]/.test(revision);
  if (bad) throw new DeptError(`revision "${revision}" is not valid (expected a branch, a tag, refs/… or a 40-character commit id)`);
}

/** A path from the hub must stay inside the snapshot folder. */
export function validateRepoPath(path: string): void {
  const bad = path === '' || path.startsWith('/') || path.includes('\\') || path.split('/').some((s) => s === '' || s === '.' || s === '..');
  if (bad) throw new DeptError(`the hub listed a file "${path}" that is not a plain relative path; refusing to write it`);
}

/**
 * The repository's folder in the cache: `models--google--flan-t5-base`, `datasets--nyu-mll--glue`.
 *
 * @example
 * hubRepoFolder('/c', { type: 'model', id: 't5-base' }); // '/c/models--t5-base'
 */
export function hubRepoFolder(cacheDir: string, repo: HubRepo): string {
  return join(cacheDir, [`${repo.type}s`, ...repo.id.split('/')].join('--'));
}

/** The repository's page, for messages: `google/flan-t5-base`, `datasets/nyu-mll/glue`. */
export function repoLabel(repo: HubRepo): string {
  return repo.type === 'model' ? repo.id : `datasets/${repo.id}`;
}
