/**
 * The test-only entries that inject faults: main.ts of the backend and of the
 * processor wrapped with hooks that honour `STORAGE_FAULTS` and
 * `PROCESSOR_FAULT`. The production entries (the backend's src/main.ts, the
 * processor's dist/processor.mjs) ignore both variables, so every test that
 * sets them starts its stack with these.
 */
export const FAULT_ENTRIES = {
  backend: 'apps/backend/src/main-with-faults.ts',
  processor: 'apps/processor/src/main-with-faults.ts',
} as const;
