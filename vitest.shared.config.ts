/**
 * The second suite: tests over ../shared (image corpus, Workflows samples, JSON
 * schemas). It exists on development machines and in CI, not on a user's
 * clone; tools/shared-suite.ts runs it only when the folder is there.
 */
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: [
      'apps/*/src/**/*.shared-test.ts',
      'apps/*/test/**/*.shared-test.ts',
      'packages/*/src/**/*.shared-test.ts',
      'packages/*/test/**/*.shared-test.ts',
      'tools/**/*.shared-test.ts',
      'scripts/test/**/*.shared-test.ts',
      'e2e/**/*.shared-test.ts',
    ],
    env: { METADATA_SERVER_DETECTION: 'none', NODE_ENV: 'test' },
    testTimeout: 120_000,
    hookTimeout: 180_000,
    maxWorkers: 2,
    // As in tools/vitest.base.ts: a poll states what must become true, not how fast.
    expect: { poll: { timeout: 30_000 } },
  },
});
