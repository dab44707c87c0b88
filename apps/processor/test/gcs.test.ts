/**
 * The bundled processor on Google Cloud Storage: the real @google-cloud/storage
 * client (inside the bundle) against a GCS JSON API server on loopback (the
 * firebase-tools emulator from @slideshow/storage/testing), with the real
 * backend for callbacks.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startTestBackend, type TestBackend } from '@slideshow/backend/testing';
import { DEFAULT_PRESET } from '@slideshow/imaging';
import type { ObjectInfo } from '@slideshow/storage';
import { createGcsObjectStore } from '@slideshow/storage/gcs';
import { type GcsEmulator, startGcsEmulator } from '@slideshow/storage/testing/gcs-emulator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VARIANT_CACHE_CONTROL } from '../src/run.ts';
import { makeJpeg, processorEnv, spawnProcessor } from './helpers.ts';

const BUCKET = 'processor-test';
let backend: TestBackend;
let emulator: GcsEmulator;

beforeAll(async () => {
  [backend, emulator] = await Promise.all([startTestBackend(), startGcsEmulator()]);
});

afterAll(async () => {
  await Promise.all([backend?.stop(), emulator?.stop()]);
});

/** Runs the bundled processor for `id` with the bucket as its store; resolves when it exits. */
function processOnBucket(id: string) {
  return spawnProcessor({
    ...processorEnv(backend, id, { GCS_BUCKET_NAME: BUCKET, GCS_API_ENDPOINT: emulator.endpoint }),
    STORAGE_URL: '',
    GOOGLE_CLOUD_PROJECT: emulator.projectId,
  }).done;
}

describe('the bundled processor with GCS_BUCKET_NAME', () => {
  it('reads the original from the bucket and writes every variant back to it', async () => {
    const { id } = await backend.upload(await makeJpeg(480, 320, 71), 'gcs.jpg');
    const gcs = createGcsObjectStore({
      bucket: BUCKET,
      apiEndpoint: emulator.endpoint,
      projectId: emulator.projectId,
    });
    // The backend under test stores originals in a folder; mirror this one into the bucket.
    const key = `originals/${id}`;
    await gcs.put(key, await readFile(join(backend.storeRoot, key)), { contentType: 'image/jpeg' });

    const result = await processOnBucket(id);
    expect(result.code, result.stderr).toBe(0);
    expect((await backend.image(id)).status).toBe('processed');

    const written: ObjectInfo[] = [];
    for await (const info of gcs.list(`variants/${id}/`)) written.push(info);
    const row = backend.db.prepare('SELECT variants FROM images WHERE id = ?').get(id) as {
      variants: string;
    };
    const recorded = (JSON.parse(row.variants) as { suffix: string; width: number }[]).map(
      (v) => `variants/${id}/${DEFAULT_PRESET}/g0/${v.suffix}`,
    );
    expect(recorded).toHaveLength(6);
    expect(written.map((o) => o.key).sort()).toEqual(recorded.sort());
    for (const info of written) {
      expect(info.cacheControl).toBe(VARIANT_CACHE_CONTROL);
      expect(info.contentType).toMatch(/^image\/(avif|webp|jpeg)$/);
    }
  });

  it('reports an original missing from the bucket as a failure (NOT_FOUND), not as a deleted image', async () => {
    // The backend has the image; the bucket has no original for it (deleted by hand, or a
    // database restored to before its delete). Cloud Storage answers 404, as the backend
    // does for a deleted image: the processor must tell the two apart.
    const { id } = await backend.upload(await makeJpeg(480, 320, 72), 'missing.jpg');
    const result = await processOnBucket(id);
    expect(result.code, result.stderr).toBe(0);
    expect((await backend.image(id)).status).toBe('failed');
    const row = backend.db
      .prepare('SELECT error_code, source FROM failed_tasks WHERE image_id = ?')
      .get(id);
    expect(row).toEqual({ error_code: 'NOT_FOUND', source: 'processor' });
  });
});
