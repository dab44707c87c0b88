/**
 * The ObjectStore contract: one suite every adapter passes (fs.test.ts runs it
 * on a temp folder, gcs.test.ts against the GCS emulator). Each test works
 * under its own random prefix, so one store serves the whole suite.
 */
import { createHash, randomUUID } from 'node:crypto';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { AppError } from '@slideshow/runtime';
import { beforeAll, describe, expect, it } from 'vitest';
import { listDelimiterTests } from './list-delimiter.contract.ts';
import { listStartAfterTests } from './list-start-after.contract.ts';
import type { ObjectStore } from './object-store.ts';
import {
  appErrorOf,
  collect,
  exposeGc,
  generatedStream,
  readAll,
  sha256,
} from './testing/test-streams.ts';

/** What an adapter's test hands to {@link runObjectStoreContract}. */
export interface ContractSubject {
  store: ObjectStore;
  /**
   * Most bytes the adapter may hold in memory during the 20 MB streamed put.
   * Leave undefined when the storage server runs in the same process (the GCS
   * emulator buffers request bodies), where the figure would measure the server.
   */
  maxBufferedBytes?: number;
}

/** What the tests of one adapter share: the subject (set in beforeAll) and a fresh key prefix per test. */
export interface SuiteContext {
  subject: ContractSubject;
  prefix(): string;
}

/** Registers the ObjectStore contract tests for one adapter. */
export function runObjectStoreContract(
  name: string,
  factory: () => Promise<ContractSubject> | ContractSubject,
): void {
  describe(`ObjectStore contract: ${name}`, () => {
    const ctx = { prefix: () => `contract-${randomUUID()}/` } as SuiteContext;
    beforeAll(async () => {
      ctx.subject = await factory();
    });
    roundTripTests(ctx);
    listAndOverwriteTests(ctx);
    listDelimiterTests(ctx);
    listStartAfterTests(ctx);
    failedPutTests(ctx);
    deleteTests(ctx);
    boundedMemoryTest(ctx);
  });
}

/** Round trips, missing keys and byte ranges. */
function roundTripTests(ctx: SuiteContext): void {
  it('round-trips a Buffer with its content type and cache control', async () => {
    const key = `${ctx.prefix()}photo.webp`;
    const body = Buffer.from('not really a webp, but bytes are bytes');
    const info = await ctx.subject.store.put(key, body, {
      contentType: 'image/webp',
      cacheControl: 'public, max-age=31536000, immutable',
    });
    expect(info).toMatchObject({
      key,
      bytes: body.length,
      contentType: 'image/webp',
      cacheControl: 'public, max-age=31536000, immutable',
    });
    expect(info.updated).toBeInstanceOf(Date);
    expect(await readAll(await ctx.subject.store.get(key))).toEqual(body);
    expect(await ctx.subject.store.stat(key)).toMatchObject({
      key,
      bytes: body.length,
      contentType: 'image/webp',
      cacheControl: 'public, max-age=31536000, immutable',
    });
  });

  it('round-trips a multi-chunk stream without a size hint', async () => {
    const key = `${ctx.prefix()}streamed.bin`;
    const { stream, digest } = generatedStream(300_000, { chunkSize: 7_000 });
    const info = await ctx.subject.store.put(key, stream, {
      contentType: 'application/octet-stream',
    });
    expect(info.bytes).toBe(300_000);
    expect(info.cacheControl).toBeUndefined();
    expect(sha256(await readAll(await ctx.subject.store.get(key)))).toBe(digest());
  });

  it('reports a missing key as undefined from stat and NOT_FOUND from get', async () => {
    const key = `${ctx.prefix()}missing.jpg`;
    expect(await ctx.subject.store.stat(key)).toBeUndefined();
    const error = await appErrorOf(ctx.subject.store.get(key));
    expect(error.code).toBe('NOT_FOUND');
    expect(error.retryable).toBe(false);
  });

  it('stores an empty object', async () => {
    const key = `${ctx.prefix()}empty.txt`;
    expect(
      (await ctx.subject.store.put(key, Buffer.alloc(0), { contentType: 'text/plain' })).bytes,
    ).toBe(0);
    expect(await readAll(await ctx.subject.store.get(key))).toEqual(Buffer.alloc(0));
    expect(await ctx.subject.store.stat(key)).toMatchObject({
      bytes: 0,
      contentType: 'text/plain',
    });
  });

  it('treats a key that is only a prefix of other keys as missing', async () => {
    const base = ctx.prefix();
    await ctx.subject.store.put(`${base}folder/child.txt`, Buffer.from('child'), {
      contentType: 'text/plain',
    });
    expect(await ctx.subject.store.stat(`${base}folder`)).toBeUndefined();
    expect((await appErrorOf(ctx.subject.store.get(`${base}folder`))).code).toBe('NOT_FOUND');
    await ctx.subject.store.delete(`${base}folder`);
    expect(await ctx.subject.store.stat(`${base}folder/child.txt`)).toBeDefined();
  });

  it('returns inclusive byte ranges', async () => {
    const key = `${ctx.prefix()}digits.txt`;
    await ctx.subject.store.put(key, Buffer.from('0123456789'), { contentType: 'text/plain' });
    expect((await readAll(await ctx.subject.store.get(key, { start: 2, end: 5 }))).toString()).toBe(
      '2345',
    );
    expect((await readAll(await ctx.subject.store.get(key, { start: 7 }))).toString()).toBe('789');
    expect((await readAll(await ctx.subject.store.get(key, { end: 1 }))).toString()).toBe('01');
    expect(
      (await readAll(await ctx.subject.store.get(key, { start: 8, end: 100 }))).toString(),
    ).toBe('89');
  });

  it('refuses a range whose end comes before its start', async () => {
    const key = `${ctx.prefix()}digits.txt`;
    await ctx.subject.store.put(key, Buffer.from('0123456789'), { contentType: 'text/plain' });
    expect((await appErrorOf(ctx.subject.store.get(key, { start: 5, end: 2 }))).code).toBe(
      'VALIDATION_FAILED',
    );
    expect((await appErrorOf(ctx.subject.store.get(key, { start: -1 }))).code).toBe(
      'VALIDATION_FAILED',
    );
  });
}

