// The fault suite (e2e/faults): `pnpm exec vitest run --config vitest.faults.config.ts`.
import { defineConfig } from 'vitest/config';
import base from '../tools/vitest.base.ts';

export default defineConfig({ ...base, test: { ...base.test, include: ['faults/**/*.test.ts'] } });
