import {
  BulkRetryAnswer,
  CallbackAnswer,
  ErrorAnswer,
  FailedTasksAnswer,
  HealthAnswer,
  ImageDeleteAnswer,
  ImageDetailAnswer,
  ImageRetryAnswer,
  IngestAnswer,
  JobSpec,
  LibraryPageAnswer,
  LoginAnswer,
  LogoutAnswer,
  SessionAnswer,
  SlideshowAnswer,
  StatusAnswer,
  type UploadOutcome,
} from '@slideshow/contracts';
import { batchTaskNameFor, taskNameFor } from '@slideshow/dispatch';
import { DEFAULT_PRESET } from '@slideshow/imaging/header';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RELAY_DEFAULTS } from '../src/outbox-relay.ts';
import {
  admin,
  callback,
  expectAnswer,
  expectJson,
  makeApp,
  makePng,
  multipart,
  PASSWORD,
  sampleResult,
  type TestApp,
  uploadFiles,
} from './helpers.ts';

/** An upload answer whose every file was accepted (these tests send only valid PNGs). */
type UploadBody = { images: Extract<UploadOutcome, { id: string }>[] };

describe('backend happy paths', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await makeApp();
  });
  afterEach(() => t.cleanup());

  const upload = async (files: { name: string; bytes: Buffer }[]): Promise<UploadBody> =>
    (await uploadFiles(t, files)) as UploadBody;

  it('stores an uploaded image, writes its row and outbox row, and answers 202', async () => {
    const png = makePng(40, 30, 1);
    const body = await upload([{ name: 'holiday.png', bytes: png }]);
    expect(body.images).toHaveLength(1);
    const image = body.images[0]!;
    expect(image).toMatchObject({
      status: 'uploaded',
      duplicate: false,
      originalName: 'holiday.png',
    });
    expect(image.id).toMatch(/^img_[a-z2-7]{26}$/);
    const stored = await t.store.stat(`originals/${image.id}`);
    expect(stored).toMatchObject({ bytes: png.length, contentType: 'image/png' });
    const row = t.repos.images.get(image.id)!;
    expect(row).toMatchObject({
      width: 40,
      height: 30,
      format: 'png',
      generation: 0,
      bytes: png.length,
    });
    expect(t.repos.outbox.stats().pending).toBe(1);
  });

  it('accepts several files in one request and reports each', async () => {
    const body = await upload([
      { name: 'a.png', bytes: makePng(8, 8, 1) },
      { name: 'b.png', bytes: makePng(8, 8, 2) },
      { name: 'c.png', bytes: makePng(8, 8, 3) },
    ]);
    expect(body.images.map((i) => i.originalName)).toEqual(['a.png', 'b.png', 'c.png']);
    expect(new Set(body.images.map((i) => i.id)).size).toBe(3);
  });

  it('relays the outbox to the dispatcher on the uploads queue and marks the image queued', async () => {
    const { images } = await upload([{ name: 'a.png', bytes: makePng(8, 8, 1) }]);
    const id = images[0]!.id;
    expect(await t.relay.drain()).toBe(1);
    expect(t.dispatcher.dispatched).toHaveLength(1);
    expect(t.dispatcher.dispatched[0]).toMatchObject({
      key: taskNameFor(id, 0),
      queue: 'uploads',
      argument: { file_id: id, generation: 0 },
    });
    expect(t.repos.images.get(id)?.status).toBe('queued');
    expect(t.repos.outbox.stats().pending).toBe(0);
  });

  it('walks an image from upload to processed through the callbacks and shows it in the slideshow', async () => {
    const { images } = await upload([{ name: 'a.png', bytes: makePng(8, 8, 1) }]);
    const id = images[0]!.id;
    await t.relay.drain();
    const spec = await expectAnswer(
      JobSpec,
      await t.app.request(`/api/processing/${id}`, { headers: callback() }),
      200,
    );
    expect(spec).toMatchObject({
      imageId: id,
      generation: 0,
      preset: DEFAULT_PRESET,
      status: 'queued',
      begun: false,
    });
    expect(
      await expectAnswer(
        CallbackAnswer,
        await t.app.request(`/api/processing/${id}/started`, {
          method: 'POST',
          headers: callback(),
          body: JSON.stringify({ generation: 0, execution: 'exec-1', attempt: 0 }),
        }),
        200,
      ),
    ).toEqual({ applied: true });
    expect(t.repos.images.get(id)?.status).toBe('processing');
    expect(
      await expectJson(await t.app.request(`/api/processing/${id}`, { headers: callback() }), 200),
    ).toMatchObject({ status: 'processing', begun: true });
    expect(
      await expectJson(
        await t.app.request(`/api/processing/${id}/complete`, {
          method: 'POST',
          headers: callback(),
          body: JSON.stringify({ generation: 0, result: sampleResult() }),
        }),
        200,
      ),
    ).toEqual({ applied: true });
    const detail = await expectAnswer(
      ImageDetailAnswer,
      await t.app.request(`/api/images/${id}`, { headers: admin() }),
      200,
    );
    expect(detail).toMatchObject({
      status: 'processed',
      placeholder: 'AAAAAA',
      dominantColor: '#336699',
      attempts: 1,
      execution: 'exec-1',
      failedTask: null,
    });
    expect(detail.variants[0]?.url).toBe(`/media/variants/${id}/${DEFAULT_PRESET}/g0/w320.avif`);

    const show = await expectAnswer(SlideshowAnswer, await t.app.request('/api/slideshow'), 200);
    expect(show.images).toHaveLength(1);
    expect(show.images[0]).toMatchObject({
      id,
      width: 640,
      height: 480,
      placeholder: 'AAAAAA',
      dominantColor: '#336699',
      src: `/media/variants/${id}/${DEFAULT_PRESET}/g0/w640.jpg`,
      sources: [
        {
          format: 'avif',
          type: 'image/avif',
          srcset: `/media/variants/${id}/${DEFAULT_PRESET}/g0/w320.avif 320w, /media/variants/${id}/${DEFAULT_PRESET}/g0/w640.avif 640w`,
        },
        { format: 'webp', type: 'image/webp' },
        { format: 'jpeg', type: 'image/jpeg' },
      ],
    });
  });

  it('records a failure in failed_tasks and retries it with a new generation', async () => {
    const { images } = await upload([{ name: 'a.png', bytes: makePng(8, 8, 1) }]);
    const id = images[0]!.id;
    await t.relay.drain();
    const fail = (message: string) =>
      t.app.request(`/api/processing/${id}/failed`, {
        method: 'POST',
        headers: callback(),
        body: JSON.stringify({ generation: 0, code: 'CORRUPT_IMAGE', message, execution: 'e1' }),
      });
    expect(await expectJson(await fail('bad data'), 200)).toEqual({ applied: true });
    expect(await expectJson(await fail('bad data again'), 200)).toEqual({ applied: true });
    expect(t.repos.failedTasks.get(id)).toMatchObject({
      error_code: 'CORRUPT_IMAGE',
      error_message: 'bad data again',
      attempt_count: 2,
      source: 'processor',
      resolved_at: null,
    });
    const list = await expectAnswer(
      FailedTasksAnswer,
      await t.app.request('/api/admin/failed-tasks?unresolved=true&code=CORRUPT_IMAGE', {
        headers: admin(),
      }),
      200,
    );
    expect(list.failedTasks).toEqual([
      expect.objectContaining({ imageId: id, errorCode: 'CORRUPT_IMAGE', attemptCount: 2 }),
    ]);

    const retried = await expectAnswer(
      ImageRetryAnswer,
      await t.app.request(`/api/admin/images/${id}/retry`, { method: 'POST', headers: admin() }),
      202,
    );
    expect(retried.image).toMatchObject({ status: 'queued', generation: 1 });
    expect(t.repos.failedTasks.get(id)?.resolved_at).not.toBeNull();
    await t.relay.drain();
    expect(t.dispatcher.dispatched.map((d) => d.argument)).toEqual([
      { file_id: id, generation: 0 },
      { file_id: id, generation: 1 },
    ]);
  });

  it('retries every unresolved failure matching a filter in one call', async () => {
    const { images } = await upload([
      { name: 'a.png', bytes: makePng(8, 8, 1) },
      { name: 'b.png', bytes: makePng(8, 8, 2) },
      { name: 'c.png', bytes: makePng(8, 8, 3) },
    ]);
    const codes = ['TIMEOUT', 'TIMEOUT', 'CORRUPT_IMAGE'];
    for (const [i, image] of images.entries()) {
      t.lifecycle.failed(image.id, {
        generation: 0,
        code: codes[i]!,
        message: 'x',
        source: 'workflow',
      });
    }
    const body = await expectAnswer(
      BulkRetryAnswer,
      await t.app.request('/api/admin/failed-tasks/retry', {
        method: 'POST',
        headers: admin({ 'Content-Type': 'application/json' }),
        body: JSON.stringify({ code: 'TIMEOUT' }),
      }),
      202,
    );
    expect(body.retried.sort()).toEqual([images[0]!.id, images[1]!.id].sort());
    expect(t.repos.images.get(images[2]!.id)?.status).toBe('failed');
  });

  it('lists images newest first with a status filter and a cursor', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      t.clock.now += 1000;
      const { images } = await upload([{ name: `${i}.png`, bytes: makePng(8, 8, i) }]);
      ids.push(images[0]!.id);
    }
    const page1 = await expectAnswer(
      LibraryPageAnswer,
      await t.app.request('/api/admin/images?limit=2&status=uploaded', { headers: admin() }),
      200,
    );
    expect(page1.images.map((i) => i.id)).toEqual([ids[4], ids[3]]);
    const page2 = await expectAnswer(
      LibraryPageAnswer,
      await t.app.request(`/api/admin/images?limit=2&cursor=${page1.nextCursor}`, {
        headers: admin(),
      }),
      200,
    );
    expect(page2.images.map((i) => i.id)).toEqual([ids[2], ids[1]]);
    const page3 = await expectAnswer(
      LibraryPageAnswer,
      await t.app.request(`/api/admin/images?limit=2&cursor=${page2.nextCursor}`, {
        headers: admin(),
      }),
      200,
    );
    expect(page3.images.map((i) => i.id)).toEqual([ids[0]]);
    expect(page3.nextCursor).toBeNull();
  });

  it('deletes an image with its original, its variants and its rows', async () => {
    const { images } = await upload([{ name: 'a.png', bytes: makePng(8, 8, 1) }]);
    const id = images[0]!.id;
    await t.store.put(`variants/${id}/web-v1/g0/w320.avif`, Buffer.from('x'), {
      contentType: 'image/avif',
    });
    const body = await expectAnswer(
      ImageDeleteAnswer,
      await t.app.request(`/api/admin/images/${id}`, { method: 'DELETE', headers: admin() }),
      200,
    );
    expect(body).toEqual({ deleted: true, id, variantsRemoved: 1, sourceDeleted: true });
    expect(await t.store.stat(`originals/${id}`)).toBeUndefined();
    expect(t.repos.images.get(id)).toBeUndefined();
    expect(t.repos.outbox.stats().pending).toBe(0);
  });

  it('ingests objects already in the bucket at batch priority on the ingest queue', async () => {
    await t.store.put('incoming/one.png', makePng(12, 10, 1), { contentType: 'image/png' });
    await t.store.put('incoming/two.png', makePng(12, 10, 2), { contentType: 'image/png' });
    const body = (await expectAnswer(
      IngestAnswer,
      await t.app.request('/api/admin/ingest', {
        method: 'POST',
        headers: admin({ 'Content-Type': 'application/json' }),
        body: JSON.stringify({ prefix: 'incoming/' }),
      }),
      202,
    )) as UploadBody & IngestAnswer;
    expect(body.truncated).toBe(false);
    expect(body.images.map((i) => i.originalName)).toEqual(['one.png', 'two.png']);
    // A partial batch waits for companions for the batch window, then goes as one execution.
    await t.relay.drain();
    expect(t.dispatcher.dispatched).toEqual([]);
    t.clock.now += RELAY_DEFAULTS.batchWindowMs;
    await t.relay.drain();
    const ids = body.images.map((i) => i.id);
    const key = batchTaskNameFor(ids.map((imageId) => ({ imageId, generation: 0 })));
    expect(t.dispatcher.dispatched).toMatchObject([
      { key, queue: 'ingest', argument: { file_ids: ids, generations: [0, 0] } },
    ]);
    for (const id of ids) {
      expect(t.repos.images.get(id)).toMatchObject({ status: 'queued', dispatch_key: key });
    }
    expect(t.repos.images.get(body.images[0]!.id)).toMatchObject({
      priority: 'batch',
      source_key: 'incoming/one.png',
      width: 12,
    });
  });

  it('logs in with the password as JSON or as a form and reports the session', async () => {
    const json = await t.app.request('/api/admin/login', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ password: PASSWORD }),
    });
    const body = await expectAnswer(LoginAnswer, json, 200);
    expect(body.ok).toBe(true);
    const cookie = json.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(/^sid=[A-Za-z0-9_-]+;/);
    expect(cookie).toContain('HttpOnly');
    expect(cookie).toContain('SameSite=Lax');
    expect(cookie).not.toContain('Secure');
    const sid = cookie.split(';')[0]!;
    const both = { Cookie: sid, 'X-CSRF-Token': body.csrfToken };
    const session = await expectAnswer(
      SessionAnswer,
      await t.app.request('/api/admin/session', { headers: both }),
      200,
    );
    expect(session).toEqual({ authenticated: true, csrfToken: body.csrfToken });

    const form = await t.app.request('/api/admin/login', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ password: PASSWORD }).toString(),
    });
    await expectAnswer(LoginAnswer, form, 200);

    await expectAnswer(
      LogoutAnswer,
      await t.app.request('/api/admin/logout', { method: 'POST', headers: both }),
      200,
    );
    expect(
      await expectAnswer(
        SessionAnswer,
        await t.app.request('/api/admin/session', { headers: both }),
        200,
      ),
    ).toEqual({ authenticated: false, csrfToken: null });
  });

  it('accepts a same-origin cookie write that carries the CSRF token', async () => {
    const login = await t.app.request('/api/admin/login', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ password: PASSWORD }),
    });
    const { csrfToken } = await expectJson<{ csrfToken: string }>(login, 200);
    const sid = (login.headers.get('set-cookie') ?? '').split(';')[0]!;
    const response = await t.app.request('http://localhost/api/admin/upload', {
      method: 'POST',
      headers: { Cookie: sid, Origin: 'http://localhost', 'X-CSRF-Token': csrfToken },
      body: multipart([{ name: 'a.png', bytes: makePng(8, 8, 9) }]),
    });
    await expectJson(response, 202);
  });

  it('reports counts, outbox depth, waiting age and recent failures on /status', async () => {
    const { images } = await upload([
      { name: 'a.png', bytes: makePng(8, 8, 1) },
      { name: 'b.png', bytes: makePng(8, 8, 2) },
    ]);
    t.lifecycle.failed(images[0]!.id, {
      generation: 0,
      code: 'TIMEOUT',
      message: 'x',
      source: 'workflow',
    });
    t.clock.now += 90_000;
    const status = await expectAnswer(StatusAnswer, await t.app.request('/status'), 200);
    expect(status).toEqual({
      counts: { uploaded: 1, queued: 0, processing: 0, processed: 0, failed: 1 },
      outbox: { pending: 2, oldestAgeSeconds: 90 },
      oldestWaitingAgeSeconds: 90,
      failuresLastHour: 1,
      regeneration: null,
    });
    expect(await expectAnswer(HealthAnswer, await t.app.request('/healthz'), 200)).toEqual({
      ok: true,
    });
  });

  it('serves stored variants under /media with their stored caching, as Cloud Storage does, and nosniff', async () => {
    const bytes = makePng(4, 4, 1);
    // The processor's own setting (apps/processor/src/run.ts VARIANT_CACHE_CONTROL).
    const immutable = 'public, max-age=31536000, immutable';
    await t.store.put('variants/img_x/web-v1/g0/w320.png', bytes, {
      contentType: 'image/png',
      cacheControl: immutable,
    });
    const response = await t.app.request('/media/variants/img_x/web-v1/g0/w320.png');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('image/png');
    expect(response.headers.get('cache-control')).toBe(immutable);
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(Buffer.from(await response.arrayBuffer()).equals(bytes)).toBe(true);
    // Stored without one: Cloud Storage's default for a public object.
    await t.store.put('variants/img_x/web-v1/g0/w640.png', bytes, { contentType: 'image/png' });
    const bare = await t.app.request('/media/variants/img_x/web-v1/g0/w640.png');
    expect(bare.headers.get('cache-control')).toBe('public, max-age=3600');
  });

  it('echoes a request id on every response, errors included', async () => {
    const ok = await t.app.request('/healthz', { headers: { 'X-Request-Id': 'abc-123' } });
    expect(ok.headers.get('x-request-id')).toBe('abc-123');
    const missing = await t.app.request('/api/images/img_aaaaaaaaaaaaaaaaaaaaaaaaaa', {
      headers: admin(),
    });
    const body = await expectAnswer(ErrorAnswer, missing, 404);
    expect(body.error.code).toBe('NOT_FOUND');
    expect(body.error.requestId).toBe(missing.headers.get('x-request-id'));
  });
});
