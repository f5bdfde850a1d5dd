/**
 * One repository at one commit in the hub cache: its file list, and checked, resumable downloads of single files
 * into `blobs/`, linked from `snapshots/<commit>/`.
 */import { createHash } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import { copyFile, mkdir, open, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { HubApiError, downloadFile } from '@huggingface/hub';
import { DeptError, fsyncDir, tempSiblingPath } from '@dept/core';
import { HubUnreachable, hubError } from './http.ts';
import { COMMIT, hubRepoFolder, repoLabel, validateRepoPath } from './settings.ts';
import type { FetchedFiles, HubEvent, HubFile, HubRepo, HubSettings } from './types.ts';

function fileSize(p: string): number {
  try {
    const s = statSync(p);
    return s.isFile() ? s.size : -1;
  } catch {
    return -1;
  }
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

  /**
   * The summary of a fetch of `files` of this snapshot (each fetched with {@link HubSnapshot.download} before).
   *
   * @example
   * await snap.download('config.json');
   * snap.fetched(['config.json']); // { dir, repo, revision, commit, files: ['config.json'], downloaded: […], fromCache }
   */
  fetched(files: readonly string[]): FetchedFiles {
    return {
      dir: this.folder, repo: this.repo.id, revision: this.revision, commit: this.commit,
      files: [...files], downloaded: files.filter((f) => this.downloaded.includes(f)), fromCache: this.fromCache,
    };
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
