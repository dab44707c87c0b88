/**
 * scripts/reconcile against the real backend over loopback HTTP
 * (docs/operations.md, "After a restore"): the store holds what a restored
 * database does not know, and lacks what it still lists.
 */
import { randomBytes } from 'node:crypto';
import { startTestBackend, type TestBackend } from '@slideshow/backend/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { optionsFor } from '../src/reconcile/main.ts';
import { runScript } from './helpers/gcloud-double.ts';

/** A PNG signature and header declaring 4 × 3 pixels, then random bytes: distinct, and read by its header only. */
function pngLike(): Buffer {
  const ihdr = Buffer.from('0000000d494844520000000400000003080200000000000000', 'hex');
  return Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), ihdr, randomBytes(64)]);
}

describe('scripts/reconcile against the real backend', () => {
  let backend: TestBackend;
  const ids: string[] = [];
  let variantKeys: string[][] = [];
  const lost = 'img_aaaaaaaaaaaaaaaaaaaaaaaaaa';

  beforeAll(async () => {
    backend = await startTestBackend();
    for (const name of ['kept.png', 'emptied.png']) {
      const { id } = await backend.upload(pngLike(), name);
      ids.push(id);
    }
    variantKeys = [];
    for (const id of ids) {
      const detail = await backend.image(id);
      const prefix = `variants/${id}/${String(detail.preset)}/g0/`;
      const suffixes = ['w320.webp', 'w320.jpg'];
      const response = await fetch(`${backend.url}/api/processing/${id}/complete`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${backend.callbackSecret}`,
          'content-type': 'application/json',
        },
        body: JSON.stringify({
          generation: 0,
          result: {
            preset: detail.preset,
            width: 4,
            height: 3,
            format: 'png',
            hasAlpha: false,
            frames: 1,
            placeholder: null,
            dominantColor: '#808080',
            variants: suffixes.map((suffix) => ({
              suffix,
              format: suffix.endsWith('.webp') ? 'webp' : 'jpeg',
              width: 4,
              height: 3,
              bytes: 10,
            })),
          },
        }),
      });
      expect(response.status, await response.text()).toBe(200);
      const keys = suffixes.map((s) => `${prefix}${s}`);
      for (const key of keys)
        await backend.store.put(key, Buffer.from(key), { contentType: 'image/webp' });
      variantKeys.push(keys);
    }
    // The restore: the second image's variants are gone; an upload the database lost is stored.
    for (const key of variantKeys[1] ?? []) await backend.store.delete(key);
    await backend.store.put(`originals/${lost}`, Buffer.from('lost upload'), {
      contentType: 'image/png',
    });
  });
  afterAll(async () => {
    await backend?.stop();
  });

  it('reports in a dry run, then fails the image whose variants are gone and lists the lost upload', async () => {
    const env = { BACKEND_URL: backend.url, ADMIN_TOKEN: backend.adminToken };
    const dry = await runScript('reconcile', ['--dry-run', '--batch', '1'], env);
    expect(dry.status, dry.stderr).toBe(0);
    const dryRun = JSON.parse(dry.stdout) as Record<string, unknown>;
    expect(dryRun).toMatchObject({
      dryRun: true,
      checked: 2,
      variantsMissing: [
        { imageId: ids[1], originalName: 'emptied.png', missing: 2, variants: 2, failed: false },
      ],
      originalMissing: [],
      failed: 0,
      rowlessOriginals: [{ key: `originals/${lost}`, imageId: lost, bytes: 11, variants: 0 }],
    });
    expect(dry.stderr).toContain('variants: 2 processed images checked, 1 incomplete');
    expect((await backend.image(ids[1] ?? '')).status).toBe('processed');

    const run = await runScript('reconcile', [], env);
    expect(run.status, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ dryRun: false, checked: 2, failed: 1 });
    expect(await backend.image(ids[1] ?? '')).toMatchObject({
      status: 'failed',
      lastErrorCode: 'VARIANTS_MISSING',
    });
    expect((await backend.image(ids[0] ?? '')).status).toBe('processed');
    // The lost upload is listed, never deleted.
    expect(await backend.store.stat(`originals/${lost}`)).toBeDefined();
  });

  it('refuses a bad batch size, or a missing token, before any request (exit 2)', async () => {
    expect(optionsFor(['--batch', '50'])).toEqual({ dryRun: false, batch: 50 });
    expect(() => optionsFor(['--batch', '0'])).toThrow(/--batch is an integer from 1 to 500/);
    expect(() => optionsFor(['--batch', '501'])).toThrow(/--batch/);
    const result = await runScript('reconcile', ['--batch', 'x'], {
      BACKEND_URL: backend.url,
      ADMIN_TOKEN: '',
    });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('ADMIN_TOKEN');
  });
});
