// The fault suite (e2e/faults): `pnpm exec vitest run --config vitest.faults.config.ts`.
// Files run one after another: each starts several real processes, and the lease
// suite's measured times should not share two cores with the chaos run.
import { defineConfig } from 'vitest/config';
import base from '../tools/vitest.base.ts';

export default defineConfig({
  ...base,
  test: { ...base.test, include: ['faults/**/*.test.ts'], fileParallelism: false },
});
