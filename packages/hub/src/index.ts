/**
 * @dept/hub: the Hugging Face hub client. The files of one repository at one revision are downloaded with
 * `@huggingface/hub` into the cache layout `huggingface_hub` uses, so caches filled by Python (`huggingface-cli download`,
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
 *
 * It knows the hub's conventions (snapshots, safetensors shards, Parquet conversions) but not what the files mean:
 * `@dept/t5` checks a model's config, `@dept/tasks` places a dataset's files where its readers look.
 *
 * 1. Settings: `hubSettings`, `hubCacheDir`, `validateRepoId`.
 * 2. Snapshots: `openHubSnapshot`, `HubSnapshot` (downloads), `cachedSnapshotFolder`.
 * 3. What a repository holds: `safetensorsFiles` (a model's weights), `findParquetFiles` (a dataset's splits).
 */

// 1. Settings
export { hubSettings, hubCacheDir, hubRepoFolder, validateRepoId } from './settings.ts';
export type { HubRepo, HubRepoType, HubFile, HubEvent, HubOptions, HubSettings, FetchedFiles } from './types.ts';

// 2. Snapshots
export { HubSnapshot } from './snapshot.ts';
export { openHubSnapshot, cachedSnapshotFolder } from './open.ts';

// 3. What a repository holds
export { safetensorsKind, downloadSafetensors } from './weights.ts';
export {
  findParquetFiles, parseHfDatasetSpec, HF_DATASET_ALIASES, PARQUET_CONVERSION_REVISION,
  type HfDatasetSpec, type ParquetFile, type FoundParquet,
} from './parquet.ts';
