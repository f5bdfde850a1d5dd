/**
 * The Hugging Face hub cache: the files of one repository at one revision, downloaded with `@huggingface/hub` into
 * the cache layout `huggingface_hub` uses, so caches filled by Python (`huggingface-cli download`,
 * `from_pretrained`) are reused and ours are reused by Python:
 *
 * ```
 * $HF_HUB_CACHE (default $HF_HOME/hub, else ~/.cache/huggingface/hub)
 * └── models--google--flan-t5-base/            (datasets--nyu-mll--glue/ for datasets)
 *     ├── refs/main                            the commit the revision pointed to when last fetched
 *     ├── blobs/<sha256 or git oid>            file contents (written as <etag>.incomplete, then renamed)
 *     ├── snapshots/<commit>/config.json       symlinks to ../../blobs/<etag> (copies where links fail)
 *     └── .dept/tree-<commit>.json             our record of the commit's file list (for offline use)
 * ```
 *
 * Environment, as `huggingface_hub` reads it: `HF_ENDPOINT` (another hub or a mirror), `HF_TOKEN` (or the token
 * file `$HF_TOKEN_PATH`, default `$HF_HOME/token`) for gated and private repositories, `HF_HUB_OFFLINE=1` (serve
 * from the cache only), `HF_HUB_CACHE` / `HF_HOME` / `XDG_CACHE_HOME` (where the cache is).
 *
 * Downloads are atomic and checked: the bytes go to `blobs/<etag>.incomplete` (an interrupted download is resumed
 * from there by the next fetch), the size and the checksum (sha256 for LFS files, the git blob hash for the others)
 * are verified, and only then is the blob renamed into place and linked from the snapshot.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { copyFile, mkdir, open, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { HubApiError, datasetInfo, downloadFile, listFiles, modelInfo } from '@huggingface/hub';
import { DeptError } from './errors.ts';
import { fsyncDir, tempSiblingPath, writeFileAtomic } from './fsutil.ts';

/** The kinds of hub repository this project reads. */
export type HubRepoType = 'model' | 'dataset';

/** A hub repository: `{ type: 'model', id: 'google/flan-t5-base' }`. */
export interface HubRepo {
  type: HubRepoType;
  /** `org/name`, or a legacy name without an org (`t5-base`). */
  id: string;
}

/** One file of a repository at a commit, as the hub's tree API lists it. */
export interface HubFile {
  /** Path inside the repository, with `/` separators. */
  path: string;
  /** Size in bytes (-1 when unknown: a file found in a cache that another tool filled). */
  size: number;
  /** The git blob id (for LFS files, the id of the pointer file); '' when unknown. */
  oid: string;
  /** sha256 of the content, for files stored with LFS (or xet). */
  sha256?: string;
  /** The xet content hash, for files stored with xet. */
  xetHash?: string;
}

/** What a fetch reports while it works (the command line turns these into lines on stderr). */
export type HubEvent =
  | { type: 'resolved'; repo: HubRepo; revision: string; commit: string; fromCache: boolean }
  | { type: 'cached'; path: string; size: number }
  | { type: 'download'; path: string; size: number; resumeFrom: number }
  | { type: 'progress'; path: string; bytes: number; size: number }
  | { type: 'downloaded'; path: string; size: number }
  | { type: 'warning'; message: string };

/** Options of {@link openHubSnapshot}; each defaults to the environment variable `huggingface_hub` reads. */
export interface HubOptions {
  /** The hub's URL (default `$HF_ENDPOINT`, else `https://huggingface.co`). */
  endpoint?: string;
  /** Access token for gated or private repositories (default `$HF_TOKEN`, else the token file); null for none. */
  token?: string | null;
  /** The hub cache folder (default {@link hubCacheDir}). */
  cacheDir?: string;
  /** Serve from the cache only, never touching the network (default `$HF_HUB_OFFLINE`). */
  offline?: boolean;
  /** The `fetch` to use (default the global one). */
  fetch?: typeof fetch;
  /** Receives progress events. */
  onEvent?: (event: HubEvent) => void;
  /** The environment to read (default `process.env`). */
  env?: NodeJS.ProcessEnv;
}

/** The resolved settings: where the hub and the cache are, the token, and whether to stay offline. */
export interface HubSettings {
  endpoint: string;
  token: string | null;
  cacheDir: string;
  offline: boolean;
}

