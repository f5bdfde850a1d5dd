/** The types of the hub client: repositories, files, events, options and resolved settings. */

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

/** What a fetch of some files of one snapshot got: the folder, which commit, which files, which were downloaded. */
export interface FetchedFiles {
  /** The snapshot folder, `<cache>/<repo folder>/snapshots/<commit>`. */
  dir: string;
  repo: string;
  revision: string;
  commit: string;
  /** The files fetched, in fetch order. */
  files: string[];
  /** Of `files`, those downloaded now (the others came from the cache). */
  downloaded: string[];
  /** True when served from the cache without the network (offline, or the hub unreachable). */
  fromCache: boolean;
}
