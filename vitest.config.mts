import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    // End-to-end files each run their own Homebridge; two cores, so at most two files at once.
    maxWorkers: 2,
    pool: 'forks',
  },
});