const DEFAULT_ENDPOINT = 'https://huggingface.co';
const COMMIT = /^[0-9a-f]{40}$/;

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

function validateRevision(revision: string): void {
  const bad = revision === '' || revision.startsWith('/') || revision.endsWith('/') || revision.split('/').some((s) => s === '' || s === '.' || s === '..') || /[\s\\:~^?*[]/.test(revision);
  if (bad) throw new DeptError(`revision "${revision}" is not valid (expected a branch, a tag, refs/… or a 40-character commit id)`);
}

/** A path from the hub must stay inside the snapshot folder. */
function validateRepoPath(path: string): void {
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
function repoLabel(repo: HubRepo): string {
  return repo.type === 'model' ? repo.id : `datasets/${repo.id}`;
}

/** Thrown by the fetch wrapper when the hub cannot be reached at all (no HTTP answer). */
class HubUnreachable extends Error {}

/**
 * A `fetch` for the hub: sends the token only to the hub's own origin, follows redirects itself (so the token
 * never reaches a CDN), records the hub's `X-Error-Code` of failed answers, and turns "no answer at all" into
 * {@link HubUnreachable}.
 */
function hubFetch(settings: HubSettings, base: typeof fetch | undefined, errorCodes: Map<string, string>): typeof fetch {
  const origin = new URL(settings.endpoint).origin;
  const wrapped = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    if (settings.offline) throw new DeptError(`HF_HUB_OFFLINE is set: refusing to contact ${settings.endpoint}`);
    const doFetch = base ?? globalThis.fetch;
    let url = new URL(input instanceof Request ? input.url : String(input));
    let method = init?.method ?? 'GET';
    let body = init?.body;
    for (let hop = 0; hop < 10; hop++) {
      const headers = new Headers(init?.headers);
      if (url.origin === origin && settings.token) headers.set('Authorization', `Bearer ${settings.token}`);
      else headers.delete('Authorization');
      if (!headers.has('User-Agent')) headers.set('User-Agent', 'dept-ts (@huggingface/hub)');
      let res: Response;
      try {
        res = await doFetch(url, { ...init, method, body, headers, redirect: 'manual' });
      } catch (error) {
        const cause = (error as { cause?: { code?: string; message?: string } }).cause;
        throw new HubUnreachable(`cannot reach ${url.origin} (${cause?.code ?? cause?.message ?? (error as Error).message})`, { cause: error });
      }
      const location = res.headers.get('location');
      if (res.status >= 300 && res.status < 400 && location) {
        await res.body?.cancel();
        url = new URL(location, url);
        if (res.status === 303 || ((res.status === 301 || res.status === 302) && method === 'POST')) {
          method = 'GET';
          body = undefined;
        }
        continue;
      }
      if (!res.ok) {
        const code = res.headers.get('x-error-code');
        if (code) errorCodes.set(res.url || url.href, code);
      }
      // A Response whose .url is the final URL (fetch with redirect: 'manual' already gives that).
      return res;
    }
    throw new HubUnreachable(`too many redirects from ${settings.endpoint}`);
  };
  return wrapped as typeof fetch;
}

/** Turns a failed hub call into one line that says what was wrong and what to do. */
function hubError(error: unknown, repo: HubRepo, revision: string, settings: HubSettings, errorCodes: Map<string, string>, path?: string): Error {
  if (error instanceof DeptError) return error;
  if (error instanceof HubUnreachable) return new DeptError(`${repoLabel(repo)}: ${error.message}; check the network or HF_ENDPOINT, or set HF_HUB_OFFLINE=1 to use the cache`, { cause: error });
  if (error instanceof HubApiError) {
    const code = errorCodes.get(error.url) ?? '';
    const where = `${repoLabel(repo)}${path ? ` ${path}` : ''} (revision ${revision}) at ${settings.endpoint}`;
    const tokenNote = settings.token ? 'the token in HF_TOKEN has no access to it' : 'no HF_TOKEN is set';
    if (code === 'GatedRepo' || (error.statusCode === 403 && /gated|access to model|restricted/i.test(error.message))) {
      return new DeptError(`${where}: the repository is gated and ${tokenNote}; accept its terms on ${settings.endpoint}/${repoLabel(repo)} and set HF_TOKEN to a token of that account`, { cause: error });
    }
    if (code === 'RevisionNotFound') return new DeptError(`${where}: no such revision (expected a branch, a tag or a commit id of the repository)`, { cause: error });
    if (code === 'EntryNotFound') return new DeptError(`${where}: no such file in the repository`, { cause: error });
    if (code === 'RepoNotFound' || error.statusCode === 404 || error.statusCode === 401) {
      return new DeptError(`${where}: repository not found, or private and ${tokenNote} (HTTP ${error.statusCode}); check the name, or set HF_TOKEN`, { cause: error });
    }
    if (error.statusCode === 403) return new DeptError(`${where}: access denied (HTTP 403) and ${tokenNote}; set HF_TOKEN to a token with read access`, { cause: error });
    if (error.statusCode === 429) return new DeptError(`${where}: the hub is rate-limiting requests (HTTP 429); wait and run again, or set HF_TOKEN`, { cause: error });
    return new DeptError(`${where}: the hub answered HTTP ${error.statusCode} (${error.message.split('\n')[0]}); run again later`, { cause: error });
  }
  return error instanceof Error ? error : new Error(String(error));
}

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

function fileSize(p: string): number {
  try {
    const s = statSync(p);
    return s.isFile() ? s.size : -1;
  } catch {
    return -1;
  }
}

/** Every file under `dir`, as `/`-separated relative paths (symlinks followed), for caches with no tree record. */
function walkFiles(dir: string, prefix = ''): HubFile[] {
  const out: HubFile[] = [];
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch {
    return out;
  }
  for (const name of names) {
    const p = join(dir, name);
    let st;
    try {
      st = statSync(p);
    } catch {
      continue; // a dangling link: its blob is gone
    }
    const rel = prefix ? `${prefix}/${name}` : name;
    if (st.isDirectory()) out.push(...walkFiles(p, rel));
    else if (st.isFile()) out.push({ path: rel, size: st.size, oid: '' });
  }
  return out;
}

/** sha256 (hex) of a file, or the git blob id (`sha1("blob <size>\0" + content)`). */
async function hashFile(path: string, kind: 'sha256' | 'git'): Promise<string> {
  const hash = createHash(kind === 'sha256' ? 'sha256' : 'sha1');
  if (kind === 'git') hash.update(`blob ${statSync(path).size}\0`);
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Links `pointer` to `blob` (a relative symlink, or a copy where links fail), replacing it atomically. */
async function linkPointer(blob: string, pointer: string): Promise<void> {
  await mkdir(dirname(pointer), { recursive: true });
  const tmp = tempSiblingPath(pointer, 'link');
  try {
    await symlink(relative(dirname(pointer), blob), tmp);
  } catch {
    await copyFile(blob, tmp); // Windows without developer mode, or file systems without links
  }
  try {
    await rename(tmp, pointer);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
}

/**
 * One repository at one commit in the hub cache: its file list, and downloads of single files into
 * `snapshots/<commit>/`. Made by {@link openHubSnapshot}.
 *
 * @example
 * const snap = await openHubSnapshot({ type: 'dataset', id: 'nyu-mll/glue' });
 * const wanted = snap.files.filter((f) => f.path.startsWith('rte/'));
 * for (const f of wanted) await snap.download(f.path);
 * snap.downloaded; // the paths fetched now; snap.reused: those the cache had
 */
export class HubSnapshot {
  /** Files of this snapshot reused from the cache and downloaded by this object, in order. */
  readonly reused: string[] = [];
  readonly downloaded: string[] = [];
  private readonly byPath: Map<string, HubFile>;

  constructor(
    readonly repo: HubRepo,
    /** The revision asked for (`main`, a tag, `refs/convert/parquet`, a commit). */
    readonly revision: string,
    /** The commit it resolved to. */
    readonly commit: string,
    /** `<cache>/<repo folder>/snapshots/<commit>`. */
    readonly folder: string,
    /** True when served from the cache without the network (offline, or the hub was unreachable). */
    readonly fromCache: boolean,
    /** The commit's files (from the hub, its cached record, or, for caches other tools filled, the files present). */
    readonly files: readonly HubFile[],
    private readonly settings: HubSettings,
    private readonly fetchImpl: typeof fetch,
    private readonly errorCodes: Map<string, string>,
    private readonly onEvent: (event: HubEvent) => void,
  ) {
    this.byPath = new Map(files.map((f) => [f.path, f]));
  }

  /** The listed file at `path`, if any. */
  file(path: string): HubFile | undefined {
    return this.byPath.get(path);
  }

  /** True when the commit has a file at `path`. */
  has(path: string): boolean {
    return this.byPath.has(path);
  }

  /** True when `path` is complete in the local snapshot folder (no download needed). */
  isCached(path: string): boolean {
    const f = this.byPath.get(path);
    const size = fileSize(join(this.folder, ...path.split('/')));
    return f !== undefined && size >= 0 && (f.size < 0 || size === f.size);
  }

  /**
   * The local path of `path` in the snapshot, downloading it first unless the cache already has it.
   *
   * @example
   * const snap = await openHubSnapshot({ type: 'model', id: 'google/flan-t5-base' });
   * const configPath = await snap.download('config.json');
   */
  async download(path: string): Promise<string> {
    validateRepoPath(path);
    const entry = this.byPath.get(path);
    const where = `${repoLabel(this.repo)}@${this.revision}`;
    if (!entry) throw new DeptError(`${where}: no file "${path}" in the repository (commit ${this.commit})`);
    const pointer = join(this.folder, ...path.split('/'));
    if (this.isCached(path)) {
      this.reused.push(path);
      this.onEvent({ type: 'cached', path, size: fileSize(pointer) });
      return pointer;
    }
    if (this.fromCache) {
      throw new DeptError(
        `${where}: ${path} is not in the cache (${this.folder})${this.settings.offline ? ' and HF_HUB_OFFLINE is set' : ' and the hub cannot be reached'}; fetch it once with the network`,
      );
    }
    const etag = entry.sha256 ?? entry.xetHash ?? entry.oid;
    if (!/^[0-9a-zA-Z]+$/.test(etag)) throw new DeptError(`${where}: the hub gave ${path} an unusable id "${etag}"`);
    const blob = join(hubRepoFolder(this.settings.cacheDir, this.repo), 'blobs', etag);
    if (fileSize(blob) !== entry.size) await this.fetchBlob(entry, blob);
    await linkPointer(blob, pointer);
    this.downloaded.push(path);
    return pointer;
  }

  /** Downloads one file into `blob` by way of `<blob>.incomplete` (resumed when present), checking size and checksum. */
  private async fetchBlob(entry: HubFile, blob: string): Promise<void> {
    await mkdir(dirname(blob), { recursive: true });
    const incomplete = `${blob}.incomplete`;
    const where = `${repoLabel(this.repo)}@${this.revision} ${entry.path}`;
    let start = Math.max(0, fileSize(incomplete));
    if (start > entry.size) {
      await rm(incomplete, { force: true });
      start = 0;
    }
    for (let attempt = 0; ; attempt++) {
      if (entry.size === 0) await writeFile(incomplete, new Uint8Array(0)); // nothing to download (and no byte range to ask for)
      else if (start < entry.size) await this.streamTo(entry, incomplete, start);
      const size = fileSize(incomplete);
      let problem: string | null = null;
      if (size !== entry.size) problem = `got ${size} bytes, expected ${entry.size}`;
      else if (entry.sha256) {
        const got = await hashFile(incomplete, 'sha256');
        if (got !== entry.sha256) problem = `sha256 ${got} does not match the hub's ${entry.sha256}`;
      } else if (!entry.xetHash && COMMIT.test(entry.oid)) {
        const got = await hashFile(incomplete, 'git');
        if (got !== entry.oid) problem = `git blob id ${got} does not match the hub's ${entry.oid}`;
      }
      if (problem === null) break;
      await rm(incomplete, { force: true });
      // A resumed download can be spoiled by the part written before: start once more from zero.
      if (start > 0 && attempt === 0) {
        start = 0;
        continue;
      }
      throw new DeptError(`${where}: the download is corrupt (${problem}); nothing was kept, run again`);
    }
    await rename(incomplete, blob);
    fsyncDir(dirname(blob));
    this.onEvent({ type: 'downloaded', path: entry.path, size: entry.size });
  }

  /** Streams the file's bytes from `start` to the end into `target` (appending when `start` > 0). */
  private async streamTo(entry: HubFile, target: string, start: number): Promise<void> {
    const where = `${repoLabel(this.repo)}@${this.revision} ${entry.path}`;
    let remote: Blob | null;
    try {
      remote = await downloadFile({
        repo: { type: this.repo.type, name: this.repo.id },
        path: entry.path,
        revision: this.commit,
        hubUrl: this.settings.endpoint,
        fetch: this.fetchImpl,
        xet: false,
      });
    } catch (error) {
      throw hubError(error, this.repo, this.revision, this.settings, this.errorCodes, entry.path);
    }
    if (!remote) throw new DeptError(`${where}: the hub lists this file but does not serve it (EntryNotFound)`);
    if (remote.size !== entry.size) throw new DeptError(`${where}: the hub serves ${remote.size} bytes but lists ${entry.size}; run again`);
    this.onEvent({ type: 'download', path: entry.path, size: entry.size, resumeFrom: start });
    const fh = await open(target, start > 0 ? 'a' : 'w', 0o644);
    let bytes = start;
    try {
      const reader = (start > 0 ? remote.slice(start) : remote).stream().getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        bytes += value.byteLength;
        if (bytes > entry.size) {
          await reader.cancel();
          break; // checked by the caller: the size will not match
        }
        await fh.write(value);
        this.onEvent({ type: 'progress', path: entry.path, bytes, size: entry.size });
      }
      await fh.sync();
    } catch (error) {
      const reason = error instanceof HubUnreachable || error instanceof Error ? error.message : String(error);
      const mapped = error instanceof HubApiError ? hubError(error, this.repo, this.revision, this.settings, this.errorCodes, entry.path).message : reason;
      throw new DeptError(`${where}: download interrupted after ${bytes} of ${entry.size} bytes (${mapped}); run again to resume`, { cause: error });
    } finally {
      await fh.close();
    }
  }
}

function treeRecordPath(repoDir: string, commit: string): string {
  return join(repoDir, '.dept', `tree-${commit}.json`);
}

function readTreeRecord(repoDir: string, commit: string): HubFile[] | null {
  const p = treeRecordPath(repoDir, commit);
  if (!isFile(p)) return null;
  try {
    const v = JSON.parse(readFileSync(p, 'utf8')) as { files?: HubFile[] };
    return Array.isArray(v.files) ? v.files : null;
  } catch {
    return null;
  }
}

/**
 * Opens a repository at a revision in the hub cache. Online, it asks the hub which commit the revision is (one
 * API call; none when `revision` is a commit already recorded) and lists the commit's files (one call, then
 * recorded in the cache). Offline (`HF_HUB_OFFLINE=1`), or when the hub cannot be reached at all, it uses the
 * cache: `refs/<revision>` names the commit, and the recorded list (or the files present) says what is there.
 * Files are fetched one by one with {@link HubSnapshot.download}.
 *
 * @example
 * const snap = await openHubSnapshot({ type: 'model', id: 'google/flan-t5-base' }, 'main');
 * snap.commit;                    // '7bcac572ce56db69c1ea7c8af255c5d7c9672fc2'
 * await snap.download('config.json');
 * snap.folder;                    // '~/.cache/huggingface/hub/models--google--flan-t5-base/snapshots/7bcac57…'
 */
export async function openHubSnapshot(repo: HubRepo, revision = 'main', opts: HubOptions = {}): Promise<HubSnapshot> {
  validateRepoId(repo.id, `${repo.type} id`);
  validateRevision(revision);
  const settings = hubSettings(opts);
  const errorCodes = new Map<string, string>();
  const fetchImpl = hubFetch(settings, opts.fetch, errorCodes);
  const onEvent = opts.onEvent ?? (() => {});
  const repoDir = hubRepoFolder(settings.cacheDir, repo);
  const make = (commit: string, fromCache: boolean, files: HubFile[]): HubSnapshot => {
    onEvent({ type: 'resolved', repo, revision, commit, fromCache });
    return new HubSnapshot(repo, revision, commit, join(repoDir, 'snapshots', commit), fromCache, files, settings, fetchImpl, errorCodes, onEvent);
  };
  const serveCached = (why: string): HubSnapshot => {
    let commit: string | null = COMMIT.test(revision) ? revision : null;
    if (commit === null) {
      const ref = join(repoDir, 'refs', ...revision.split('/'));
      const text = isFile(ref) ? readFileSync(ref, 'utf8').trim() : '';
      if (COMMIT.test(text)) commit = text;
    }
    const folder = commit === null ? '' : join(repoDir, 'snapshots', commit);
    if (commit === null || !existsSync(folder)) {
      throw new DeptError(`${why} and ${repoLabel(repo)} (revision ${revision}) is not in the cache ${settings.cacheDir}; run the fetch once with the network`);
    }
    return make(commit, true, readTreeRecord(repoDir, commit) ?? walkFiles(folder));
  };

  if (settings.offline) return serveCached('HF_HUB_OFFLINE is set');
  let commit: string;
  let files: HubFile[] | null;
  try {
    if (COMMIT.test(revision)) commit = revision;
    else {
      const name = repo.id;
      const info = repo.type === 'model'
        ? await modelInfo({ name, revision, hubUrl: settings.endpoint, fetch: fetchImpl, additionalFields: ['sha'] })
        : await datasetInfo({ name, revision, hubUrl: settings.endpoint, fetch: fetchImpl, additionalFields: ['sha'] });
      const sha = (info as { sha?: unknown }).sha;
      if (typeof sha !== 'string' || !COMMIT.test(sha)) throw new DeptError(`${repoLabel(repo)}: the hub did not say which commit revision ${revision} is`);
      commit = sha;
    }
    files = readTreeRecord(repoDir, commit);
    if (files === null) {
      files = [];
      for await (const e of listFiles({ repo: { type: repo.type, name: repo.id }, recursive: true, revision: commit, hubUrl: settings.endpoint, fetch: fetchImpl })) {
        if (e.type !== 'file') continue;
        validateRepoPath(e.path);
        const f: HubFile = { path: e.path, size: e.lfs?.size ?? e.size, oid: e.oid ?? '' };
        if (e.lfs?.oid) f.sha256 = e.lfs.oid;
        if (e.xetHash) f.xetHash = e.xetHash;
        files.push(f);
      }
      await mkdir(join(repoDir, '.dept'), { recursive: true });
      writeFileAtomic(treeRecordPath(repoDir, commit), `${JSON.stringify({ repo: repo.id, type: repo.type, commit, files })}\n`);
    }
  } catch (error) {
    if (error instanceof HubUnreachable) {
      let snap: HubSnapshot;
      try {
        snap = serveCached(`${repoLabel(repo)}: ${error.message}`);
      } catch {
        throw hubError(error, repo, revision, settings, errorCodes);
      }
      onEvent({ type: 'warning', message: `${error.message}; using the cached ${repoLabel(repo)} at commit ${snap.commit}` });
      return snap;
    }
    throw hubError(error, repo, revision, settings, errorCodes);
  }
  if (revision !== commit) {
    const ref = join(repoDir, 'refs', ...revision.split('/'));
    await mkdir(dirname(ref), { recursive: true });
    writeFileAtomic(ref, commit);
  }
  await mkdir(join(repoDir, 'snapshots', commit), { recursive: true });
  return make(commit, false, files);
}

/**
 * The snapshot folder the cache holds for `repo` at `revision` (its `refs/` entry, or the commit itself), without
 * touching the network; null when the cache has none.
 *
 * @example
 * cachedSnapshotFolder({ type: 'model', id: 'google/flan-t5-base' }); // '…/models--google--flan-t5-base/snapshots/7bcac57…' or null
 */
export function cachedSnapshotFolder(repo: HubRepo, revision = 'main', opts: Pick<HubOptions, 'cacheDir' | 'env'> = {}): string | null {
  validateRepoId(repo.id, `${repo.type} id`);
  validateRevision(revision);
  const repoDir = hubRepoFolder(opts.cacheDir ?? hubCacheDir(opts.env), repo);
  let commit = COMMIT.test(revision) ? revision : '';
  if (!commit) {
    const ref = join(repoDir, 'refs', ...revision.split('/'));
    commit = isFile(ref) ? readFileSync(ref, 'utf8').trim() : '';
  }
  if (!COMMIT.test(commit)) return null;
  const folder = join(repoDir, 'snapshots', commit);
  return existsSync(folder) ? folder : null;
}
