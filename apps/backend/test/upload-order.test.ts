/**
 * One request's files are handled in order: when two carry the same bytes,
 * the first is the new image and the second its duplicate, whichever store
 * write finishes first. Through `app.request()` on a real SQLite file and a
 * real fs store whose first `put` is held, once written, until the second
 * has finished (a gate in an adapter of the port, not a mock).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import {
  listThrough,
  type ObjectInfo,
  type ObjectStore,
  type PutOptions,
} from '@slideshow/storage';
import { createFsObjectStore } from '@slideshow/storage/fs';
import { afterEach, describe, expect, it } from 'vitest';
import { admin, expectJson, makeApp, makePng, multipart, type TestApp } from './helpers.ts';

type Images = {
  images: { id?: string; originalName: string; duplicate?: boolean; error?: unknown }[];
};

/**
 * Wraps `inner` so that the first `put` completes only after the second one
 * has (bounded: it fails after `limitMs` rather than hang the suite).
 */
function storeFinishingSecondPutFirst(inner: ObjectStore, limitMs = 10_000): ObjectStore {
  let puts = 0;
  let secondDone = () => {};
  const second = new Promise<void>((resolve) => {
    secondDone = resolve;
  });
  return {
    async put(key: string, body: Readable | Buffer, options: PutOptions): Promise<ObjectInfo> {
      const n = ++puts;
      if (n === 2) {
        try {
          return await inner.put(key, body, options);
        } finally {
          secondDone();
        }
      }
      const info = await inner.put(key, body, options);
      if (n === 1) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          second,
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error('the second put never finished')), limitMs);
          }),
        ]).finally(() => clearTimeout(timer));
      }
      return info;
    },
    get: (key, options) => inner.get(key, options),
    stat: (key) => inner.stat(key),
    list: listThrough(inner),
    delete: (key) => inner.delete(key),
    deletePrefix: (prefix) => inner.deletePrefix(prefix),
  };
}

describe('the files of one upload', () => {
  let t: TestApp | undefined;
  let root: string | undefined;
  afterEach(() => {
    t?.cleanup();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  /** Uploads `files` in one request to an app whose store finishes the second put first. */
  async function uploadGated(files: { name: string; bytes: Buffer }[]) {
    root = mkdtempSync(join(tmpdir(), 'backend-order-'));
    const store = storeFinishingSecondPutFirst(createFsObjectStore({ root }));
    t = await makeApp({ store });
    const response = await t.app.request('/api/admin/upload', {
      method: 'POST',
      headers: admin(),
      body: multipart(files),
    });
    const { images } = await expectJson<Images>(response, 202);
    return { app: t, store, images };
  }

  it('reports the second of two identical files as the duplicate even when its write finishes first', async () => {
    const bytes = makePng(16, 16, 5);
    const { app, store, images } = await uploadGated([
      { name: 'first.png', bytes },
      { name: 'second.png', bytes },
    ]);
    expect(images).toEqual([
      expect.objectContaining({ originalName: 'first.png', duplicate: false }),
      expect.objectContaining({ originalName: 'second.png', duplicate: true, id: images[0]!.id }),
    ]);
    expect(app.db.prepare('SELECT id, original_name FROM images').all()).toEqual([
      { id: images[0]!.id, original_name: 'first.png' },
    ]);
    const keys: string[] = [];
    for await (const info of store.list('originals/')) keys.push(info.key);
    expect(keys).toEqual([`originals/${images[0]!.id}`]);
  });

  it('keeps the order across a refused file in between', async () => {
    const bytes = makePng(16, 16, 6);
    const { images } = await uploadGated([
      { name: 'first.png', bytes },
      { name: 'notes.txt', bytes: Buffer.from('not an image at all') },
      { name: 'third.png', bytes },
    ]);
    expect(images).toEqual([
      expect.objectContaining({ originalName: 'first.png', duplicate: false }),
      expect.objectContaining({ originalName: 'notes.txt', error: expect.anything() }),
      expect.objectContaining({ originalName: 'third.png', duplicate: true, id: images[0]!.id }),
    ]);
  });
});
