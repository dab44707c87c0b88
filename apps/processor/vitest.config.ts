/** Shared vitest settings plus a global setup that bundles the processor once. */
import { mergeConfig } from 'vitest/config';
import base from '../../tools/vitest.base.ts';

export default mergeConfig(base, { test: { globalSetup: ['./test/global-setup.ts'] } });
