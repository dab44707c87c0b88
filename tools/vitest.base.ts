/**
 * Shared vitest settings for every package: hermetic Google clients (no
 * metadata-server probe), generous per-test time for real image work on a
 * 2-core machine, and the default suite only (`*.test.ts`). The suite over
 * ../shared (`*.shared-test.ts`) runs through vitest.shared.config.ts.
 *
 * `expect.poll` waits up to 30 s, not vitest's 1 s: a poll states what must
 * become true, not how fast. On a loaded machine one browser round trip can
 * take over a second. A poll that needs longer says so.
 */
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts', '*.test.ts'],
    env: { METADATA_SERVER_DETECTION: 'none', NODE_ENV: 'test' },
    testTimeout: 60_000,
    hookTimeout: 120_000,
    teardownTimeout: 30_000,
    maxWorkers: 2,
    expect: { poll: { timeout: 30_000 } },
  },
});
