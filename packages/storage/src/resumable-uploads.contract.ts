/**
 * The resumable-upload contract (object-store.ts, `ResumableUploads`): one
 * suite both adapters pass — fs.test.ts with the filesystem adapter's session
 * server on loopback, gcs.test.ts against the GCS emulator. The bytes go over
 * HTTP exactly as a browser sends them: `PUT` chunks with `Content-Range` to
 * the session URL, reading `308` + `Range` until the last chunk.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ObjectStore, ResumableUploads } from './object-store.ts';
import { appErrorOf, readAll } from './testing/test-streams.ts';
import { UPLOAD_CHUNK_MULTIPLE } from './upload-range.ts';

/** What an adapter's test hands to {@link runResumableUploadsContract}. */
export interface ResumableContractSubject {
  store: ObjectStore & { uploads: ResumableUploads };
  /** Base URL a relative session URL resolves against (the fs adapter's server); unused for absolute ones. */
  sessionBase: string;
}

/** What the tests of one adapter share: the subject (set in beforeAll), a fresh key, a chunk sender. */
interface SuiteContext {
  subject: ResumableContractSubject;
  key(): string;
  /** PUTs one chunk (or a status query, without a body) to a session URL as a browser does. */
  send(
    url: string,
    contentRange: string,
    body?: Buffer,
  ): Promise<{ status: number; range: string | null; text: string }>;
}

/** The `Content-Range` and bytes of the chunk of `bytes` at `first`, at most `length` long. */
function chunkOf(bytes: Buffer, first: number, length: number): { range: string; body: Buffer } {
  return {
    range: `bytes ${first}-${first + Math.min(length, bytes.length - first) - 1}/${bytes.length}`,
    body: bytes.subarray(first, first + length),
  };
}

/** Registers the resumable-upload contract tests for one adapter. */
export function runResumableUploadsContract(
  name: string,
  factory: () => Promise<ResumableContractSubject> | ResumableContractSubject,
): void {
  describe(`ResumableUploads contract: ${name}`, () => {
    const ctx: SuiteContext = {
      subject: undefined as unknown as ResumableContractSubject,
      key: () => `resumable-${randomUUID()}/original`,
      async send(url, contentRange, body) {
        const response = await fetch(new URL(url, ctx.subject.sessionBase), {
          method: 'PUT',
          headers: { 'Content-Range': contentRange },
          body: body ? new Uint8Array(body) : new Uint8Array(0),
        });
        const text = await response.text();
        return { status: response.status, range: response.headers.get('range'), text };
      },
    };
    beforeAll(async () => {
      ctx.subject = await factory();
    });
    chunkTests(ctx);
    endingTests(ctx);
  });
}

