import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './helpers/shared.ts';

describe('the whole repository', () => {
  it('type-checks under strict TypeScript (tsc --noEmit, noUnusedLocals)', () => {
    const tsc = join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const res = spawnSync(process.execPath, [tsc, '-p', join(REPO_ROOT, 'tsconfig.json'), '--noEmit'], { encoding: 'utf8', cwd: REPO_ROOT });
    expect(res.stdout + res.stderr).toBe('');
    expect(res.status).toBe(0);
  });
});
