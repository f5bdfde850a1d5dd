/**
 * @dept/core: the ground floor every other package stands on. No tfjs, no model, no task knowledge.
 *
 * 1. Errors: `DeptError`, the one user-facing error (one line, exit status 2).
 * 2. Randomness: `Rng`, the seeded generator every random draw flows through.
 * 3. Files: atomic writes of files and folders (`writeFileAtomic`, `writeJsonAtomic`, `writeFolderAtomic`), `isFile`,
 *    `isDir`, the temporaries of killed writers (`removeStaleTemporaries`), `ensureFolder`, `assertNoLinksBelow`;
 *    reading only regular files, never blocking on a FIFO (`readRegularFile`, `openRegularFile`, `checkRegularFile`).
 * 4. Folder records: `.dept.json`, what dept wrote in a folder (`claimEntries`, `removeRecordedEntries`).
 * 5. The environment: errno errors as one-line `DeptError`s (`environmentError`); which process wrote a lock
 *    (`processIdentity`, `writerAlive`).
 * 6. JSON: parsing with errors that name the file, line and column (`readJsonFile`, `parseJsonText`, `scanJson`).
 * 7. Progress: `ProgressEvent`, the one shape of "done of total" events that loops report and displays show.
 */

// 1. Errors
export { DeptError, isDeptError } from './errors.ts';

// 2. Randomness
export { Rng, type RngState } from './rng.ts';

// 3. Files
export {
  writeFileAtomic, writeJsonAtomic, writeFolderAtomic, sortKeysDeep, tempSiblingPath, fsyncDir, isFile, isDir,
  ensureFolder, removeEmptyFolders, parseTempName, temporaryWriterGone, removeStaleTemporaries, assertNoLinksBelow,
} from './files.ts';
export { readRegularFile, openRegularFile, checkRegularFile } from './read.ts';

// 4. Folder records
export { FOLDER_RECORD_FILE, readFolderRecord, claimEntries, removeRecordedEntries, forgetUnusedFolder, type FolderRecord, type ClaimOptions } from './records.ts';

// 5. The environment
export { environmentError, environmentCause, withEnvironmentErrors } from './fs-errors.ts';
export { nextTurn, processAlive, processIdentity, processStartedAt, writerAlive, bootId, startTicks, type ProcessIdentity } from './process.ts';

// 6. JSON
export { readJsonFile, parseJsonText, scanJson, firstDifference, type JsonProblem, type JsonDuplicate, type ScanJsonOptions } from './json.ts';

// 7. Progress
export type { ProgressEvent } from './progress.ts';
