/**
 * The reconcile after a database restore (src/routes/reconcile.ts,
 * docs/operations.md "After a restore"): a database restored to an earlier
 * point lists images deleted since as processed, while the store has lost
 * their variants (and originals), and knows nothing of the uploads made
 * since, whose originals the store still holds. The real builder over a real
 * SQLite file and folder store; the restore is what it leaves behind: rows
 * whose objects are gone, objects whose rows are gone.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ReconcileOriginalsAnswer,
  ReconcileVariantsAnswer,
  SlideshowAnswer,
} from '@slideshow/contracts';
import { silentLogger } from '@slideshow/runtime';
import { type ListEntry, listThrough, type ObjectInfo, type ObjectStore } from '@slideshow/storage';
import { createFsObjectStore } from '@slideshow/storage/fs';
import { afterEach, beforeEach, describe, expect, it, onTestFinished } from 'vitest';
import { newImageId } from '../src/ids.ts';
import { variantKey, variantsOf } from '../src/image-view.ts';
import { originalKey } from '../src/keys.ts';
import { createOrphanSweeper } from '../src/orphan-sweeper.ts';
import { admin, expectAnswer, expectJson, makeApp, type TestApp } from './helpers.ts';
import { regenHarness } from './regen-harness.ts';

const GRACE_MS = 60_000;

describe('the reconcile after a restore', () => {
  let t: TestApp;
  let processed: (n: number) => Promise<string[]>;
  beforeEach(async () => {
    const h = await regenHarness({});
    t = h.t;
    // Object times are real file times: run the app's clock on real time.
    t.clock.now = Date.now();
    processed = h.processed;
  });
  afterEach(() => t.cleanup());

  /** Stores the variants `id`'s record names, as its processor wrote them; returns their keys. */
  async function storeVariants(id: string): Promise<string[]> {
    const row = t.repos.images.get(id);
    if (!row) throw new Error(`no image ${id}`);
    const keys = variantsOf(row).map((v) => variantKey(row, v));
    for (const key of keys) await t.store.put(key, Buffer.from(key), { contentType: 'image/webp' });
    return keys;
  }

  const checkVariants = async (body: Record<string, unknown>) =>
    expectAnswer(
      ReconcileVariantsAnswer,
      await t.app.request('/api/admin/reconcile/variants', {
        method: 'POST',
        headers: admin({ 'Content-Type': 'application/json' }),
        body: JSON.stringify(body),
      }),
      200,
    );

  /** Every batch from the start, `limit` images each. */
  async function checkAll(dryRun: boolean, limit: number) {
    const batches: ReconcileVariantsAnswer[] = [];
    let after = '';
    do {
      const batch = await checkVariants({ dryRun, after, limit });
      batches.push(batch);
      after = batch.next ?? '';
    } while (after !== '' && batches.length < 10);
    return {
      batches: batches.length,
      checked: batches.reduce((n, b) => n + b.checked, 0),
      findings: batches.flatMap((b) => b.findings),
    };
  }

  const slideshowIds = async () =>
    (await expectAnswer(SlideshowAnswer, await t.app.request('/api/slideshow'), 200)).images.map(
      (s) => s.id,
    );

  it('an image restored as processed whose variants are gone is reported failed, not served', async () => {
    const [intactId, partialId, goneId] = await processed(3);
    const [intact, partial, gone] = await Promise.all(
      [intactId!, partialId!, goneId!].map(async (id) => ({
        id,
        variants: await storeVariants(id),
      })),
    );
    if (!intact || !partial || !gone) throw new Error('three images expected');
    // What a delete after the restore point did to the store: one variant lost from one image
    // (a partial delete), every variant and the upload original of another.
    await t.store.delete(partial.variants[2]!);
    for (const key of gone.variants) await t.store.delete(key);
    await t.store.delete(originalKey(gone.id));
    expect((await slideshowIds()).sort()).toEqual([intact.id, partial.id, gone.id].sort());

    // A dry run in batches of one: it finds both, and changes nothing.
    const dry = await checkAll(true, 1);
    expect(dry.checked).toBe(3);
    const byId = (findings: typeof dry.findings) =>
      Object.fromEntries(findings.map((f) => [f.imageId, f]));
    expect(byId(dry.findings)).toEqual({
      [partial.id]: {
        imageId: partial.id,
        originalName: '1.png',
        code: 'VARIANTS_MISSING',
        variants: 6,
        missing: 1,
        failed: false,
      },
      [gone.id]: {
        imageId: gone.id,
        originalName: '2.png',
        code: 'NOT_FOUND',
        variants: 6,
        missing: 6,
        failed: false,
      },
    });
    expect(t.repos.images.get(partial.id)?.status).toBe('processed');

    // The run fails them as any failure is: a failed_tasks row operators query, out of the slideshow.
    const run = await checkAll(false, 100);
    expect(run.batches).toBe(1);
    expect(run.findings.map((f) => [f.imageId, f.code, f.failed]).sort()).toEqual(
      [
        [partial.id, 'VARIANTS_MISSING', true],
        [gone.id, 'NOT_FOUND', true],
      ].sort(),
    );
    expect(t.repos.images.get(intact.id)?.status).toBe('processed');
    for (const [id, code] of [
      [partial.id, 'VARIANTS_MISSING'],
      [gone.id, 'NOT_FOUND'],
    ] as const) {
      expect(t.repos.images.get(id)).toMatchObject({
        status: 'failed',
        last_error_code: code,
        variants: null,
      });
      expect(t.repos.failedTasks.get(id)).toMatchObject({
        error_code: code,
        source: 'reaper',
        resolved_at: null,
      });
    }
    expect(t.repos.failedTasks.get(partial.id)?.error_message).toMatch(
      /^reconcile: 1 of 6 variants of generation 0 are missing from the store; a retry/,
    );
    expect(await slideshowIds()).toEqual([intact.id]);
    const detail = await expectJson<{ thumb: unknown; retryable: boolean }>(
      await t.app.request(`/api/images/${partial.id}`, { headers: admin() }),
      200,
    );
    expect(detail).toMatchObject({ thumb: null, retryable: true });

    // A retry makes the set again at a new generation; a second pass finds nothing more.
    await expectJson(
      await t.app.request(`/api/admin/images/${partial.id}/retry`, {
        method: 'POST',
        headers: admin(),
      }),
      202,
    );
    expect(t.repos.images.get(partial.id)).toMatchObject({ status: 'queued', generation: 1 });
    expect(await checkAll(false, 100)).toEqual({ batches: 1, checked: 1, findings: [] });
  });

  it('an original of the generated layout with no row is reported, not deleted', async () => {
    await storeVariants((await processed(1))[0]!);
    // The uploads made after the restore point: their originals and variants, no rows.
    const lost = [newImageId(), newImageId()].sort();
    const bytes = lost.map((id, i) => Buffer.from(`the original of ${id}`.repeat(i + 1)));
    for (const [i, id] of lost.entries()) {
      await t.store.put(originalKey(id), bytes[i]!, { contentType: 'image/png' });
    }
    const lostVariant = `variants/${lost[0]}/web-v3/g0/w320.webp`;
    await t.store.put(lostVariant, Buffer.from('v'), { contentType: 'image/webp' });
    // Not lost: an upload in progress (its key pending), and an admin's own file.
    const inFlight = originalKey(newImageId());
    t.lifecycle.reserveOriginal(inFlight);
    await t.store.put(inFlight, Buffer.from('in flight'), { contentType: 'image/png' });
    await t.store.put('originals/holiday.png', Buffer.from('mine'), { contentType: 'image/png' });

    const originals = async (query: string) =>
      expectAnswer(
        ReconcileOriginalsAnswer,
        await t.app.request(`/api/admin/reconcile/originals${query}`, { headers: admin() }),
        200,
      );
    const listing = await originals('');
    expect(listing).toEqual({
      originals: lost.map((id, i) => ({
        key: originalKey(id),
        imageId: id,
        bytes: bytes[i]!.length,
        updated: expect.any(String),
        variants: i === 0 ? 1 : 0,
      })),
      scanned: 5,
      next: null,
    });
    expect(Math.abs(Date.parse(listing.originals[0]!.updated) - Date.now())).toBeLessThan(
      10 * 60_000,
    );
    // Paged, one at a time: each page resumes after the last key it looked at.
    const paged: string[] = [];
    let after = '';
    for (let page = 0; page < 10; page++) {
      const answer = await originals(`?limit=1&after=${encodeURIComponent(after)}`);
      paged.push(...answer.originals.map((o) => o.key));
      if (answer.next === null) break;
      after = answer.next;
    }
    expect(paged).toEqual(lost.map(originalKey));

    // Nothing of it is deleted, however old: the sweeper's passes and the listing leave it.
    const sweeper = createOrphanSweeper({
      store: t.store,
      repos: t.repos,
      logger: silentLogger,
      graceMs: GRACE_MS,
      intervalMs: GRACE_MS,
      now: () => Date.now() + 10 * GRACE_MS,
    });
    await sweeper.sweepOnce();
    for (const id of lost) expect(await t.store.stat(originalKey(id))).toBeDefined();
    expect(await t.store.stat(lostVariant)).toBeDefined();
    expect((await originals('')).originals.map((o) => o.key)).toEqual(lost.map(originalKey));
  });
});

