import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '@slideshow/runtime';
import { createFsObjectStore } from '@slideshow/storage/fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createOrphanSweeper } from '../src/orphan-sweeper.ts';

describe('orphan sweeper', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'sweeper-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  async function seed() {
    const store = createFsObjectStore({ root });
    const put = (key: string) => store.put(key, Buffer.from(key), { contentType: 'image/jpeg' });
    await put('originals/img_kept');
    await put('originals/img_orphan');
    await put('variants/img_kept/web-v1/g0/w320.avif');
    await put('variants/img_gone/web-v1/g0/w320.avif');
    await put('variants/img_gone/web-v1/g1/w640.webp');
    await put('ingest/photo.jpg');
    return store;
  }

  const keys = async (store: ReturnType<typeof createFsObjectStore>) => {
    const out: string[] = [];
    for await (const o of store.list('')) out.push(o.key);
    return out.sort();
  };

  it('deletes originals and variant folders that belong to no image once past the grace period', async () => {
    const store = await seed();
    const sweeper = createOrphanSweeper({
      store,
      imageExists: (id) => id === 'img_kept',
      logger: silentLogger,
      graceMs: 60_000,
      intervalMs: 60_000,
      now: () => Date.now() + 120_000,
    });
    expect((await sweeper.sweepOnce()).sort()).toEqual([
      'originals/img_orphan',
      'variants/img_gone/',
    ]);
    expect(await keys(store)).toEqual([
      'ingest/photo.jpg',
      'originals/img_kept',
      'variants/img_kept/web-v1/g0/w320.avif',
    ]);
  });

  it('leaves a young object alone, so an upload between its write and its row is safe', async () => {
    const store = await seed();
    const sweeper = createOrphanSweeper({
      store,
      imageExists: (id) => id === 'img_kept',
      logger: silentLogger,
      graceMs: 60_000,
      intervalMs: 60_000,
    });
    expect(await sweeper.sweepOnce()).toEqual([]);
    expect(await keys(store)).toHaveLength(6);
  });
});
