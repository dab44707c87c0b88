/**
 * Uploads through resumable sessions (src/upload/upload-sessions.ts): the
 * browser sends the bytes to the session in chunks, the backend checks the
 * stored object (size, sniff and header probe, sha256) before it becomes an
 * image, a refused or cancelled or abandoned upload leaves nothing behind.
 * Through `app.request()` on a real SQLite file with a real folder store (its
 * sessions served by the backend's own route), and with the real Cloud
 * Storage client against the GCS emulator (the chunks then go to the
 * emulator, as a browser's go to Cloud Storage).
 */
import { createHash, randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  UploadAnswer,
  UploadCancelAnswer,
  UploadSessionAnswer,
  UploadSessionCancelAnswer,
  UploadSessionStatusAnswer,
} from '@slideshow/contracts';
import { silentLogger } from '@slideshow/runtime';
import type { ObjectStore } from '@slideshow/storage';
import { createGcsObjectStore } from '@slideshow/storage/gcs';
import { type GcsEmulator, startGcsEmulator } from '@slideshow/storage/testing/gcs-emulator';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createOrphanSweeper } from '../src/orphan-sweeper.ts';
import { BODY_LIMITS } from '../src/request-body.ts';
import { UPLOAD_SESSION_PATH } from '../src/routes/upload-sessions.ts';
import {
  admin,
  expectAnswer,
  expectJson,
  makeApp,
  makePng,
  memoryLogger,
  type TestApp,
} from './helpers.ts';

const MAX_UPLOAD = 64 * 1024 * 1024;
const TTL_MS = 3600_000;
const MINUTE = 60_000;

type Opened = UploadSessionAnswer;

