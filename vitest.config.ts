import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['packages/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
    fileParallelism: true,
    // Two test files run at once on a 2-core machine: one wasm thread each (test/wasm-threads.test.ts checks 2).
    env: { DEPT_WASM_THREADS: '1' },
  },
});
