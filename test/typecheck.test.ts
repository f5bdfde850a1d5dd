import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './helpers/shared.ts';

/** Runs `tsc -p project --noEmit` and expects no output and exit 0. */
function expectTypeChecks(project: string): void {
  const tsc = join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const res = spawnSync(process.execPath, [tsc, '-p', join(REPO_ROOT, project), '--noEmit'], { encoding: 'utf8', cwd: REPO_ROOT });
  expect(res.stdout + res.stderr).toBe('');
  expect(res.status).toBe(0);
}

describe('the whole repository', () => {
  it('type-checks under strict TypeScript (tsc --noEmit, noUnusedLocals)', () => {
    expectTypeChecks('tsconfig.json');
  });

  it('and so does the browser example, against the DOM library (examples/browser/tsconfig.json)', () => {
    expectTypeChecks(join('examples', 'browser', 'tsconfig.json'));
  });
});
