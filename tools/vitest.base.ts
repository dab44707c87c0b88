/**
 * Shared vitest settings for every package: hermetic Google clients (no
 * metadata-server probe), generous per-test time for real image work on a
 * 2-core machine, and the default suite only (`*.test.ts`). The suite over
 * ../shared (`*.shared-test.ts`) runs through vitest.shared.config.ts.
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
  },
});
