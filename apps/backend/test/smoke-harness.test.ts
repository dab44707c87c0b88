import { DEFAULT_PRESET } from '@slideshow/imaging/header';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBackend, type TestBackend } from '../src/testing/test-backend.ts';
import { makePng } from './helpers.ts';

describe('the test harness', () => {
  let backend: TestBackend;
  beforeAll(async () => {
    backend = await startTestBackend();
  });
  afterAll(async () => {
    await backend.stop();
  });

  it('serves a real backend that accepts an upload and hands out its job spec', async () => {
    const { id, duplicate } = await backend.upload(makePng(16, 16, 1), 'a.png');
    expect(duplicate).toBe(false);
    await backend.relay?.drain();
    const image = await backend.image(id);
    expect(image.status).toBe('queued');
    const spec = await fetch(`${backend.url}/api/processing/${id}`, {
      headers: { Authorization: `Bearer ${backend.callbackSecret}` },
    });
    expect(spec.status).toBe(200);
    expect(await spec.json()).toMatchObject({
      imageId: id,
      generation: 0,
      sourceKey: `originals/${id}`,
      variantPrefix: `variants/${id}/${DEFAULT_PRESET}/g0/`,
    });
    expect(await backend.store.stat(`originals/${id}`)).toMatchObject({ contentType: 'image/png' });
  });
});
