/**
 * A test adapter of the ObjectStore port whose listings are slow, the way a
 * listing of a bucket with hundreds of thousands of objects is (one listing of
 * `variants/` through the folder store took minutes in a 100,000-image
 * library): every entry waits `perEntryMs` before it is yielded, and
 * `listed()` counts the entries yielded so far. Everything else goes to the
 * real inner store.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { type ListEntry, listThrough, type ObjectInfo, type ObjectStore } from '@slideshow/storage';

/** Wraps `inner` so that each listed entry takes `perEntryMs`. */
export function createSlowListStore(
  inner: ObjectStore,
  perEntryMs: number,
): ObjectStore & { listed(): number } {
  let listed = 0;
  async function* slowly<T extends ObjectInfo | ListEntry>(entries: AsyncIterable<T>) {
    for await (const entry of entries) {
      await sleep(perEntryMs);
      listed++;
      yield entry;
    }
  }
  return {
    put: (key, body, options) => inner.put(key, body, options),
    get: (key, options) => inner.get(key, options),
    stat: (key) => inner.stat(key),
    list: listThrough(inner, slowly),
    delete: (key) => inner.delete(key),
    deletePrefix: (prefix) => inner.deletePrefix(prefix),
    ...(inner.uploads ? { uploads: inner.uploads } : {}),
    listed: () => listed,
  };
}
