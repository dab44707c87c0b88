/**
 * The orphan sweeper deletes only what it can prove the pipeline wrote
 * (src/orphan-sweeper.ts): an upload's original left uncommitted by a crash,
 * and variants in the processor's layout whose image is gone — never an
 * object the admin put in the bucket, even one ingested from a key that looks
 * exactly like a generated one, before or after its image is deleted.
 */
import { silentLogger } from '@slideshow/runtime';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { newImageId } from '../src/ids.ts';
import { originalKey } from '../src/keys.ts';
import { createOrphanSweeper } from '../src/orphan-sweeper.ts';
import {
  admin,
  expectJson,
  makeApp,
  makePng,
  memoryLogger,
  multipart,
  type TestApp,
} from './helpers.ts';

const GRACE_MS = 60_000;
type Ingested = { images: { id?: string; originalName: string; error?: { code: string } }[] };

describe('orphan sweeper', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await makeApp();
    // Object times are real file times: run the app's clock on real time.
    t.clock.now = Date.now();
  });
  afterEach(() => t.cleanup());

  const sweeper = (nowOffsetMs: number) =>
    createOrphanSweeper({
      store: t.store,
      repos: t.repos,
      logger: silentLogger,
      graceMs: GRACE_MS,
      intervalMs: 60_000,
      now: () => Date.now() + nowOffsetMs,
    });
  const put = (key: string, bytes: Buffer = Buffer.from(key)) =>
    t.store.put(key, bytes, { contentType: 'image/png' });
  const keys = async () => {
    const out: string[] = [];
    for await (const o of t.store.list('')) out.push(o.key);
    return out.sort();
  };
  const ingest = async (keyList: string[]) =>
    expectJson<Ingested>(
      await t.app.request('/api/admin/ingest', {
        method: 'POST',
        headers: admin({ 'Content-Type': 'application/json' }),
        body: JSON.stringify({ keys: keyList }),
      }),
      202,
    );

  it('keeps ingested sources, including keys that collide with the generated layout, before and after their image is deleted', async () => {
    const colliding = originalKey(newImageId());
    const sources = ['originals/holiday-2024.png', colliding, 'originals/img_trip/beach.png'];
    for (const [i, key] of sources.entries()) await put(key, makePng(8, 8, 100 + i));
    // Never ingested, named like a generated original: still the admin's file.
    const bystander = originalKey(newImageId());
    await put(bystander, makePng(8, 8, 200));
    const { images } = await ingest(sources);
    expect(images.map((i) => i.error?.code ?? 'accepted')).toEqual(sources.map(() => 'accepted'));
    const everything = await keys();

    expect(await sweeper(10 * GRACE_MS).sweepOnce()).toEqual([]);
    expect(await keys()).toEqual(everything);

    // Deleting the images removes the rows, not the admin's files.
    for (const image of images) {
      const deleted = await expectJson<{ sourceDeleted: boolean }>(
        await t.app.request(`/api/admin/images/${image.id}`, {
          method: 'DELETE',
          headers: admin(),
        }),
        200,
      );
      expect(deleted.sourceDeleted).toBe(false);
    }
    expect(await sweeper(10 * GRACE_MS).sweepOnce()).toEqual([]);
    expect(await keys()).toEqual([...sources, bystander].sort());
  });

  it('deletes an upload original left uncommitted by a crash once past the grace period, and nothing younger', async () => {
    // What a kill -9 between the store write and the row's commit leaves: a pending key and its object.
    const key = originalKey(newImageId());
    t.lifecycle.reserveOriginal(key);
    await put(key, makePng(8, 8, 1));
    const uploaded = await expectJson<Ingested>(
      await t.app.request('/api/admin/upload', {
        method: 'POST',
        headers: admin(),
        body: multipart([{ name: 'kept.png', bytes: makePng(8, 8, 2) }]),
      }),
      202,
    );
    const kept = originalKey(uploaded.images[0]!.id!);

    expect(await sweeper(0).sweepOnce()).toEqual([]);
    expect(await sweeper(GRACE_MS + 5_000).sweepOnce()).toEqual([key]);
    expect(await keys()).toEqual([kept]);
    expect(t.repos.pendingOriginals.olderThan(Number.MAX_SAFE_INTEGER, 10)).toEqual([]);
  });

  it('deletes variants in the processor layout whose image is gone, and nothing else under variants/', async () => {
    const uploaded = await expectJson<Ingested>(
      await t.app.request('/api/admin/upload', {
        method: 'POST',
        headers: admin(),
        body: multipart([{ name: 'a.png', bytes: makePng(8, 8, 3) }]),
      }),
      202,
    );
    const live = uploaded.images[0]!.id!;
    const gone = newImageId();
    const liveVariant = `variants/${live}/web-v1/g0/w320.avif`;
    const orphans = [
      `variants/${gone}/web-v1/g0/w320.avif`,
      `variants/${gone}/web-v1/g1/w640.webp`,
    ];
    const notOurs = [
      `variants/${gone}/notes.txt`,
      'variants/holiday/web-v1/g0/w320.avif',
      'variants/img_short/web-v1/g0/w320.avif',
      `variants/${gone}/web-v1/g0/sub/w320.avif`,
    ];
    for (const key of [liveVariant, ...orphans, ...notOurs]) await put(key);

    expect(await sweeper(0).sweepOnce()).toEqual([]);
    expect((await sweeper(GRACE_MS + 5_000).sweepOnce()).sort()).toEqual(orphans.sort());
    expect(await keys()).toEqual([originalKey(live), liveVariant, ...notOurs].sort());
  });

  it('the sweeper keeps the variants of a row-less id whose original exists', async () => {
    // An upload a restored database lost (docs/operations.md, "After a restore"): its original in
    // the generated layout and its variants, no row. Beside it, an id whose original is gone.
    const lost = newImageId();
    const deleted = newImageId();
    const lostKeys = [
      originalKey(lost),
      `variants/${lost}/web-v1/g0/w320.avif`,
      `variants/${lost}/web-v1/g0/w640.webp`,
    ];
    for (const key of lostKeys) await put(key);
    const orphan = `variants/${deleted}/web-v1/g0/w320.avif`;
    await put(orphan);
    const log = memoryLogger('WARNING');
    const logged = createOrphanSweeper({
      store: t.store,
      repos: t.repos,
      logger: log.logger,
      graceMs: GRACE_MS,
      intervalMs: 60_000,
      now: () => Date.now() + 10 * GRACE_MS,
    });

    expect(await logged.sweepOnce()).toEqual([orphan]);
    expect(await keys()).toEqual(lostKeys.sort());
    expect(log.lines).toContainEqual(
      expect.objectContaining({
        severity: 'WARNING',
        message: expect.stringMatching(/^kept the variants of images without a row/),
        count: 1,
        imageIds: [lost],
      }),
    );
    // Every pass keeps them, and says so, until the operator acts.
    expect(await logged.sweepOnce()).toEqual([]);
    expect(await keys()).toEqual(lostKeys.sort());
  });

  it('deletes the upload original and the generated variants of a deleted uploaded image, not foreign files beside them', async () => {
    const uploaded = await expectJson<Ingested>(
      await t.app.request('/api/admin/upload', {
        method: 'POST',
        headers: admin(),
        body: multipart([{ name: 'b.png', bytes: makePng(8, 8, 4) }]),
      }),
      202,
    );
    const id = uploaded.images[0]!.id!;
    await put(`variants/${id}/web-v1/g0/w320.avif`);
    await put(`variants/${id}/README.txt`);
    const deleted = await expectJson<{ sourceDeleted: boolean; variantsRemoved: number }>(
      await t.app.request(`/api/admin/images/${id}`, { method: 'DELETE', headers: admin() }),
      200,
    );
    expect(deleted).toMatchObject({ sourceDeleted: true, variantsRemoved: 1 });
    expect(await keys()).toEqual([`variants/${id}/README.txt`]);
  });

  it('applies the same rules to a bulk delete (library/delete-image.ts): ingested sources and foreign files stay', async () => {
    const source = 'originals/holiday-2024.png';
    await put(source, makePng(8, 8, 5));
    const ingested = (await ingest([source])).images[0]!.id!;
    const uploaded = (
      await expectJson<Ingested>(
        await t.app.request('/api/admin/upload', {
          method: 'POST',
          headers: admin(),
          body: multipart([{ name: 'c.png', bytes: makePng(8, 8, 6) }]),
        }),
        202,
      )
    ).images[0]!.id!;
    for (const id of [ingested, uploaded]) {
      await put(`variants/${id}/web-v1/g0/w320.avif`);
      await put(`variants/${id}/README.txt`);
    }
    const bulk = await expectJson<{ results: { id: string; ok: boolean }[] }>(
      await t.app.request('/api/admin/images/bulk', {
        method: 'POST',
        headers: admin({ 'Content-Type': 'application/json' }),
        body: JSON.stringify({ action: 'delete', ids: [ingested, uploaded] }),
      }),
      200,
    );
    expect(bulk.results).toEqual([
      { id: ingested, ok: true },
      { id: uploaded, ok: true },
    ]);
    expect(t.repos.images.get(ingested)).toBeUndefined();
    expect(t.repos.images.get(uploaded)).toBeUndefined();
    expect(await keys()).toEqual(
      [source, `variants/${ingested}/README.txt`, `variants/${uploaded}/README.txt`].sort(),
    );
  });
});