/** Chunks: 308 until the last, status queries and resumption, chunk sizes refused. */
function chunkTests(ctx: SuiteContext): void {
  it('takes the bytes in 256 KiB chunks, answering 308 with the bytes held until the last', async () => {
    const k = ctx.key();
    const bytes = randomBytes(2 * UPLOAD_CHUNK_MULTIPLE + 1000);
    const { url } = await ctx.subject.store.uploads.openUpload(k, {
      contentType: 'image/jpeg',
      size: bytes.length,
    });
    const first = chunkOf(bytes, 0, UPLOAD_CHUNK_MULTIPLE);
    expect(await ctx.send(url, first.range, first.body)).toMatchObject({
      status: 308,
      range: `bytes=0-${UPLOAD_CHUNK_MULTIPLE - 1}`,
    });
    // Nothing is visible until the last byte.
    expect(await ctx.subject.store.stat(k)).toBeUndefined();
    expect(await ctx.subject.store.uploads.uploadStatus(url, bytes.length)).toEqual({
      received: UPLOAD_CHUNK_MULTIPLE,
      complete: false,
    });
    const second = chunkOf(bytes, UPLOAD_CHUNK_MULTIPLE, UPLOAD_CHUNK_MULTIPLE);
    expect((await ctx.send(url, second.range, second.body)).status).toBe(308);
    const last = chunkOf(bytes, 2 * UPLOAD_CHUNK_MULTIPLE, 1000);
    const done = await ctx.send(url, last.range, last.body);
    expect([200, 201], done.text).toContain(done.status);
    expect(await ctx.subject.store.stat(k)).toMatchObject({
      bytes: bytes.length,
      contentType: 'image/jpeg',
    });
    expect(await readAll(await ctx.subject.store.get(k))).toEqual(bytes);
    expect(await ctx.subject.store.uploads.uploadStatus(url, bytes.length)).toEqual({
      received: bytes.length,
      complete: true,
    });
    await ctx.subject.store.uploads.cancelUpload(url);
  });

  it('answers a status query, and takes a chunk again from where it stands (a dropped connection)', async () => {
    const k = ctx.key();
    const bytes = randomBytes(3 * UPLOAD_CHUNK_MULTIPLE);
    const { url } = await ctx.subject.store.uploads.openUpload(k, {
      contentType: 'image/png',
      size: bytes.length,
    });
    expect(await ctx.send(url, `bytes */${bytes.length}`)).toMatchObject({
      status: 308,
      range: null,
    });
    const first = chunkOf(bytes, 0, UPLOAD_CHUNK_MULTIPLE);
    await ctx.send(url, first.range, first.body);
    expect(await ctx.send(url, `bytes */${bytes.length}`)).toMatchObject({
      status: 308,
      range: `bytes=0-${UPLOAD_CHUNK_MULTIPLE - 1}`,
    });
    // The answer to the second chunk was lost: the client sends it again.
    const second = chunkOf(bytes, UPLOAD_CHUNK_MULTIPLE, UPLOAD_CHUNK_MULTIPLE);
    await ctx.send(url, second.range, second.body);
    expect((await ctx.send(url, second.range, second.body)).status).toBe(308);
    const last = chunkOf(bytes, 2 * UPLOAD_CHUNK_MULTIPLE, UPLOAD_CHUNK_MULTIPLE);
    expect([200, 201]).toContain((await ctx.send(url, last.range, last.body)).status);
    expect(await readAll(await ctx.subject.store.get(k))).toEqual(bytes);
    await ctx.subject.store.uploads.cancelUpload(url);
  });

  it('refuses a chunk that is not a multiple of 256 KiB unless it is the last, and bytes past the size', async () => {
    const k = ctx.key();
    const bytes = randomBytes(UPLOAD_CHUNK_MULTIPLE + 10);
    const { url } = await ctx.subject.store.uploads.openUpload(k, {
      contentType: 'image/png',
      size: bytes.length,
    });
    expect(
      (await ctx.send(url, `bytes 0-999/${bytes.length}`, bytes.subarray(0, 1000))).status,
    ).toBe(400);
    expect(
      (
        await ctx.send(
          url,
          `bytes 0-${bytes.length}/${bytes.length + 1}`,
          Buffer.concat([bytes, Buffer.from('x')]),
        )
      ).status,
    ).toBe(400);
    expect(await ctx.subject.store.uploads.uploadStatus(url, bytes.length)).toEqual({
      received: 0,
      complete: false,
    });
    expect(await ctx.subject.store.stat(k)).toBeUndefined();
    await ctx.subject.store.uploads.cancelUpload(url);
  });
}

/** Cancelling, and never replacing an object that exists. */
function endingTests(ctx: SuiteContext): void {
  it('takes nothing more once cancelled and leaves no object; cancelling again is no error', async () => {
    const k = ctx.key();
    const bytes = randomBytes(UPLOAD_CHUNK_MULTIPLE + 1);
    const { url } = await ctx.subject.store.uploads.openUpload(k, {
      contentType: 'image/png',
      size: bytes.length,
    });
    const first = chunkOf(bytes, 0, UPLOAD_CHUNK_MULTIPLE);
    await ctx.send(url, first.range, first.body);
    await ctx.subject.store.uploads.cancelUpload(url);
    await ctx.subject.store.uploads.cancelUpload(url);
    const last = chunkOf(bytes, UPLOAD_CHUNK_MULTIPLE, 1);
    expect((await ctx.send(url, last.range, last.body)).status).toBe(404);
    expect(await ctx.subject.store.stat(k)).toBeUndefined();
    expect((await appErrorOf(ctx.subject.store.uploads.uploadStatus(url, bytes.length))).code).toBe(
      'NOT_FOUND',
    );
  });

  it('never replaces an object that exists', async () => {
    const k = ctx.key();
    await ctx.subject.store.put(k, Buffer.from('the first'), { contentType: 'text/plain' });
    const bytes = Buffer.from('a second, sneaky');
    let refused = false;
    try {
      const { url } = await ctx.subject.store.uploads.openUpload(k, {
        contentType: 'text/plain',
        size: bytes.length,
      });
      const answer = await ctx.send(url, `bytes 0-${bytes.length - 1}/${bytes.length}`, bytes);
      refused = answer.status >= 400;
    } catch (error) {
      refused = (error as { code?: string }).code !== undefined;
    }
    expect(refused).toBe(true);
    expect((await readAll(await ctx.subject.store.get(k))).toString()).toBe('the first');
  });
}