/** Listing in pages, and overwrites readers see whole. */
function listAndOverwriteTests(ctx: SuiteContext): void {
  it('lists every object under a string prefix in key order, across several pages', async () => {
    const base = ctx.prefix();
    const keys = [
      'a/1.jpg',
      'a/2.jpg',
      'a/sub/3.jpg',
      'ab.jpg',
      'abc/4.jpg',
      'b/5.jpg',
      'a-z.jpg',
    ].map((k) => base + k);
    for (const key of keys)
      await ctx.subject.store.put(key, Buffer.from(key), {
        contentType: 'image/jpeg',
        cacheControl: 'no-store',
      });
    const all = await collect(ctx.subject.store.list(base));
    expect(all.map((i) => i.key)).toEqual([...keys].sort());
    expect(all[0]).toMatchObject({
      bytes: Buffer.byteLength(all[0]!.key),
      contentType: 'image/jpeg',
      cacheControl: 'no-store',
    });
    expect((await collect(ctx.subject.store.list(`${base}a/`))).map((i) => i.key)).toEqual([
      `${base}a/1.jpg`,
      `${base}a/2.jpg`,
      `${base}a/sub/3.jpg`,
    ]);
    expect((await collect(ctx.subject.store.list(`${base}ab`))).map((i) => i.key)).toEqual([
      `${base}ab.jpg`,
      `${base}abc/4.jpg`,
    ]);
    expect(await collect(ctx.subject.store.list(`${base}nothing-here/`))).toEqual([]);
  });

  it('overwrites an object with new bytes and new metadata', async () => {
    const key = `${ctx.prefix()}replaced.png`;
    await ctx.subject.store.put(key, Buffer.from('old'), {
      contentType: 'image/png',
      cacheControl: 'no-cache',
    });
    await ctx.subject.store.put(key, Buffer.from('newer'), { contentType: 'image/avif' });
    expect((await readAll(await ctx.subject.store.get(key))).toString()).toBe('newer');
    const info = await ctx.subject.store.stat(key);
    expect(info).toMatchObject({ bytes: 5, contentType: 'image/avif' });
    expect(info?.cacheControl).toBeUndefined();
  });

  it('lets readers see only the whole old or the whole new bytes while an overwrite streams in', async () => {
    const key = `${ctx.prefix()}atomic.bin`;
    const size = 1024 * 1024;
    await ctx.subject.store.put(key, Buffer.alloc(size, 'a'), {
      contentType: 'application/octet-stream',
    });
    const { stream } = generatedStream(size, { chunkSize: 16 * 1024 });
    const slow = stream.map(async (chunk: Buffer) => {
      await yieldToLoop();
      return Buffer.alloc(chunk.length, 'b');
    });
    let settled = false;
    const writing = ctx.subject.store
      .put(key, slow, { contentType: 'application/octet-stream' })
      .finally(() => {
        settled = true;
      });
    const seen = new Set<string>();
    for (let reads = 0; reads < 40 && !settled; reads++) {
      const bytes = await readAll(await ctx.subject.store.get(key));
      expect(bytes.length).toBe(size);
      const first = String.fromCharCode(bytes[0]!);
      expect(bytes.every((b) => b === bytes[0])).toBe(true);
      seen.add(first);
    }
    await writing;
    expect([...seen].every((c) => c === 'a' || c === 'b')).toBe(true);
    expect(
      (await readAll(await ctx.subject.store.get(key))).every((b) => b === 'b'.charCodeAt(0)),
    ).toBe(true);
  });
}

