/**
 * Compression of the text answers (src/compression.ts) through `app.request()`
 * on a real SQLite file and fs store: the slideshow's list and the pages'
 * assets are gzip or Brotli for a client that accepts it and decode to the
 * same bytes; the list's ETag differs between encodings and still earns a 304;
 * image variants and small answers are sent as they are.
 */
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { Hono } from 'hono';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { compression } from '../src/compression.ts';
import { makeApp, makePng, type TestApp } from './helpers.ts';
import { libraryClient } from './library-client.ts';

/** The whole answer, for a failing assertion's message. */
async function describeAnswer(response: Response): Promise<string> {
  return `${response.status} ${JSON.stringify([...response.headers])}`;
}

describe('compressed answers', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await makeApp();
  });
  afterEach(() => t.cleanup());
  const { upload, process } = libraryClient(() => t);

  /** A slideshow of `count` processed images. */
  async function slideshowOf(count: number) {
    for (let i = 0; i < count; i += 1) await process(await upload(`${i}.png`, makePng(8, 8, i)));
  }

  it('sends the slideshow list gzip-compressed, much smaller, decoding to the same JSON', async () => {
    await slideshowOf(8);
    const plain = await t.app.request('/api/slideshow');
    const text = await plain.text();
    expect(plain.headers.get('content-encoding')).toBeNull();
    const gzipped = await t.app.request('/api/slideshow', {
      headers: { 'Accept-Encoding': 'gzip, deflate' },
    });
    const what = await describeAnswer(gzipped);
    expect(gzipped.status, what).toBe(200);
    expect(gzipped.headers.get('content-encoding'), what).toBe('gzip');
    expect(gzipped.headers.get('vary'), what).toMatch(/accept-encoding/i);
    expect(gzipped.headers.get('content-type'), what).toBe('application/json; charset=utf-8');
    const bytes = Buffer.from(await gzipped.arrayBuffer());
    expect(bytes.length).toBeLessThan(text.length / 4);
    expect(JSON.parse(gunzipSync(bytes).toString('utf8'))).toEqual(JSON.parse(text));
  });

  it('prefers Brotli when the client accepts it', async () => {
    await slideshowOf(4);
    const text = await (await t.app.request('/api/slideshow')).text();
    const response = await t.app.request('/api/slideshow', {
      headers: { 'Accept-Encoding': 'gzip, deflate, br, zstd' },
    });
    expect(response.headers.get('content-encoding'), await describeAnswer(response)).toBe('br');
    const decoded = brotliDecompressSync(Buffer.from(await response.arrayBuffer()));
    expect(decoded.toString('utf8')).toBe(text);
  });

  it('gives a compressed list its own (weak) ETag, and answers 304 to it until the list changes', async () => {
    await slideshowOf(4);
    const plainTag = (await t.app.request('/api/slideshow')).headers.get('etag')!;
    expect(plainTag).toMatch(/^"/);
    const gzip = { 'Accept-Encoding': 'gzip' };
    const first = await t.app.request('/api/slideshow', { headers: gzip });
    const tag = first.headers.get('etag')!;
    expect(tag).toBe(`W/${plainTag}`);
    const again = await t.app.request('/api/slideshow', {
      headers: { ...gzip, 'If-None-Match': tag },
    });
    expect(again.status, await describeAnswer(again)).toBe(304);
    expect(again.headers.get('etag')).toBe(tag);
    expect(again.headers.get('content-encoding')).toBeNull();
    expect(await again.text()).toBe('');
    // The uncompressed client keeps its strong tag and its 304.
    const plainAgain = await t.app.request('/api/slideshow', {
      headers: { 'If-None-Match': plainTag },
    });
    expect(plainAgain.status).toBe(304);
    await process(await upload('new.png', makePng(8, 8, 99)));
    const changed = await t.app.request('/api/slideshow', {
      headers: { ...gzip, 'If-None-Match': tag },
    });
    expect(changed.status, await describeAnswer(changed)).toBe(200);
    expect(changed.headers.get('etag')).not.toBe(tag);
  });

  it('compresses the pages and their scripts and stylesheets', async () => {
    for (const path of ['/admin', '/assets/slideshow.js', '/assets/admin.css']) {
      const plain = await (await t.app.request(path)).text();
      const response = await t.app.request(path, { headers: { 'Accept-Encoding': 'gzip' } });
      expect(
        response.headers.get('content-encoding'),
        `${path}: ${await describeAnswer(response)}`,
      ).toBe('gzip');
      expect(gunzipSync(Buffer.from(await response.arrayBuffer())).toString('utf8')).toBe(plain);
    }
  });

  it('gives the pages and their assets an ETag and answers 304 while they are unchanged, plain or compressed', async () => {
    for (const path of ['/', '/admin', '/assets/slideshow.js', '/assets/admin.css']) {
      const first = await t.app.request(path, { headers: { 'Accept-Encoding': 'br' } });
      const tag = first.headers.get('etag');
      expect(tag, `${path}: ${await describeAnswer(first)}`).toMatch(/^W\/"[A-Za-z0-9_-]{27}"$/);
      const plain = await t.app.request(path);
      const strong = plain.headers.get('etag');
      expect(strong, path).toBe(tag?.slice(2));
      for (const held of [tag, strong] as string[]) {
        const again = await t.app.request(path, {
          headers: { 'Accept-Encoding': 'br', 'If-None-Match': held },
        });
        expect(again.status, `${path} with ${held}`).toBe(304);
        // The 304 names the copy the client holds: the compressed one's weak tag.
        expect(again.headers.get('etag'), `${path} with ${held}`).toBe(held);
        expect(again.headers.get('vary'), `${path} with ${held}`).toMatch(/accept-encoding/i);
        expect(await again.text()).toBe('');
      }
      const other = await t.app.request(path, { headers: { 'If-None-Match': '"something-else"' } });
      expect(other.status, path).toBe(200);
    }
  });

  it('compresses an answer with a strong ETag once, then reuses it; never an answer without one', async () => {
    const encoded: string[] = [];
    const app = new Hono();
    app.use('*', compression({ onEncode: (encoding) => encoded.push(encoding) }));
    const text = 'slides '.repeat(400);
    app.get('/tagged', (c) => {
      c.header('ETag', '"v1"');
      c.header('Content-Type', 'text/css; charset=utf-8');
      return c.body(text);
    });
    app.get('/untagged', (c) => {
      c.header('Content-Type', 'text/css; charset=utf-8');
      return c.body(text);
    });
    for (const encoding of ['br', 'br', 'gzip', 'gzip', 'br']) {
      const response = await app.request('/tagged', { headers: { 'Accept-Encoding': encoding } });
      const bytes = Buffer.from(await response.arrayBuffer());
      const decoded = encoding === 'br' ? brotliDecompressSync(bytes) : gunzipSync(bytes);
      expect(decoded.toString('utf8')).toBe(text);
    }
    expect(encoded).toEqual(['br', 'gzip']);
    for (let i = 0; i < 2; i += 1) {
      await app.request('/untagged', { headers: { 'Accept-Encoding': 'gzip' } });
    }
    expect(encoded).toEqual(['br', 'gzip', 'gzip', 'gzip']);
  });

  it('sends image variants and small answers as they are', async () => {
    const bytes = makePng(64, 64, 1);
    await t.store.put('variants/img_x/web-v1/g0/w320.png', bytes, { contentType: 'image/png' });
    const image = await t.app.request('/media/variants/img_x/web-v1/g0/w320.png', {
      headers: { 'Accept-Encoding': 'gzip, br' },
    });
    expect(image.headers.get('content-encoding'), await describeAnswer(image)).toBeNull();
    expect(Buffer.from(await image.arrayBuffer()).equals(bytes)).toBe(true);
    const health = await t.app.request('/healthz', { headers: { 'Accept-Encoding': 'gzip' } });
    expect(health.headers.get('content-encoding')).toBeNull();
    expect(await health.json()).toEqual({ ok: true });
  });
});
