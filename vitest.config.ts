import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 300_000,
    // Tests share one Docker engine on a 2-core machine; files run one at a time so limits are meaningful.
    fileParallelism: false,
    reporters: ['default'],
  },
});
