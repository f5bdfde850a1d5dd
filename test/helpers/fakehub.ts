/**
 * A local stand-in for the Hugging Face hub, on 127.0.0.1, answering the routes `@huggingface/hub` calls the way
 * the hub does:
 *
 * - `GET /api/{models|datasets}/{repo}/revision/{rev}` → `{ _id, id, sha, … }` (`X-Error-Code: RepoNotFound` or
 *   `RevisionNotFound` with a 404 when absent);
 * - `GET /api/{models|datasets}/{repo}/tree/{rev}?recursive=true` → `[{ type, oid, size, path, lfs? }]`;
 * - `GET /{repo}/resolve/{rev}/{path}` (and `/datasets/{repo}/resolve/…`) → the bytes with `ETag` (the git blob id),
 *   `X-Repo-Commit`, `Content-Length` and `Range` support; LFS files redirect (302, with `X-Linked-ETag` and
 *   `X-Linked-Size`) to a second server, the "CDN", on another port, as the hub redirects to its CDN;
 *   `X-Error-Code: EntryNotFound` with a 404 for a missing file, `GatedRepo` with a 401 for a gated repository
 *   without its token.
 *
 * Every request is logged. Faults can be armed: cut a file's body after N bytes, or flip one byte of it, once.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One file of a fake repository. */
export interface FakeFile {
  path: string;
  data: Uint8Array;
  /** Stored with LFS: listed with `lfs.oid` (sha256) and served through the CDN redirect. */
  lfs?: boolean;
}

/** One fake repository: branches (or other refs) and their files. */
export interface FakeRepo {
  type: 'model' | 'dataset';
  id: string;
  refs: Record<string, FakeFile[]>;
  /** Needs `Authorization: Bearer <token>` for file downloads. */
  gatedToken?: string;
}

/** A logged request. */
export interface LoggedRequest {
  server: 'hub' | 'cdn';
  method: string;
  url: string;
  kind: 'api' | 'file' | 'other';
  range: string | null;
  authorization: string | null;
}

interface Blob_ {
  data: Uint8Array;
  gitOid: string;
  sha256: string;
}

function gitOid(data: Uint8Array): string {
  return createHash('sha1').update(`blob ${data.length}\0`).update(data).digest('hex');
}

function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The commit id of a ref: a stable hash of its content. */
function commitOf(repo: FakeRepo, ref: string): string {
  const h = createHash('sha1').update(`${repo.type}/${repo.id}@${ref}`);
  for (const f of repo.refs[ref] ?? []) h.update(f.path).update(f.data);
  return h.digest('hex');
}

/** The fake hub and its CDN. */
export class FakeHub {
  readonly log: LoggedRequest[] = [];
  /** Path → bytes after which the next full download of it is cut (the socket is destroyed). */
  readonly cutOnce = new Map<string, number>();
  /** Paths whose next full download has one byte flipped. */
  readonly corruptOnce = new Set<string>();
  private hub: Server | null = null;
  private cdn: Server | null = null;
  private hubUrl = '';
  private cdnUrl = '';
  private readonly blobs = new Map<string, Blob_>();

  constructor(readonly repos: FakeRepo[]) {}

  /** `http://127.0.0.1:PORT` of the hub. */
  get url(): string {
    return this.hubUrl;
  }

  /** The commit a ref of a repository resolves to. */
  commit(id: string, ref = 'main'): string {
    const repo = this.repos.find((r) => r.id === id);
    if (!repo) throw new Error(`no fake repo ${id}`);
    return commitOf(repo, ref);
  }

  /** Requests of the log, optionally of one kind, since index `from`. */
  requests(kind?: LoggedRequest['kind'], from = 0): LoggedRequest[] {
    return this.log.slice(from).filter((r) => kind === undefined || r.kind === kind);
  }

