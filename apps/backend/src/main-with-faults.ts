/**
 * Test-only entry of the backend: main.ts with its object store wrapped in
 * seeded injected faults when `STORAGE_FAULTS` is set
 * (`seed=S,fail=R,stall=R,stallMs=N`, see @slideshow/storage/faulty). The
 * fault suite (e2e/faults) names this file; the image and `npm start` run
 * main.ts, which never reads STORAGE_FAULTS nor loads the faulty store.
 */
import { createFaultyObjectStore, parseStorageFaults } from '@slideshow/storage/faulty';
import { startBackend } from './main.ts';

// Read here and not through config.ts: this switch is no part of the backend's configuration.
const spec = process.env.STORAGE_FAULTS?.trim();
startBackend(
  spec
    ? {
        wrapStore: async (store) =>
          createFaultyObjectStore(store, parseStorageFaults(spec, 'backend')),
      }
    : {},
);