/** Puts that fail or are aborted leave nothing behind. */
function failedPutTests(ctx: SuiteContext): void {
  it('leaves no object behind when the source stream fails, and keeps an older one intact', async () => {
    const base = ctx.prefix();
    const fresh = generatedStream(2 * 1024 * 1024, { failAfter: 512 * 1024 });
    await expect(
      ctx.subject.store.put(`${base}fresh.bin`, fresh.stream, {
        contentType: 'application/octet-stream',
      }),
    ).rejects.toThrow('source failed mid-stream');
    expect(await ctx.subject.store.stat(`${base}fresh.bin`)).toBeUndefined();

    await ctx.subject.store.put(`${base}kept.bin`, Buffer.from('original'), {
      contentType: 'text/plain',
    });
    const failing = generatedStream(2 * 1024 * 1024, { failAfter: 512 * 1024 });
    await expect(
      ctx.subject.store.put(`${base}kept.bin`, failing.stream, {
        contentType: 'application/octet-stream',
      }),
    ).rejects.toThrow('source failed mid-stream');
    expect((await readAll(await ctx.subject.store.get(`${base}kept.bin`))).toString()).toBe(
      'original',
    );
    expect(await ctx.subject.store.stat(`${base}kept.bin`)).toMatchObject({
      contentType: 'text/plain',
      bytes: 8,
    });
    expect((await collect(ctx.subject.store.list(base))).map((i) => i.key)).toEqual([
      `${base}kept.bin`,
    ]);
  });

  it("rejects with the source stream's own AppError, not a storage failure", async () => {
    const key = `${ctx.prefix()}limited.bin`;
    const { stream } = generatedStream(2 * 1024 * 1024);
    let seen = 0;
    const limited = stream.map((chunk: Buffer) => {
      seen += chunk.length;
      if (seen > 256 * 1024) throw new AppError('PAYLOAD_TOO_LARGE', 'body over 256 KiB');
      return chunk;
    });
    const error = await appErrorOf(
      ctx.subject.store.put(key, limited, { contentType: 'application/octet-stream' }),
    );
    expect(error.code).toBe('PAYLOAD_TOO_LARGE');
    expect(await ctx.subject.store.stat(key)).toBeUndefined();
  });

  it('leaves no object behind when the put is aborted mid-stream', async () => {
    const key = `${ctx.prefix()}aborted.bin`;
    const controller = new AbortController();
    const { stream } = generatedStream(4 * 1024 * 1024, {
      onChunk: (produced) => {
        if (produced >= 1024 * 1024) controller.abort(new Error('client went away'));
      },
    });
    await expect(
      ctx.subject.store.put(key, stream, {
        contentType: 'application/octet-stream',
        signal: controller.signal,
      }),
    ).rejects.toThrow('client went away');
    expect(await ctx.subject.store.stat(key)).toBeUndefined();
  });
}

