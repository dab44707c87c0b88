/**
 * A put racing a delete of the same folder (the processor writing variants
 * while an admin deletes the image). Either order is a valid outcome — the
 * object written, or written and then deleted — but the put itself has
 * succeeded once its bytes were renamed into place, as a GCS insert has once
 * it answered: it must not fail because a later delete removed the file or
 * its now-empty folder.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFsObjectStore } from './fs.ts';

let scratch: string;

beforeAll(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), 'storage-fs-race-'));
});

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describe('filesystem store: a put racing a delete of its folder', () => {
  it('answers every put with what it wrote, whichever of the two lands last', async () => {
    const store = createFsObjectStore({ root: scratch });
    const body = Buffer.alloc(2048, 7);
    const failures: string[] = [];
    // Bounded: each round puts a few keys into one folder while the folder is deleted.
    for (let round = 0; round < 60; round++) {
      const folder = `variants/img${round}/`;
      await store.put(`${folder}first`, body, { contentType: 'image/avif' });
      const puts = ['a', 'b', 'c', 'd'].map((name) =>
        store.put(`${folder}${name}`, body, {
          contentType: 'image/webp',
          cacheControl: 'public, max-age=60',
        }),
      );
      const deletes = [store.deletePrefix(folder), store.deletePrefix(folder)];
      const settled = await Promise.allSettled([...puts, ...deletes]);
      for (const [i, outcome] of settled.entries()) {
        if (outcome.status === 'rejected') {
          failures.push(`round ${round}, call ${i}: ${(outcome.reason as Error).message}`);
        } else if (i < puts.length) {
          expect(outcome.value).toMatchObject({
            key: `${folder}${'abcd'[i]}`,
            bytes: body.length,
            contentType: 'image/webp',
            cacheControl: 'public, max-age=60',
          });
        }
      }
    }
    expect(failures).toEqual([]);
  });
});