/** A valid PNG header followed by `extra` random bytes (the backend probes headers only). */
function bigPng(extra: number, seed = 1): Buffer {
  return Buffer.concat([makePng(32, 24, seed), randomBytes(extra)]);
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function describeSessions(
  name: string,
  setup: () => Promise<{ t: TestApp; send: Sender; cleanup(): Promise<void> }>,
) {
  describe(name, () => {
    let t: TestApp;
    let send: Sender;
    let cleanup: () => Promise<void>;
    beforeEach(async () => {
      ({ t, send, cleanup } = await setup());
    });
    afterEach(async () => {
      await cleanup();
    });

    const open = async (bytes: Buffer, fileName = 'big.png') =>
      expectAnswer(
        UploadSessionAnswer,
        await t.app.request('/api/admin/upload-sessions', {
          method: 'POST',
          headers: admin({ 'Content-Type': 'application/json', Origin: 'https://admin.example' }),
          body: JSON.stringify({ name: fileName, size: bytes.length }),
        }),
        201,
      );
    const sendAll = async (session: Opened, bytes: Buffer, from = 0) => {
      let answer = { status: 0, range: null as string | null };
      for (let first = from; first < bytes.length; first += session.chunkBytes) {
        const last = Math.min(first + session.chunkBytes, bytes.length) - 1;
        answer = await send(
          session.sessionUrl,
          `bytes ${first}-${last}/${bytes.length}`,
          bytes.subarray(first, last + 1),
        );
        const final = last === bytes.length - 1;
        expect(answer.status, `chunk ${first}-${last}`).toBe(final ? 200 : 308);
        if (!final) expect(answer.range).toBe(`bytes=0-${last}`);
      }
      return answer;
    };
    const complete = (id: string) =>
      t.app.request(`/api/admin/upload-sessions/${id}/complete`, {
        method: 'POST',
        headers: admin(),
      });
    const rows = () => ({
      images: t.db.prepare('SELECT count(*) AS n FROM images').get(),
      pending: t.db.prepare('SELECT count(*) AS n FROM pending_originals').get(),
      sessions: t.db.prepare('SELECT count(*) AS n FROM upload_sessions').get(),
    });

    it('takes a file far over one request in chunks and makes it an image once the stored object checks out', async () => {
      const bytes = bigPng(5 * 1024 * 1024);
      const session = await open(bytes);
      expect(session.size).toBe(bytes.length);
      // Nothing exists yet but the reservation.
      expect(rows()).toEqual({ images: { n: 0 }, pending: { n: 1 }, sessions: { n: 1 } });
      await sendAll(session, bytes);
      const body = await expectAnswer(UploadAnswer, await complete(session.id), 202);
      expect(body.images).toEqual([
        { id: session.id, status: 'uploaded', duplicate: false, originalName: 'big.png' },
      ]);
      expect(t.repos.images.get(session.id)).toMatchObject({
        bytes: bytes.length,
        sha256: sha256(bytes),
        source_key: `originals/${session.id}`,
        content_type: 'image/png',
        width: 32,
        height: 24,
        priority: 'interactive',
      });
      expect(rows()).toEqual({ images: { n: 1 }, pending: { n: 0 }, sessions: { n: 0 } });
      expect(t.repos.outbox.stats().pending).toBe(1);
    });

    it('resumes where the session stands after a dropped connection, asked through the backend', async () => {
      const bytes = bigPng(3 * 1024 * 1024, 2);
      const session = await open(bytes);
      // Any multiple of 256 KiB may be a chunk; 1 MiB keeps this test below both stores' suggestion.
      const chunk = 1024 * 1024;
      const range = (first: number) => `bytes ${first}-${first + chunk - 1}/${bytes.length}`;
      await send(session.sessionUrl, range(0), bytes.subarray(0, chunk));
      // The next chunk's answer never arrives; the page asks the backend where the upload stands.
      await send(session.sessionUrl, range(chunk), bytes.subarray(chunk, 2 * chunk));
      const status = await expectAnswer(
        UploadSessionStatusAnswer,
        await t.app.request(`/api/admin/upload-sessions/${session.id}`, { headers: admin() }),
        200,
      );
      expect(status).toEqual({
        id: session.id,
        received: 2 * chunk,
        size: bytes.length,
        complete: false,
        expiresAt: session.expiresAt,
      });
      // Completing now is refused, and changes nothing.
      const early = await complete(session.id);
      expect(early.status).toBe(409);
      expect(((await early.json()) as { error: { code: string } }).error.code).toBe('CONFLICT');
      await sendAll(session, bytes, status.received);
      await expectAnswer(UploadAnswer, await complete(session.id), 202);
      expect(t.repos.images.get(session.id)?.sha256).toBe(sha256(bytes));
    });

    it('refuses a stored object that is not an image with the upload path’s code, and deletes it', async () => {
      const bytes = Buffer.concat([
        Buffer.from('this is a text file, not an image\n'),
        randomBytes(300_000),
      ]);
      const session = await open(bytes, 'notes.txt');
      await sendAll(session, bytes);
      const refused = await complete(session.id);
      expect(refused.status).toBe(415);
      expect(((await refused.json()) as { error: { code: string } }).error.code).toBe(
        'UNSUPPORTED_FORMAT',
      );
      expect(await t.store.stat(`originals/${session.id}`)).toBeUndefined();
      expect(rows()).toEqual({ images: { n: 0 }, pending: { n: 0 }, sessions: { n: 0 } });
    });

    it('answers a duplicate with the existing image and keeps no second copy', async () => {
      const bytes = bigPng(400_000, 3);
      const first = await open(bytes);
      await sendAll(first, bytes);
      await expectAnswer(UploadAnswer, await complete(first.id), 202);
      const second = await open(bytes, 'again.png');
      await sendAll(second, bytes);
      const body = await expectAnswer(UploadAnswer, await complete(second.id), 202);
      expect(body.images[0]).toMatchObject({ id: first.id, duplicate: true });
      expect(await t.store.stat(`originals/${second.id}`)).toBeUndefined();
      expect(rows()).toEqual({ images: { n: 1 }, pending: { n: 0 }, sessions: { n: 0 } });
    });

    it('answers a complete sent again (its answer lost) with the same 202 until the session expires, for a new image and a duplicate', async () => {
      const bytes = bigPng(300_000, 4);
      const session = await open(bytes);
      await sendAll(session, bytes);
      const first = await expectAnswer(UploadAnswer, await complete(session.id), 202);
      const again = await expectAnswer(UploadAnswer, await complete(session.id), 202);
      expect(again).toEqual(first);
      expect(first.images).toEqual([
        { id: session.id, status: 'uploaded', duplicate: false, originalName: 'big.png' },
      ]);
      const copy = await open(bytes, 'copy.png');
      await sendAll(copy, bytes);
      const duplicate = await expectAnswer(UploadAnswer, await complete(copy.id), 202);
      expect(duplicate.images[0]).toMatchObject({ id: session.id, duplicate: true });
      expect(await expectAnswer(UploadAnswer, await complete(copy.id), 202)).toEqual(duplicate);
      expect(rows()).toEqual({ images: { n: 1 }, pending: { n: 0 }, sessions: { n: 0 } });
      // Not for an image deleted since, nor past the session's expiry: then 404, as for any
      // unknown session.
      const notFound = async (id: string) =>
        (await expectJson<{ error: { code: string; message: string } }>(await complete(id), 404))
          .error;
      await expectJson(
        await t.app.request(`/api/admin/images/${session.id}`, {
          method: 'DELETE',
          headers: admin(),
        }),
        200,
      );
      expect(await notFound(copy.id)).toMatchObject({
        code: 'NOT_FOUND',
        message: `upload ${copy.id} became image ${session.id}, since deleted`,
      });
      t.clock.now += TTL_MS + 1;
      expect(await notFound(session.id)).toMatchObject({
        code: 'NOT_FOUND',
        message: `no upload session ${session.id}`,
      });
    });

    it('refuses a declared size over the limit and an empty file before opening anything', async () => {
      for (const [size, status, code] of [
        [MAX_UPLOAD + 1, 413, 'PAYLOAD_TOO_LARGE'],
        [0, 422, 'EMPTY_FILE'],
      ] as const) {
        const response = await t.app.request('/api/admin/upload-sessions', {
          method: 'POST',
          headers: admin({ 'Content-Type': 'application/json' }),
          body: JSON.stringify({ name: 'x.png', size }),
        });
        expect(response.status).toBe(status);
        expect(((await response.json()) as { error: { code: string } }).error.code).toBe(code);
      }
      expect(rows()).toEqual({ images: { n: 0 }, pending: { n: 0 }, sessions: { n: 0 } });
    });

    it('leaves nothing behind when cancelled halfway, and the session takes no more bytes', async () => {
      const bytes = bigPng(2 * 1024 * 1024, 4);
      const session = await open(bytes);
      const chunk = session.chunkBytes;
      await send(
        session.sessionUrl,
        `bytes 0-${chunk - 1}/${bytes.length}`,
        bytes.subarray(0, chunk),
      );
      await expectJson(
        await t.app.request(`/api/admin/upload-sessions/${session.id}`, {
          method: 'DELETE',
          headers: admin(),
        }),
        200,
      );
      const rest = await send(
        session.sessionUrl,
        `bytes ${chunk}-${bytes.length - 1}/${bytes.length}`,
        bytes.subarray(chunk),
      );
      expect(rest.status).toBe(404);
      expect(await t.store.stat(`originals/${session.id}`)).toBeUndefined();
      expect(rows()).toEqual({ images: { n: 0 }, pending: { n: 0 }, sessions: { n: 0 } });
    });

    // The admin page's Cancel (routes/uploads.ts): `complete` carries the page's X-Upload-Id, so a
    // cancel that arrives after, during or before it leaves nothing, as for a streamed upload.
    let seq = 0;
    const completeAs = (id: string, uploadId: string) =>
      t.app.request(`/api/admin/upload-sessions/${id}/complete`, {
        method: 'POST',
        headers: admin({ 'X-Upload-Id': uploadId }),
      });
    const cancelUpload = (uploadId: string) =>
      t.app.request(`/api/admin/uploads/${uploadId}`, { method: 'DELETE', headers: admin() });

    it('removes the image a completed session made when the cancel of its upload comes after the answer', async () => {
      const bytes = bigPng(600_000, 6);
      const session = await open(bytes);
      await sendAll(session, bytes);
      const uploadId = `session-upload-${++seq}-abcdefgh`;
      await expectAnswer(UploadAnswer, await completeAs(session.id, uploadId), 202);
      const cancelled = await expectAnswer(UploadCancelAnswer, await cancelUpload(uploadId), 200);
      expect(cancelled.removed).toEqual([session.id]);
      expect(await t.store.stat(`originals/${session.id}`)).toBeUndefined();
      expect(rows()).toEqual({ images: { n: 0 }, pending: { n: 0 }, sessions: { n: 0 } });
      expect(t.repos.outbox.stats().pending).toBe(0);
    });

    it('refuses a complete whose upload was cancelled first; the session is then cancelled with nothing left', async () => {
      const bytes = bigPng(600_000, 7);
      const session = await open(bytes);
      await sendAll(session, bytes);
      const uploadId = `session-upload-${++seq}-abcdefgh`;
      await expectJson(await cancelUpload(uploadId), 200);
      const refused = await completeAs(session.id, uploadId);
      expect(refused.status).toBe(409);
      expect(rows()).toEqual({ images: { n: 0 }, pending: { n: 1 }, sessions: { n: 1 } });
      const gone = await expectAnswer(
        UploadSessionCancelAnswer,
        await t.app.request(`/api/admin/upload-sessions/${session.id}`, {
          method: 'DELETE',
          headers: admin(),
        }),
        200,
      );
      expect(gone.cancelled).toBe(true);
      expect(await t.store.stat(`originals/${session.id}`)).toBeUndefined();
      expect(rows()).toEqual({ images: { n: 0 }, pending: { n: 0 }, sessions: { n: 0 } });
    });

    it('answers a complete repeated with its upload id the same image, also while the first is still checking, and a cancel still removes it (before: 409 CONFLICT)', async () => {
      const bytes = bigPng(600_000, 13);
      const session = await open(bytes);
      await sendAll(session, bytes);
      const uploadId = `session-upload-${++seq}-abcdefgh`;
      // A browser sends a request whose connection was reset again, the page a complete whose
      // answer was lost: the repeat may arrive while the first is still reading the object.
      const [first, repeat] = await Promise.all([
        completeAs(session.id, uploadId),
        completeAs(session.id, uploadId),
      ]);
      const answer = await expectAnswer(UploadAnswer, first, 202);
      expect(answer.images).toEqual([
        { id: session.id, status: 'uploaded', duplicate: false, originalName: 'big.png' },
      ]);
      expect(await expectAnswer(UploadAnswer, repeat, 202)).toEqual(answer);
      expect(await expectAnswer(UploadAnswer, await completeAs(session.id, uploadId), 202)).toEqual(
        answer,
      );
      expect(rows()).toEqual({ images: { n: 1 }, pending: { n: 0 }, sessions: { n: 0 } });
      const cancelled = await expectAnswer(UploadCancelAnswer, await cancelUpload(uploadId), 200);
      expect(cancelled.removed).toEqual([session.id]);
      expect(rows()).toEqual({ images: { n: 0 }, pending: { n: 0 }, sessions: { n: 0 } });
      // Cancelled, the id stays refused.
      expect((await completeAs(session.id, uploadId)).status).toBe(409);
    });

    /** A pass of the sweeper as the backend runs it (every minute here), on the app's clock. */
    const sweep = () =>
      createOrphanSweeper({
        store: t.store,
        repos: t.repos,
        logger: silentLogger,
        graceMs: 60_000,
        intervalMs: MINUTE,
        now: () => t.clock.now,
        uploadSessionTtlMs: TTL_MS,
      }).sweepOnce();
    const status = (id: string) =>
      t.app.request(`/api/admin/upload-sessions/${id}`, { headers: admin() });
    /** Sends the `i`-th MiB of `bytes` to the session. */
    const sendMiB = (session: Opened, bytes: Buffer, i: number) => {
      const mib = 1024 * 1024;
      return send(
        session.sessionUrl,
        `bytes ${i * mib}-${(i + 1) * mib - 1}/${bytes.length}`,
        bytes.subarray(i * mib, (i + 1) * mib),
      );
    };

    it('keeps a session open while its chunks still arrive past its first expiry (before: cancelled mid-file at its TTL)', async () => {
      const bytes = bigPng(3 * 1024 * 1024, 8);
      const session = await open(bytes);
      expect((await sendMiB(session, bytes, 0)).status).toBe(308);
      // The pass a minute before the expiry sees bytes that arrived since the session opened.
      t.clock.now += TTL_MS - MINUTE;
      expect(await sweep()).toEqual([]);
      t.clock.now += 2 * MINUTE;
      expect(await sweep()).toEqual([]);
      expect((await sendMiB(session, bytes, 1)).status).toBe(308);
      // Again past the expiry the first renewal set, still sending.
      t.clock.now += TTL_MS - 3 * MINUTE;
      expect(await sweep()).toEqual([]);
      t.clock.now += 2 * MINUTE;
      expect(await sweep()).toEqual([]);
      expect((await sendMiB(session, bytes, 2)).status).toBe(308);
      await sendAll(session, bytes, 3 * 1024 * 1024);
      const body = await expectAnswer(UploadAnswer, await complete(session.id), 202);
      expect(body.images[0]).toMatchObject({ id: session.id, status: 'uploaded' });
    });

    it('answers the session’s expiry with its status, later once bytes arrived since the last look (before: no expiresAt)', async () => {
      const bytes = bigPng(3 * 1024 * 1024, 12);
      const opened = t.clock.now;
      const session = await open(bytes);
      const expiry = async () =>
        (
          await expectAnswer(
            UploadSessionStatusAnswer,
            await t.app.request(`/api/admin/upload-sessions/${session.id}`, { headers: admin() }),
            200,
          )
        ).expiresAt;
      const at = (ms: number) => new Date(ms).toISOString();
      expect(await expiry()).toBe(at(opened + TTL_MS));
      expect(session.expiresAt).toBe(at(opened + TTL_MS));
      t.clock.now += 10 * MINUTE;
      expect((await sendMiB(session, bytes, 0)).status).toBe(308);
      expect(await expiry()).toBe(at(opened + 10 * MINUTE + TTL_MS));
      // Nothing more arrived: the expiry stays where the last look put it.
      t.clock.now += 10 * MINUTE;
      expect(await expiry()).toBe(at(opened + 10 * MINUTE + TTL_MS));
    });

    it('lets a session that received nothing since the last look expire', async () => {
      const bytes = bigPng(3 * 1024 * 1024, 9);
      const session = await open(bytes);
      expect((await sendMiB(session, bytes, 0)).status).toBe(308);
      t.clock.now += TTL_MS - MINUTE;
      expect(await sweep()).toEqual([]);
      // Nothing more arrives: the next look near the new expiry leaves it.
      t.clock.now += TTL_MS - 2 * MINUTE;
      expect(await sweep()).toEqual([]);
      t.clock.now += 3 * MINUTE;
      expect(await sweep()).toEqual([`originals/${session.id}`]);
      expect(rows()).toEqual({ images: { n: 0 }, pending: { n: 0 }, sessions: { n: 0 } });
      expect((await sendMiB(session, bytes, 1)).status).toBe(404);
    });

    it('answers 404 for a session past its expiry before the sweeper has run (before: it took complete until the sweep)', async () => {
      const bytes = bigPng(300_000, 10);
      const session = await open(bytes);
      await sendAll(session, bytes);
      t.clock.now += TTL_MS + MINUTE;
      expect((await status(session.id)).status).toBe(404);
      expect((await complete(session.id)).status).toBe(404);
      expect(rows()).toEqual({ images: { n: 0 }, pending: { n: 1 }, sessions: { n: 1 } });
      // What the readers call gone is what the sweep deletes.
      expect(await sweep()).toEqual([`originals/${session.id}`]);
      expect(rows()).toEqual({ images: { n: 0 }, pending: { n: 0 }, sessions: { n: 0 } });
    });

    it('gives an early complete (409) no extra time: the session still expires at its own expiry (before: an hour after that complete)', async () => {
      const bytes = bigPng(3 * 1024 * 1024, 11);
      const session = await open(bytes);
      expect((await sendMiB(session, bytes, 0)).status).toBe(308);
      t.clock.now += 30 * MINUTE;
      expect((await complete(session.id)).status).toBe(409);
      t.clock.now += 31 * MINUTE;
      expect((await status(session.id)).status).toBe(404);
      expect(await sweep()).toEqual([`originals/${session.id}`]);
      expect(rows()).toEqual({ images: { n: 0 }, pending: { n: 0 }, sessions: { n: 0 } });
    });

    it('leaves nothing behind when abandoned: the sweeper cancels the expired session and deletes its object', async () => {
      const bytes = bigPng(300_000, 5);
      const session = await open(bytes);
      // The browser sent everything, then the tab closed before `complete`.
      const last = await sendAll(session, bytes);
      expect(last.status).toBe(200);
      expect(await t.store.stat(`originals/${session.id}`), JSON.stringify(last)).toBeDefined();
      const sweep = (offsetMs: number) =>
        createOrphanSweeper({
          store: t.store,
          repos: t.repos,
          logger: silentLogger,
          graceMs: 60_000,
          intervalMs: 60_000,
          now: () => t.clock.now + offsetMs,
        }).sweepOnce();
      // Past the orphan grace but within the session's life: nothing goes.
      expect(await sweep(2 * 60_000)).toEqual([]);
      expect(await t.store.stat(`originals/${session.id}`)).toBeDefined();
      expect(await sweep(TTL_MS + 1)).toEqual([`originals/${session.id}`]);
      expect(await t.store.stat(`originals/${session.id}`)).toBeUndefined();
      expect(rows()).toEqual({ images: { n: 0 }, pending: { n: 0 }, sessions: { n: 0 } });
      expect((await complete(session.id)).status).toBe(404);
    });
  });
}

/** Sends one chunk to a session URL the way a browser does; answers status and `Range`. */
type Sender = (
  url: string,
  contentRange: string,
  body: Buffer,
) => Promise<{ status: number; range: string | null }>;

describeSessions('upload sessions on a folder store (the backend serves the session)', async () => {
  const t = await makeApp({ maxUploadBytes: MAX_UPLOAD, uploadSessionTtlMs: TTL_MS });
  const send: Sender = async (url, contentRange, body) => {
    // No admin credentials: the session URL is the capability.
    const response = await t.app.request(url, {
      method: 'PUT',
      headers: { 'Content-Range': contentRange },
      body: new Uint8Array(body),
    });
    await response.arrayBuffer();
    return { status: response.status, range: response.headers.get('range') };
  };
  return { t, send, cleanup: async () => t.cleanup() };
});

describe('the folder store session route', () => {
  let t: TestApp;
  /** What the app logged, parsed. */
  let logged: Record<string, unknown>[];
  beforeEach(async () => {
    const memory = memoryLogger();
    logged = memory.lines;
    t = await makeApp({ maxUploadBytes: MAX_UPLOAD, logger: memory.logger });
  });
  afterEach(() => t.cleanup());

  /** Opens a session for `bytes` as the admin. */
  const open = async (bytes: Buffer) =>
    expectAnswer(
      UploadSessionAnswer,
      await t.app.request('/api/admin/upload-sessions', {
        method: 'POST',
        headers: admin({ 'Content-Type': 'application/json' }),
        body: JSON.stringify({ name: 'a.png', size: bytes.length }),
      }),
      201,
    );

  it('is served under the session path with the chunk limit of the request-body machinery, and knows only its own tokens', async () => {
    const bytes = bigPng(3 * 1024 * 1024);
    const session = await open(bytes);
    expect(session.sessionUrl).toMatch(/^\/api\/upload-sessions\/[A-Za-z0-9_-]{43}$/);
    expect(session.chunkBytes).toBe(BODY_LIMITS.uploadChunk);
    const tooBig = await t.app.request(session.sessionUrl, {
      method: 'PUT',
      headers: { 'Content-Range': `bytes 0-${BODY_LIMITS.uploadChunk * 2 - 1}/${bytes.length}` },
      body: new Uint8Array(bytes.subarray(0, BODY_LIMITS.uploadChunk * 2)),
    });
    expect(tooBig.status).toBe(413);
    const forged = await t.app.request(`/api/upload-sessions/${'A'.repeat(43)}`, {
      method: 'PUT',
      headers: { 'Content-Range': `bytes 0-9/${bytes.length}` },
      body: new Uint8Array(10),
    });
    expect(forged.status).toBe(404);
    // The store's session files live in its reserved folder, never listed as objects.
    const names = await readdir(join(t.dir, 'storage', '.objectstore', 'uploads'));
    expect(names.sort()).toEqual(
      [
        `${session.sessionUrl.split('/').pop()}.data`,
        `${session.sessionUrl.split('/').pop()}.json`,
      ].sort(),
    );
    const listed: string[] = [];
    for await (const o of t.store.list('')) listed.push(o.key);
    expect(listed).toEqual([]);
  });

  it('keeps the session token, the only credential of its route, out of the access log', async () => {
    const bytes = bigPng(1024);
    const session = await open(bytes);
    const token = session.sessionUrl.slice(UPLOAD_SESSION_PATH.length);
    const put = await t.app.request(session.sessionUrl, {
      method: 'PUT',
      headers: { 'Content-Range': `bytes 0-${bytes.length - 1}/${bytes.length}` },
      body: new Uint8Array(bytes),
    });
    expect(put.status, await put.text()).toBe(200);
    const requests = logged.filter((line) => line.message === 'request');
    expect(requests.map((line) => [line.method, line.path, line.status])).toEqual([
      ['POST', '/api/admin/upload-sessions', 201],
      ['PUT', `${UPLOAD_SESSION_PATH}[token]`, 200],
    ]);
    expect(JSON.stringify(logged)).not.toContain(token);
  });
});

describe('with Cloud Storage (the GCS emulator)', () => {
  let emulator: GcsEmulator;
  beforeAll(async () => {
    emulator = await startGcsEmulator();
  });
  afterAll(async () => {
    await emulator?.stop();
  });

  let bucket = 0;
  describeSessions(
    'upload sessions on Cloud Storage (the browser sends the chunks there)',
    async () => {
      const store: ObjectStore = createGcsObjectStore({
        bucket: `uploads-${++bucket}`,
        apiEndpoint: emulator.endpoint,
        projectId: emulator.projectId,
      });
      const t = await makeApp({
        store,
        uploadReceiver: undefined,
        maxUploadBytes: MAX_UPLOAD,
        uploadSessionTtlMs: TTL_MS,
      });
      const send: Sender = async (url, contentRange, body) => {
        const response = await fetch(url, {
          method: 'PUT',
          headers: { 'Content-Range': contentRange },
          body: new Uint8Array(body),
        });
        await response.arrayBuffer();
        return { status: response.status, range: response.headers.get('range') };
      };
      return { t, send, cleanup: async () => t.cleanup() };
    },
  );

  it('opens the session for the admin page’s origin, so the browser may send the chunks cross-origin', async () => {
    const store = createGcsObjectStore({
      bucket: 'uploads-cors',
      apiEndpoint: emulator.endpoint,
      projectId: emulator.projectId,
    });
    const t = await makeApp({ store, uploadReceiver: undefined, maxUploadBytes: MAX_UPLOAD });
    try {
      const session = await expectJson<Opened>(
        await t.app.request('/api/admin/upload-sessions', {
          method: 'POST',
          headers: admin({ 'Content-Type': 'application/json', Origin: 'https://admin.example' }),
          body: JSON.stringify({ name: 'a.png', size: 1_000_000 }),
        }),
        201,
      );
      expect(
        session.sessionUrl.startsWith(`${emulator.endpoint}/upload/storage/v1/b/uploads-cors/o?`),
      ).toBe(true);
      expect(session.chunkBytes).toBe(8 * 1024 * 1024);
      const preflight = (origin: string) =>
        fetch(session.sessionUrl, {
          method: 'OPTIONS',
          headers: { Origin: origin, 'Access-Control-Request-Method': 'PUT' },
        });
      const allowed = await preflight('https://admin.example');
      expect(allowed.headers.get('access-control-allow-origin')).toBe('https://admin.example');
      const other = await preflight('https://evil.example');
      expect(other.headers.get('access-control-allow-origin')).toBeNull();
    } finally {
      t.cleanup();
    }
  });
});