/**
 * The real folder store, counting how many times a listing hands out each key under
 * `originals/` (a wrapper of the port, as the fault wrapper is; every call reaches the store).
 */
function countingOriginalReads(inner: ObjectStore) {
  const reads = new Map<string, number>();
  async function* counted<T extends ObjectInfo | ListEntry>(entries: AsyncIterable<T>) {
    for await (const entry of entries) {
      if ('key' in entry && entry.key.startsWith('originals/')) {
        reads.set(entry.key, (reads.get(entry.key) ?? 0) + 1);
      }
      yield entry;
    }
  }
  const store: ObjectStore = { ...inner, list: listThrough(inner, counted) };
  return { store, reads };
}

describe('the reconcile walking a large bucket', () => {
  it('lists each stored original once over a walk of 250 in pages of 100', async () => {
    const root = mkdtempSync(join(tmpdir(), 'reconcile-walk-'));
    onTestFinished(() => rmSync(root, { recursive: true, force: true }));
    const counting = countingOriginalReads(createFsObjectStore({ root }));
    const t = await makeApp({ store: counting.store });
    onTestFinished(() => t.cleanup());
    const ids = Array.from({ length: 250 }, () => newImageId()).sort();
    for (const id of ids) {
      await counting.store.put(originalKey(id), Buffer.from(id), { contentType: 'image/png' });
    }
    const pages: ReconcileOriginalsAnswer[] = [];
    let after = '';
    do {
      const query = new URLSearchParams({ after, limit: '100' });
      const response = await t.app.request(`/api/admin/reconcile/originals?${query}`, {
        headers: admin(),
      });
      const page = await expectAnswer(ReconcileOriginalsAnswer, response, 200);
      pages.push(page);
      after = page.next ?? '';
    } while (after !== '' && pages.length < 10);
    expect(pages.map((p) => [p.originals.length, p.scanned])).toEqual([
      [100, 100],
      [100, 100],
      [50, 50],
    ]);
    expect(pages.flatMap((p) => p.originals.map((o) => o.key))).toEqual(ids.map(originalKey));
    // Each page continues from the last key of the one before: 250 objects read, not ~550.
    const reads = [...counting.reads.values()];
    expect({ keys: reads.length, reads: reads.reduce((a, b) => a + b, 0) }).toEqual({
      keys: 250,
      reads: 250,
    });
  });
});
