/**
 * Opening a repository at a revision: online, the hub says which commit it is and lists its files (recorded in
 * the cache for offline use); offline, or when the hub cannot be reached, the cache alone answers.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { datasetInfo, listFiles, modelInfo } from '@huggingface/hub';
import { DeptError, isFile, writeFileAtomic } from '@dept/core';
import { HubUnreachable, hubError, hubFetch } from './http.ts';
import { COMMIT, hubCacheDir, hubRepoFolder, hubSettings, repoLabel, validateRepoId, validateRepoPath, validateRevision } from './settings.ts';
import { HubSnapshot } from './snapshot.ts';
import type { HubFile, HubOptions, HubRepo } from './types.ts';

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
