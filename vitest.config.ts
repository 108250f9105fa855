import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Says whether the PostgreSQL half of the registry tests runs (and fails if its server is down).
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // End-to-end tests spawn sidecars; two cores are plenty for a few files at once.
    maxWorkers: 2,
  },
});
