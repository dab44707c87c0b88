/**
 * Stopping during an orphan-sweeper pass (src/orphan-sweeper.ts): one listing
 * of `variants/` in a large library takes minutes, and a shutdown waits for
 * the pass under way. A stop ends the pass at its next listed object, and the
 * orphans it had already seen are not deleted on a partial listing: the next
 * pass lists again and deletes them.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '@slideshow/runtime';
import type { ObjectStore } from '@slideshow/storage';
import { createFsObjectStore } from '@slideshow/storage/fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { newImageId } from '../src/ids.ts';
import { createOrphanSweeper } from '../src/orphan-sweeper.ts';
import { makeApp, type TestApp } from './helpers.ts';
import { createSlowListStore } from './slow-list-store.ts';

const GRACE_MS = 60_000;
/** Orphaned variants: a whole listing takes ORPHANS × PER_ENTRY_MS (6 s). */
const ORPHANS = 300;
const PER_ENTRY_MS = 20;

describe('stopping the orphan sweeper during a pass', () => {
  let t: TestApp | undefined;
  /** The second test's own store folder (the first one uses the app's). */
  let storeDir = '';
  beforeAll(() => {
    storeDir = mkdtempSync(join(tmpdir(), 'sweeper-stop-'));
  });
  afterEach(() => t?.cleanup());
  afterAll(() => rmSync(storeDir, { recursive: true, force: true }));

  /** Stores ORPHANS variants of image ids without a row; returns every key under variants/. */
  async function putOrphans(store: ObjectStore): Promise<string[]> {
    for (let i = 0; i < ORPHANS; i++) {
      await store.put(`variants/${newImageId()}/web-v1/g0/w320.avif`, Buffer.from(`v${i}`), {
        contentType: 'image/avif',
      });
    }
    return listKeys(store);
  }
  async function listKeys(store: ObjectStore): Promise<string[]> {
    const out: string[] = [];
    for await (const o of store.list('variants/')) out.push(o.key);
    return out.sort();
  }

  it('ends the pass at its next listed object on stop, and deletes nothing it saw before the listing was whole', async () => {
    t = await makeApp();
    const inner = t.store;
    const before = await putOrphans(inner);
    const slow = createSlowListStore(inner, PER_ENTRY_MS);
    const sweeperOver = (store: ObjectStore) =>
      createOrphanSweeper({
        store,
        repos: t!.repos,
        logger: silentLogger,
        graceMs: GRACE_MS,
        intervalMs: 60_000,
        // Every orphan is past the grace period.
        now: () => Date.now() + GRACE_MS + 5_000,
      });
    const sweeper = sweeperOver(slow);

    const pass = sweeper.sweepOnce();
    await expect.poll(() => slow.listed()).toBeGreaterThanOrEqual(5);
    await sweeper.stop();
    // Stopped well before the listing would have finished (ORPHANS entries).
    expect(slow.listed()).toBeLessThan(ORPHANS / 2);
    expect(await pass).toEqual([]);
    expect(await listKeys(inner)).toEqual(before);

    // The next pass starts over and deletes them all.
    expect((await sweeperOver(inner).sweepOnce()).sort()).toEqual(before);
    expect(await listKeys(inner)).toEqual([]);
  });

  it("the backend's stopPeriodic (a shutdown) ends a sweep under way instead of waiting for its listing", async () => {
    const inner = createFsObjectStore({ root: join(storeDir, 'storage') });
    const before = await putOrphans(inner);
    const slow = createSlowListStore(inner, PER_ENTRY_MS);
    t = await makeApp({ store: slow, sweeper: { graceMs: GRACE_MS } });
    t.clock.now = Date.now() + GRACE_MS + 5_000;

    const pass = t.backend.sweeper.sweepOnce();
    await expect.poll(() => slow.listed()).toBeGreaterThanOrEqual(5);
    await t.backend.stopPeriodic();
    expect(slow.listed()).toBeLessThan(ORPHANS / 2);
    expect(await pass).toEqual([]);
    expect(await listKeys(inner)).toEqual(before);
  });
});
