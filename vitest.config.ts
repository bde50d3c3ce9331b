import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // One set of devnets for the cross-rail suite (test/crossrail), started once per run.
    globalSetup: ['test/support/sharedDevnets.globalSetup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
