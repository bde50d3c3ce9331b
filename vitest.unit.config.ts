import { defineConfig } from 'vitest/config';

/**
 * `npm run test:unit`: the unit tests alone, in seconds — no devnet, no server process, no build needed
 * (test/unit never starts one; the shared devnets of vitest.config.ts are not started).
 */
export default defineConfig({
  test: {
    include: ['test/unit/**/*.test.ts'],
    testTimeout: 30_000,
    pool: 'forks',
  },
});
