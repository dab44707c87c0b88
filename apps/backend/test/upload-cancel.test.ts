/**
 * Cancelling an upload (`X-Upload-Id` + `DELETE /api/admin/uploads/:id`)
 * through `app.request()` on a real SQLite file and fs store: whenever the
 * cancel arrives — before the request, while its body is still arriving,
 * after the answer — nothing the upload created is left, in storage or in the
 * database; an image it found as a duplicate of an earlier upload stays.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { admin, expectJson, makeApp, makePng, multipart, type TestApp } from './helpers.ts';
import { filePartHead, MULTIPART_TYPE, multipartBody } from './multipart-bodies.ts';

describe('cancelling uploads', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await makeApp();
  });
  afterEach(() => t.cleanup());

  let seq = 0;
  const newUploadId = () => `upload-${process.pid}-${++seq}-abcdefgh`;
  const keys = async () => {
    const out: string[] = [];
    for await (const info of t.store.list('')) out.push(info.key);
    return out;
  };
  const imageCount = () =>
    (t.db.prepare('SELECT count(*) AS n FROM images').get() as { n: number }).n;
  const cancel = (uploadId: string) =>
    t.app.request(`/api/admin/uploads/${uploadId}`, { method: 'DELETE', headers: admin() });
  const send = (uploadId: string, body: FormData | ReadableStream<Uint8Array>, type?: string) =>
    t.app.request('/api/admin/upload', {
      method: 'POST',
      headers: admin({ 'X-Upload-Id': uploadId, ...(type ? { 'Content-Type': type } : {}) }),
      body,
      // A streamed request body needs half duplex (fetch spec).
      ...(body instanceof ReadableStream ? { duplex: 'half' } : {}),
    } as RequestInit);

  it('removes what an upload created when the cancel comes after its answer', async () => {
    const id = newUploadId();
    const { images } = await expectJson<{ images: { id: string }[] }>(
      await send(id, multipart([{ name: 'a.png', bytes: makePng(8, 8, 1) }])),
      202,
    );
    expect(await keys()).toEqual([`originals/${images[0]!.id}`]);
    const body = await expectJson<{ removed: string[] }>(await cancel(id), 200);
    expect(body.removed).toEqual([images[0]!.id]);
    expect(await keys()).toEqual([]);
    expect(imageCount()).toBe(0);
    expect(t.repos.outbox.stats().pending).toBe(0);
  });

  it('refuses an upload whose cancel arrived first, before reading its body', async () => {
    const id = newUploadId();
    expect((await expectJson<{ removed: string[] }>(await cancel(id), 200)).removed).toEqual([]);
    const response = await send(id, multipart([{ name: 'a.png', bytes: makePng(8, 8, 1) }]));
    expect(response.status).toBe(409);
    expect(await keys()).toEqual([]);
    expect(imageCount()).toBe(0);
  });

  it('waits for an upload in progress, then undoes it, whether its body completes or is cut', async () => {
    for (const ending of ['completes', 'is cut'] as const) {
      const id = newUploadId();
      const png = makePng(64, 64, ending === 'completes' ? 1 : 2);
      const full = multipartBody([{ head: filePartHead('slow.png', 'image/png'), bytes: png }]);
      let controller!: ReadableStreamDefaultController<Uint8Array>;
      const stream = new ReadableStream<Uint8Array>({
        start(c) {
          controller = c;
        },
      });
      controller.enqueue(new Uint8Array(full.subarray(0, 200)));
      const uploading = send(id, stream, MULTIPART_TYPE);
      // The request is registered before its body is read; the cancel now waits for it.
      const cancelling = cancel(id);
      if (ending === 'completes') {
        controller.enqueue(new Uint8Array(full.subarray(200)));
        controller.close();
      } else {
        controller.error(new Error('the browser aborted the request'));
      }
      const answer = await uploading;
      expect(answer.status, ending).toBeGreaterThanOrEqual(400);
      const cancelled = await expectJson<{ removed: string[] }>(await cancelling, 200);
      expect(cancelled.removed.length, ending).toBe(ending === 'completes' ? 1 : 0);
      expect(await keys(), ending).toEqual([]);
      expect(imageCount(), ending).toBe(0);
    }
  });

  it('keeps an earlier image that a cancelled upload only found as a duplicate', async () => {
    const png = makePng(8, 8, 7);
    const first = await expectJson<{ images: { id: string }[] }>(
      await t.app.request('/api/admin/upload', {
        method: 'POST',
        headers: admin(),
        body: multipart([{ name: 'a.png', bytes: png }]),
      }),
      202,
    );
    const id = newUploadId();
    const again = await expectJson<{ images: { id: string; duplicate: boolean }[] }>(
      await send(id, multipart([{ name: 'again.png', bytes: png }])),
      202,
    );
    expect(again.images[0]).toMatchObject({ id: first.images[0]!.id, duplicate: true });
    expect((await expectJson<{ removed: string[] }>(await cancel(id), 200)).removed).toEqual([]);
    expect(imageCount()).toBe(1);
  });

  it('refuses a malformed upload id and the reuse of one', async () => {
    const bad = await send('short', multipart([{ name: 'a.png', bytes: makePng(8, 8, 1) }]));
    expect(bad.status).toBe(400);
    expect((await cancel('../../etc')).status).toBe(404);
    expect((await cancel('x'.repeat(65))).status).toBe(400);
    const id = newUploadId();
    await expectJson(await send(id, multipart([{ name: 'a.png', bytes: makePng(8, 8, 1) }])), 202);
    const reused = await send(id, multipart([{ name: 'b.png', bytes: makePng(8, 8, 2) }]));
    expect(reused.status).toBe(409);
    expect(imageCount()).toBe(1);
  });
});

describe('cancelling uploads while the wall clock steps', () => {
  // The wall clock (`now`) and the monotonic one apart: NTP or a resumed VM steps only the first.
  const clocks = { wall: Date.parse('2026-01-01T00:00:00Z'), monotonic: 1_000 };
  let t: TestApp;
  beforeEach(async () => {
    t = await makeApp({ now: () => clocks.wall, monotonicNow: () => clocks.monotonic });
  });
  afterEach(() => t.cleanup());

  const send = (uploadId: string, seed: number) =>
    t.app.request('/api/admin/upload', {
      method: 'POST',
      headers: admin({ 'X-Upload-Id': uploadId }),
      body: multipart([{ name: `${seed}.png`, bytes: makePng(8, 8, seed) }]),
    });

  it('still refuses an upload cancelled a second ago after the wall clock jumped an hour ahead (before: forgotten, then accepted)', async () => {
    const cancelled = `upload-${process.pid}-stepped-abcdefgh`;
    await expectJson(
      await t.app.request(`/api/admin/uploads/${cancelled}`, {
        method: 'DELETE',
        headers: admin(),
      }),
      200,
    );
    clocks.wall += 3_600_000;
    clocks.monotonic += 1_000;
    // Another upload makes the tracker forget what is older than its 15 min.
    await expectJson(await send(`upload-${process.pid}-other-abcdefgh`, 1), 202);
    expect((await send(cancelled, 2)).status).toBe(409);
  });
});
