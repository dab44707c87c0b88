import { ErrorAnswer, UploadAnswer } from '@slideshow/contracts';
import type { DispatchRequest, TaskDispatcher } from '@slideshow/dispatch';
import { AppError } from '@slideshow/runtime';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { REAPER_DEFAULTS } from '../src/reaper.ts';
import {
  admin,
  callback,
  expectAnswer,
  expectJson,
  makeApp,
  makePng,
  multipart,
  pngHeaderDeclaring,
  sampleResult,
  type TestApp,
} from './helpers.ts';

type UploadBody = {
  images: { id?: string; originalName: string; duplicate?: boolean; error?: { code: string } }[];
};

/** An upload's answer, checked against its contract, read by field whichever kind each file is. */
const uploadAnswer = (response: Response, status: number): Promise<UploadBody> =>
  expectAnswer(UploadAnswer, response, status);

async function keys(t: TestApp, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const info of t.store.list(prefix)) out.push(info.key);
  return out;
}

describe('backend error paths', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await makeApp();
  });
  afterEach(() => t.cleanup());

  const post = (files: { name: string; bytes: Buffer }[]) =>
    t.app.request('/api/admin/upload', {
      method: 'POST',
      headers: admin(),
      body: multipart(files),
    });

  const accept = async (seed = 1) => {
    const body = await uploadAnswer(
      await post([{ name: 'a.png', bytes: makePng(8, 8, seed) }]),
      202,
    );
    await t.relay.drain();
    return body.images[0]!.id!;
  };

  const call = (id: string, step: string, body: unknown) =>
    t.app.request(`/api/processing/${id}/${step}`, {
      method: 'POST',
      headers: callback(),
      body: JSON.stringify(body),
    });

  it.each([
    ['a text file', Buffer.from('hello, this is not an image'), 415, 'UNSUPPORTED_FORMAT'],
    [
      'an SVG document',
      Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'),
      415,
      'SVG_NOT_ALLOWED',
    ],
    ['an empty file', Buffer.alloc(0), 422, 'EMPTY_FILE'],
    ['a PNG declaring 400 megapixels', pngHeaderDeclaring(20_000, 20_000), 422, 'TOO_MANY_PIXELS'],
  ])(
    'refuses %s with its image error code and leaves nothing behind',
    async (_name, bytes, status, code) => {
      const body = await expectAnswer(ErrorAnswer, await post([{ name: 'x.png', bytes }]), status);
      expect(body.error.code).toBe(code);
      expect(await keys(t, '')).toEqual([]);
      expect(t.repos.images.countsByStatus().uploaded).toBe(0);
      expect(t.repos.outbox.stats().pending).toBe(0);
    },
  );

  it('answers 413 for a file over the size limit while streaming and deletes what was written', async () => {
    const big = Buffer.concat([makePng(8, 8, 1), Buffer.alloc(6 * 1024 * 1024, 7)]);
    const body = await expectAnswer(
      ErrorAnswer,
      await post([{ name: 'big.png', bytes: big }]),
      413,
    );
    expect(body.error.code).toBe('PAYLOAD_TOO_LARGE');
    expect(await keys(t, '')).toEqual([]);
    expect(t.repos.images.countsByStatus().uploaded).toBe(0);
  });

  it('accepts the good files of a batch and reports the refused one by name', async () => {
    const body = await uploadAnswer(
      await post([
        { name: 'good.png', bytes: makePng(8, 8, 1) },
        { name: 'bad.txt', bytes: Buffer.from('not an image at all') },
      ]),
      202,
    );
    expect(body.images[0]).toMatchObject({ originalName: 'good.png', duplicate: false });
    expect(body.images[1]).toMatchObject({
      originalName: 'bad.txt',
      error: { code: 'UNSUPPORTED_FORMAT' },
    });
    expect(await keys(t, 'originals/')).toEqual([`originals/${body.images[0]!.id}`]);
  });

  it('returns the existing image for an identical file and enqueues nothing', async () => {
    const png = makePng(8, 8, 5);
    const first = await uploadAnswer(await post([{ name: 'a.png', bytes: png }]), 202);
    const second = await uploadAnswer(await post([{ name: 'copy.png', bytes: png }]), 202);
    expect(second.images[0]).toMatchObject({ id: first.images[0]!.id, duplicate: true });
    expect(await keys(t, 'originals/')).toHaveLength(1);
    expect(t.repos.outbox.stats().pending).toBe(1);
  });

  it('refuses a body that is not multipart with 415', async () => {
    const body = await expectAnswer(
      ErrorAnswer,
      await t.app.request('/api/admin/upload', {
        method: 'POST',
        headers: admin({ 'Content-Type': 'application/json' }),
        body: '{}',
      }),
      415,
    );
    expect(body.error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
  });

  it('refuses a multipart body without a file part', async () => {
    const form = new FormData();
    form.append('note', 'hello');
    const body = await expectAnswer(
      ErrorAnswer,
      await t.app.request('/api/admin/upload', { method: 'POST', headers: admin(), body: form }),
      400,
    );
    expect(body.error.code).toBe('VALIDATION_FAILED');
  });

  it('answers 409 STALE_GENERATION to a callback from an older generation and keeps the newer state', async () => {
    const id = await accept();
    await expectJson(
      await call(id, 'failed', { generation: 0, code: 'TIMEOUT', message: 'slow' }),
      200,
    );
    await expectJson(
      await t.app.request(`/api/admin/images/${id}/retry`, { method: 'POST', headers: admin() }),
      202,
    );
    const late = await expectAnswer(
      ErrorAnswer,
      await call(id, 'complete', { generation: 0, result: sampleResult() }),
      409,
    );
    expect(late.error.code).toBe('STALE_GENERATION');
    expect(t.repos.images.get(id)).toMatchObject({
      status: 'queued',
      generation: 1,
      variants: null,
    });
  });

  it('ignores a duplicate complete and a failure reported after success', async () => {
    const id = await accept();
    await expectJson(await call(id, 'complete', { generation: 0, result: sampleResult() }), 200);
    const again = await expectJson(
      await call(id, 'complete', {
        generation: 0,
        result: sampleResult({ dominantColor: '#000000' }),
      }),
      200,
    );
    expect(again).toEqual({ applied: false, reason: 'image is already processed' });
    const late = await expectJson(
      await call(id, 'failed', {
        generation: 0,
        code: 'JOB_FAILED',
        message: 'oom',
        source: 'workflow',
      }),
      200,
    );
    expect(late).toMatchObject({ applied: false });
    expect(t.repos.images.get(id)).toMatchObject({
      status: 'processed',
      dominant_color: '#336699',
    });
    expect(t.repos.failedTasks.get(id)).toBeUndefined();
  });

  it('applies a workflow failure to the generation it names, and answers a repeat as a duplicate', async () => {
    const id = await accept();
    const report = {
      generation: 0,
      code: 'JOB_FAILED',
      message: 'killed',
      source: 'workflow',
      execution: 'ex/1',
    };
    await expectJson(await call(id, 'failed', report), 200);
    expect(t.repos.failedTasks.get(id)).toMatchObject({
      source: 'workflow',
      attempt_count: 1,
      execution: 'ex/1',
    });
    const duplicate = await expectJson(await call(id, 'failed', report), 200);
    expect(duplicate).toEqual({ applied: false, reason: 'duplicate failure report' });
    expect(t.repos.failedTasks.get(id)?.attempt_count).toBe(1);
  });

  it.each(['reaper', 'dispatch', 'regenerate'])(
    "refuses a failure report that names the backend's own source %s, and changes nothing",
    async (source) => {
      const id = await accept();
      const body = await expectAnswer(
        ErrorAnswer,
        await call(id, 'failed', { generation: 0, code: 'STUCK', message: 'x', source }),
        400,
      );
      expect(body.error.code).toBe('VALIDATION_FAILED');
      expect(t.repos.images.get(id)?.status).toBe('queued');
      expect(t.repos.failedTasks.get(id)).toBeUndefined();
    },
  );

  it('refuses a complete whose variant suffix could escape its prefix', async () => {
    const id = await accept();
    const result = sampleResult();
    result.variants[0]!.suffix = '../../originals/x';
    const body = await expectAnswer(
      ErrorAnswer,
      await call(id, 'complete', { generation: 0, result }),
      400,
    );
    expect(body.error.code).toBe('VALIDATION_FAILED');
    expect(t.repos.images.get(id)?.status).toBe('queued');
  });

  it('answers 400 to a callback body that is not JSON and 404 to an unknown image', async () => {
    const id = await accept();
    const bad = await t.app.request(`/api/processing/${id}/started`, {
      method: 'POST',
      headers: callback(),
      body: '{not json',
    });
    expect((await expectAnswer(ErrorAnswer, bad, 400)).error.code).toBe('VALIDATION_FAILED');
    const unknown = await call('img_aaaaaaaaaaaaaaaaaaaaaaaaaa', 'started', { generation: 0 });
    expect((await expectAnswer(ErrorAnswer, unknown, 404)).error.code).toBe('NOT_FOUND');
  });

  it('refuses to retry an image that has not failed', async () => {
    const id = await accept();
    const body = await expectAnswer(
      ErrorAnswer,
      await t.app.request(`/api/admin/images/${id}/retry`, { method: 'POST', headers: admin() }),
      409,
    );
    expect(body.error.code).toBe('CONFLICT');
  });

  it('answers 404 for deleting an unknown image and 400 for a forged cursor', async () => {
    await expectJson(
      await t.app.request('/api/admin/images/img_aaaaaaaaaaaaaaaaaaaaaaaaaa', {
        method: 'DELETE',
        headers: admin(),
      }),
      404,
    );
    await expectJson(
      await t.app.request('/api/admin/images?cursor=%%%', { headers: admin() }),
      400,
    );
    await expectJson(
      await t.app.request('/api/admin/images?status=lost', { headers: admin() }),
      400,
    );
  });

  it('reports missing, unsafe and generated keys per item on ingest', async () => {
    const body = await uploadAnswer(
      await t.app.request('/api/admin/ingest', {
        method: 'POST',
        headers: admin({ 'Content-Type': 'application/json' }),
        body: JSON.stringify({ keys: ['nope.png', '../etc/passwd', 'variants/img_x/a.png'] }),
      }),
      202,
    );
    expect(body.images.map((i) => i.error?.code)).toEqual([
      'NOT_FOUND',
      'VALIDATION_FAILED',
      'VALIDATION_FAILED',
    ]);
    const empty = await t.app.request('/api/admin/ingest', {
      method: 'POST',
      headers: admin({ 'Content-Type': 'application/json' }),
      body: '{}',
    });
    expect((await expectAnswer(ErrorAnswer, empty, 400)).error.code).toBe('VALIDATION_FAILED');
  });

  it('keeps an outbox row with backoff while the dispatcher fails and dispatches it later', async () => {
    let failing = true;
    const calls: DispatchRequest[] = [];
    const flaky: TaskDispatcher = {
      async dispatch(request) {
        calls.push(request);
        if (failing)
          throw new AppError('DISPATCH_FAILED', 'Cloud Tasks unavailable', { retryable: true });
        return { taskName: 't', alreadyExisted: false };
      },
    };
    t.cleanup();
    t = await makeApp({ dispatcher: flaky });
    const { images } = await uploadAnswer(
      await post([{ name: 'a.png', bytes: makePng(8, 8, 1) }]),
      202,
    );
    const id = images[0]!.id!;
    await t.relay.drain();
    await t.relay.drain();
    const row = t.db.prepare('SELECT * FROM outbox').get() as {
      attempts: number;
      next_attempt_at: number;
      last_error: string;
    };
    expect(row.attempts).toBe(1);
    expect(row.last_error).toContain('DISPATCH_FAILED: Cloud Tasks unavailable');
    expect(row.next_attempt_at).toBeGreaterThan(t.clock.now);
    expect(calls).toHaveLength(1);
    expect(t.repos.images.get(id)?.status).toBe('uploaded');
    failing = false;
    t.clock.now += 10 * 60_000;
    expect(await t.relay.drain()).toBe(1);
    expect(t.repos.outbox.stats().pending).toBe(0);
    expect(t.repos.images.get(id)?.status).toBe('queued');
  });

  it('re-dispatches a stuck image once with a new generation, then fails it as STUCK', async () => {
    const id = await accept();
    // The dry-run dispatcher knows no task and no execution: nothing says the image is alive.
    // The builder's own reaper, with its default STUCK_AFTER_MS.
    const reaper = t.backend.reaper;
    const none = { redispatched: [], failed: [], waiting: [], running: [], unknown: [] };
    t.clock.now += REAPER_DEFAULTS.stuckAfterMs + 1_000;
    expect(await reaper.runOnce()).toEqual({ ...none, redispatched: [id] });
    expect(t.repos.images.get(id)).toMatchObject({ status: 'queued', generation: 1 });
    expect(await reaper.runOnce()).toEqual(none);
    await t.relay.drain();
    expect(t.dispatcher.dispatched.map((d) => d.argument)).toEqual([
      { file_id: id, generation: 0 },
      { file_id: id, generation: 1 },
    ]);
    t.clock.now += REAPER_DEFAULTS.stuckAfterMs + 1_000;
    expect(await reaper.runOnce()).toEqual({ ...none, failed: [id] });
    expect(t.repos.images.get(id)).toMatchObject({ status: 'failed', last_error_code: 'STUCK' });
    expect(t.repos.failedTasks.get(id)).toMatchObject({ source: 'reaper', error_code: 'STUCK' });
  });
});
