/**
 * Locating `../shared` (real data, banks, fixtures) from tests. Tests that need it use `describeShared`, which
 * skips the whole block with a clear message when the folder is absent.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe } from 'vitest';

/** The repository root. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** `../shared` beside the repository root (or `$DEPT_SHARED`). */
export const SHARED_DIR = process.env.DEPT_SHARED ?? resolve(REPO_ROOT, '..', 'shared');

/** True when `../shared` is present. */
export const HAS_SHARED = existsSync(join(SHARED_DIR, 'docs'));

/** A path inside `../shared`. */
export function sharedPath(...parts: string[]): string {
  return join(SHARED_DIR, ...parts);
}

/** `describe` that runs only when `../shared` exists, and otherwise reports why it skipped. */
export function describeShared(name: string, fn: () => void): void {
  if (!HAS_SHARED) {
    describe.skip(`${name} (skipped: ${SHARED_DIR} not found; it holds the real data and fixtures)`, fn);
    return;
  }
  describe(name, fn);
}
