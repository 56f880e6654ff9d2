import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (path: string) => fileURLToPath(new URL(`./src/${path}`, import.meta.url));

export default defineConfig({
  // The examples import the package by its name, as a user's project does; here it is the source, unbuilt.
  resolve: {
    alias: [
      { find: /^cleanrooms-ml-local\/testcontainers\/matchers$/, replacement: src('testcontainers/matchers.ts') },
      { find: /^cleanrooms-ml-local\/testcontainers\/vitest$/, replacement: src('testcontainers/vitest.ts') },
      { find: /^cleanrooms-ml-local\/testcontainers$/, replacement: src('testcontainers/index.ts') },
      { find: /^cleanrooms-ml-local$/, replacement: src('index.ts') },
    ],
  },
  test: {
    // examples/ci holds the CI tests a user copies; they run here too (no other glob reaches them).
    include: ['test/**/*.test.ts', 'examples/ci/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 300_000,
    // Tests share one Docker engine on a 2-core machine; files run one at a time so limits are meaningful.
    fileParallelism: false,
    // Brings the Swarm lab down at the end of a run in which a test/swarm file brought it up (nothing otherwise).
    globalSetup: ['test/swarm/lab-global-setup.ts'],
    reporters: ['default'],
    // testcontainers' reaper (Ryuk) is an image on Docker Hub, which this machine cannot reach; TrainingContainer
    // removes what a dead test process left instead. Set it to false where Ryuk's image can be pulled.
    env: { TESTCONTAINERS_RYUK_DISABLED: process.env.TESTCONTAINERS_RYUK_DISABLED ?? 'true' },
  },
});