  async start(): Promise<void> {
    this.hub = createServer((req, res) => this.handleHub(req, res));
    this.cdn = createServer((req, res) => this.handleCdn(req, res));
    for (const s of [this.hub, this.cdn]) {
      s.keepAliveTimeout = 1000;
      await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
    }
    this.hubUrl = `http://127.0.0.1:${(this.hub.address() as AddressInfo).port}`;
    this.cdnUrl = `http://127.0.0.1:${(this.cdn.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    for (const s of [this.hub, this.cdn]) {
      if (!s) continue;
      s.closeAllConnections();
      await new Promise<void>((resolve) => s.close(() => resolve()));
    }
  }

  private record(server: 'hub' | 'cdn', req: IncomingMessage, kind: LoggedRequest['kind']): void {
    this.log.push({
      server,
      method: req.method ?? 'GET',
      url: req.url ?? '',
      kind,
      range: (req.headers.range as string | undefined) ?? null,
      authorization: (req.headers.authorization as string | undefined) ?? null,
    });
  }

  private findRepo(type: string, id: string): FakeRepo | undefined {
    return this.repos.find((r) => `${r.type}s` === type && r.id === id);
  }

  private error(res: ServerResponse, status: number, code: string, message: string): void {
    res.writeHead(status, { 'Content-Type': 'application/json', 'X-Error-Code': code, 'X-Error-Message': message });
    res.end(JSON.stringify({ error: message }));
  }

  private json(res: ServerResponse, value: unknown): void {
    const body = JSON.stringify(value);
    res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  }

  /** The ref name a URL segment names: a branch, an encoded `refs/convert/parquet`, or a commit. */
  private resolveRef(repo: FakeRepo, rev: string): string | null {
    const name = decodeURIComponent(rev);
    if (name in repo.refs) return name;
    return Object.keys(repo.refs).find((r) => commitOf(repo, r) === name) ?? null;
  }

  private handleHub(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', this.hubUrl);
    const path = url.pathname;
    const api = /^\/api\/(models|datasets)\/(.+?)\/(revision|tree)\/(.+)$/.exec(path);
    if (api) {
      this.record('hub', req, 'api');
      const [, type, id, what, rest] = api as unknown as [string, string, string, string, string];
      const repo = this.findRepo(type, id);
      if (!repo) return this.error(res, 404, 'RepoNotFound', 'Repository not found');
      if (what === 'revision') {
        const ref = this.resolveRef(repo, rest);
        if (ref === null) return this.error(res, 404, 'RevisionNotFound', 'Invalid rev id');
        const sha = commitOf(repo, ref);
        return this.json(res, { _id: `id-${repo.id}`, id: repo.id, sha, private: false, gated: repo.gatedToken ? 'auto' : false, downloads: 0, likes: 0, lastModified: '2024-01-01T00:00:00.000Z', siblings: (repo.refs[ref] ?? []).map((f) => ({ rfilename: f.path })) });
      }
      // tree/{rev}[/{path}]: only whole-repository listings are needed here.
      const ref = this.resolveRef(repo, rest.split('/')[0] as string) ?? this.resolveRef(repo, rest);
      if (ref === null) return this.error(res, 404, 'RevisionNotFound', 'Invalid rev id');
      const dirs = new Set<string>();
      const entries: unknown[] = [];
      for (const f of repo.refs[ref] ?? []) {
        const parts = f.path.split('/');
        for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
        const b = this.blob(f.data);
        const pointer = `version https://git-lfs.github.com/spec/v1\noid sha256:${b.sha256}\nsize ${f.data.length}\n`;
        entries.push(f.lfs
          ? { type: 'file', oid: gitOid(Buffer.from(pointer)), size: f.data.length, path: f.path, lfs: { oid: b.sha256, size: f.data.length, pointerSize: pointer.length } }
          : { type: 'file', oid: b.gitOid, size: f.data.length, path: f.path });
      }
      for (const d of dirs) entries.push({ type: 'directory', oid: '0'.repeat(40), size: 0, path: d });
      return this.json(res, entries);
    }
    const resolve = /^\/(datasets\/)?(.+?)\/resolve\/([^/]+)\/(.+)$/.exec(path);
    if (resolve) {
      this.record('hub', req, 'file');
      const [, ds, id, rev, filePath] = resolve as unknown as [string, string | undefined, string, string, string];
      const repo = this.findRepo(ds ? 'datasets' : 'models', id);
      if (!repo) return this.error(res, 404, 'RepoNotFound', 'Repository not found');
      const ref = this.resolveRef(repo, rev);
      if (ref === null) return this.error(res, 404, 'RevisionNotFound', 'Invalid rev id');
      const file = (repo.refs[ref] ?? []).find((f) => f.path === decodeURIComponent(filePath));
      if (!file) return this.error(res, 404, 'EntryNotFound', 'Entry not found');
      if (repo.gatedToken && req.headers.authorization !== `Bearer ${repo.gatedToken}`) {
        return this.error(res, 401, 'GatedRepo', `Access to model ${repo.id} is restricted. You must have access to it and be authenticated to access it. Please log in.`);
      }
      const b = this.blob(file.data);
      const commit = commitOf(repo, ref);
      if (file.lfs) {
        res.writeHead(302, {
          Location: `${this.cdnUrl}/lfs/${b.sha256}?path=${encodeURIComponent(file.path)}`,
          'X-Linked-ETag': `"${b.sha256}"`,
          'X-Linked-Size': String(file.data.length),
          'X-Repo-Commit': commit,
          'Content-Length': '0',
        });
        res.end();
        return;
      }
      return this.serveBytes(req, res, file.path, b.data, `"${b.gitOid}"`, { 'X-Repo-Commit': commit });
    }
    this.record('hub', req, 'other');
    this.error(res, 404, 'NotFound', `no route ${path}`);
  }

  private handleCdn(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', this.cdnUrl);
    this.record('cdn', req, 'file');
    const m = /^\/lfs\/([0-9a-f]{64})$/.exec(url.pathname);
    const b = m ? this.blobs.get(m[1] as string) : undefined;
    if (!b) {
      res.writeHead(404);
      res.end();
      return;
    }
    this.serveBytes(req, res, url.searchParams.get('path') ?? '', b.data, `"${b.sha256}"`, {});
  }

  private blob(data: Uint8Array): Blob_ {
    const key = sha256(data);
    let b = this.blobs.get(key);
    if (!b) {
      b = { data, gitOid: gitOid(data), sha256: key };
      this.blobs.set(key, b);
    }
    return b;
  }

  /** Serves bytes with Range support; a full download may be cut or corrupted once, when armed. */
  private serveBytes(req: IncomingMessage, res: ServerResponse, path: string, data: Uint8Array, etag: string, extra: Record<string, string>): void {
    const headers: Record<string, string> = { ETag: etag, 'Accept-Ranges': 'bytes', 'Content-Type': 'application/octet-stream', ...extra };
    const range = /^bytes=(\d+)-(\d*)$/.exec((req.headers.range as string | undefined) ?? '');
    if (range) {
      const start = Number(range[1]);
      const end = range[2] ? Math.min(Number(range[2]), data.length - 1) : data.length - 1;
      if (start >= data.length || start > end) {
        res.writeHead(416, { 'Content-Range': `bytes */${data.length}` });
        res.end();
        return;
      }
      res.writeHead(206, { ...headers, 'Content-Range': `bytes ${start}-${end}/${data.length}`, 'Content-Length': String(end - start + 1) });
      res.end(Buffer.from(data.subarray(start, end + 1)));
      return;
    }
    res.writeHead(200, { ...headers, 'Content-Length': String(data.length) });
    const cut = this.cutOnce.get(path);
    if (cut !== undefined) {
      this.cutOnce.delete(path);
      res.write(Buffer.from(data.subarray(0, cut)), () => setTimeout(() => res.destroy(), 20));
      return;
    }
    if (this.corruptOnce.has(path)) {
      this.corruptOnce.delete(path);
      const bad = Buffer.from(data);
      bad[bad.length >> 1] = (bad[bad.length >> 1] as number) ^ 0xff;
      res.end(bad);
      return;
    }
    res.end(Buffer.from(data));
  }
}

