import { defineConfig } from 'vitest/config';

/** The @dept packages resolve to their TypeScript sources in the repository (see tsconfig.base.json). */
const SOURCE_CONDITION = 'dept-source';

export default defineConfig({
  ssr: { resolve: { conditions: [SOURCE_CONDITION] } },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
    fileParallelism: true,
    // Two test files run at once on a 2-core machine: one wasm thread each (test/wasm-threads.test.ts checks 2).
    // Node processes that tests start (node --import tsx ...) resolve the @dept packages to their sources too.
    env: { DEPT_WASM_THREADS: '1', NODE_OPTIONS: [process.env.NODE_OPTIONS, `--conditions=${SOURCE_CONDITION}`].filter(Boolean).join(' ') },
  },
});