/** Deletion of one key and of a prefix; prefixes refused. */
function deleteTests(ctx: SuiteContext): void {
  it('deletes idempotently', async () => {
    const key = `${ctx.prefix()}gone.gif`;
    await ctx.subject.store.put(key, Buffer.from('GIF89a'), { contentType: 'image/gif' });
    await ctx.subject.store.delete(key);
    expect(await ctx.subject.store.stat(key)).toBeUndefined();
    await expect(ctx.subject.store.delete(key)).resolves.toBeUndefined();
  });

  it('deletes everything under a prefix (across pages) and nothing else, returning the count', async () => {
    const base = ctx.prefix();
    for (const k of ['x/1', 'x/2', 'x/deep/3', 'x/4', 'x/5', 'xy', 'y/4'])
      await ctx.subject.store.put(base + k, Buffer.from(k), { contentType: 'text/plain' });
    expect(await ctx.subject.store.deletePrefix(`${base}x/`)).toBe(5);
    expect((await collect(ctx.subject.store.list(base))).map((i) => i.key)).toEqual([
      `${base}xy`,
      `${base}y/4`,
    ]);
    expect(await ctx.subject.store.deletePrefix(`${base}x/`)).toBe(0);
  });

  it.each([
    ['a parent-directory segment', '../escape.txt'],
    ['a nested parent-directory segment', 'images/../../escape.txt'],
    ['an absolute path', '/etc/passwd'],
    ['a NUL byte', 'images/a\u0000b.jpg'],
    ['a backslash', 'images\\..\\escape.txt'],
    ['a control character', 'images/a\nb.jpg'],
    ['an empty key', ''],
    ['an empty segment', 'images//a.jpg'],
    ['a key over 1024 bytes', `images/${'é'.repeat(510)}.jpg`],
  ])('refuses a key with %s in every method', async (_label, key) => {
    const attempts: Array<Promise<unknown>> = [
      ctx.subject.store.put(key, Buffer.from('x'), { contentType: 'text/plain' }),
      ctx.subject.store.get(key),
      ctx.subject.store.stat(key),
      ctx.subject.store.delete(key),
    ];
    for (const attempt of attempts)
      expect((await appErrorOf(attempt)).code).toBe('VALIDATION_FAILED');
  });

  it.each(['../', '/', '/images/', 'a//'])(
    'refuses to list or delete under the prefix %j',
    async (bad) => {
      const listing = (async () => {
        for await (const info of ctx.subject.store.list(bad))
          expect.unreachable(`listed ${info.key}`);
      })();
      expect((await appErrorOf(listing)).code).toBe('VALIDATION_FAILED');
      expect((await appErrorOf(ctx.subject.store.deletePrefix(bad))).code).toBe(
        'VALIDATION_FAILED',
      );
    },
  );
}

/** A large streamed body in and out with bounded memory. */
function boundedMemoryTest(ctx: SuiteContext): void {
  it('streams a 20 MB body in and out with bounded memory', async () => {
    const key = `${ctx.prefix()}large.bin`;
    const total = 20 * 1024 * 1024;
    const gc = ctx.subject.maxBufferedBytes === undefined ? undefined : exposeGc();
    gc?.();
    const baseline = process.memoryUsage().arrayBuffers;
    let peak = 0;
    const { stream, digest } = generatedStream(total, {
      chunkSize: 256 * 1024,
      onChunk: (produced) => {
        if (gc && produced % (2 * 1024 * 1024) === 0) {
          gc();
          peak = Math.max(peak, process.memoryUsage().arrayBuffers - baseline);
        }
      },
    });
    const info = await ctx.subject.store.put(key, stream, {
      contentType: 'application/octet-stream',
      size: total,
    });
    expect(info.bytes).toBe(total);
    const readBack = createHash('sha256');
    let read = 0;
    for await (const chunk of await ctx.subject.store.get(key)) {
      readBack.update(chunk as Buffer);
      read += (chunk as Buffer).length;
    }
    expect(read).toBe(total);
    expect(readBack.digest('hex')).toBe(digest());
    if (ctx.subject.maxBufferedBytes !== undefined)
      expect(peak).toBeLessThan(ctx.subject.maxBufferedBytes);
  });
}