/** The variables `huggingface_hub` reads (and dept's data folder), cleared while a test talks to the fake hub. */
export const HF_VARS: readonly string[] = ['HF_ENDPOINT', 'HF_TOKEN', 'HUGGING_FACE_HUB_TOKEN', 'HF_TOKEN_PATH', 'HF_HOME', 'HF_HUB_CACHE', 'HUGGINGFACE_HUB_CACHE', 'HF_HUB_OFFLINE', 'XDG_CACHE_HOME', 'DEPT_DATA'];

/**
 * Keeps a test file away from the real hub: clears {@link HF_VARS}, points `HF_HOME` at `home` (never the user's
 * cache or token), and lets `fetch` reach 127.0.0.1 only. Returns the function that restores both.
 *
 * @example
 * const restore = isolateFromRealHub(join(root, 'hf-home'));
 * // … tests against a FakeHub …
 * restore();
 */
export function isolateFromRealHub(home: string): () => void {
  const saved = new Map(HF_VARS.map((k) => [k, process.env[k]]));
  for (const k of HF_VARS) delete process.env[k];
  process.env.HF_HOME = home;
  const realFetch = globalThis.fetch;
  globalThis.fetch = ((input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    if (url.hostname !== '127.0.0.1') throw new Error(`test tried to contact ${url.href}`);
    return realFetch(input, init);
  }) as typeof fetch;
  return () => {
    globalThis.fetch = realFetch;
    for (const [k, v] of saved) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
}
