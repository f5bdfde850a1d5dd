/**
 * @dept/core: the ground floor every other package stands on. No tfjs, no model, no task knowledge.
 *
 * 1. Errors: `DeptError`, the one user-facing error (one line, exit status 2).
 * 2. Randomness: `Rng`, the seeded generator every random draw flows through.
 * 3. Files: atomic writes of files and folders (`writeFileAtomic`, `writeJsonAtomic`, `writeFolderAtomic`), `isFile`, `isDir`;
 *    reading only regular files, never blocking on a FIFO (`readRegularFile`, `openRegularFile`, `checkRegularFile`).
 * 4. JSON: parsing with errors that name the file, line and column (`readJsonFile`, `parseJsonText`, `scanJson`).
 */

// 1. Errors
export { DeptError, isDeptError } from './errors.ts';

// 2. Randomness
export { Rng, type RngState } from './rng.ts';

// 3. Files
export { writeFileAtomic, writeJsonAtomic, writeFolderAtomic, sortKeysDeep, tempSiblingPath, fsyncDir, isFile, isDir } from './files.ts';
export { readRegularFile, openRegularFile, checkRegularFile } from './read.ts';

// 4. JSON
export { readJsonFile, parseJsonText, scanJson, type JsonProblem, type JsonDuplicate } from './json.ts';
