/**
 * Request bodies are bounded before they are read (docs/security.md, "Production
 * backend"): every route that takes a body — enumerated from the app's routes
 * table, so a new route is covered by default — answers 413 PAYLOAD_TOO_LARGE to
 * a body over its limit, whether the size is declared up front (Content-Length)
 * or only discovered while streaming (chunked), and the test process's RSS stays
 * far below the body size; malformed JSON answers 400 with a code, never 500.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SLIDESHOW_LENGTH } from '../src/db/library-repository.ts';
import { BODY_LIMITS } from '../src/request-body.ts';
import { admin, callback, expectJson, makeApp, type TestApp, uploadPng } from './helpers.ts';
import {
  expectRefused,
  type Route,
  routesUnder,
  snapshotDatabase,
} from './hostile-callers-checks.ts';

/** Size of each oversized body: far above every limit, far above the RSS bound. */
const HUGE = 160 * 1024 * 1024;
/** RSS growth allowed while the oversized bodies are refused. */
const RSS_BOUND = 48 * 1024 * 1024;
const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * A body of `total` bytes made on demand, each chunk a fresh allocation (so a
 * server that buffered it would really hold `total` bytes), and a counter of
 * what the server pulled.
 */
function lazyBody(total: number) {
  let produced = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (produced >= total) {
        controller.close();
        return;
      }
      const size = Math.min(256 * 1024, total - produced);
      produced += size;
      controller.enqueue(new Uint8Array(Buffer.alloc(size, 0x61)));
    },
  });
  return { stream, pulled: () => produced };
}

function rss(): number {
  globalThis.gc?.();
  return process.memoryUsage().rss;
}

describe('request body limits', () => {
  let t: TestApp;
  let id: string;
  let routes: Route[];
  const concrete = (path: string) => path.replace(':id', id);
  const headersFor = (path: string, extra: Record<string, string> = {}) =>
    path.startsWith('/api/processing/')
      ? callback(extra)
      : path.startsWith('/api/admin/login') || path.startsWith('/api/admin/logout')
        ? { 'Content-Type': 'application/json', ...extra }
        : admin({ 'Content-Type': 'application/json', ...extra });

  beforeAll(async () => {
    t = await makeApp();
    id = await uploadPng(t, 1);
    routes = routesUnder(t, ['/']).filter(
      (r) => BODY_METHODS.has(r.method) && r.path !== '/api/admin/upload',
    );
  });
  afterAll(() => t.cleanup());

  it('finds the routes that take a body in the routes table', () => {
    expect(routes.map((r) => `${r.method} ${r.path}`).sort()).toEqual(
      expect.arrayContaining([
        'POST /api/admin/login',
        'POST /api/admin/logout',
        'POST /api/admin/ingest',
        'POST /api/admin/failed-tasks/retry',
        'POST /api/admin/images/:id/retry',
        'DELETE /api/admin/images/:id',
        'POST /api/admin/images/lookup',
        'PATCH /api/admin/images/:id',
        'POST /api/admin/images/bulk',
        'PUT /api/admin/slideshow/order',
        'POST /api/admin/queues/:queue/pause',
        'POST /api/admin/queues/:queue/resume',
        'DELETE /api/admin/uploads/:uploadId',
        'POST /api/processing/:id/started',
        'POST /api/processing/:id/complete',
        'POST /api/processing/:id/failed',
        'POST /api/admin/upload-sessions',
        'POST /api/admin/upload-sessions/:id/complete',
        'DELETE /api/admin/upload-sessions/:id',
        'PUT /api/upload-sessions/:token',
      ]),
    );
  });

  it('has one small limit per kind of route, far below the memory of one instance', () => {
    for (const [name, limit] of Object.entries(BODY_LIMITS)) {
      expect(limit, name).toBeGreaterThan(0);
      expect(limit, name).toBeLessThanOrEqual(2 * 1024 * 1024);
    }
  });

  it('refuses a declared oversized body on every route with 413 before reading a byte of it', async () => {
    const before = rss();
    for (const route of routes) {
      const what = `${route.method} ${route.path} with Content-Length`;
      const body = lazyBody(HUGE);
      const db = snapshotDatabase(t);
      const response = await t.app.request(concrete(route.path), {
        method: route.method,
        headers: headersFor(route.path, { 'Content-Length': String(HUGE) }),
        body: body.stream,
        duplex: 'half',
      } as RequestInit);
      await expectRefused(response, 413, 'PAYLOAD_TOO_LARGE', what);
      expect(body.pulled(), what).toBeLessThanOrEqual(512 * 1024);
      expect(snapshotDatabase(t), what).toBe(db);
    }
    expect(rss() - before).toBeLessThan(RSS_BOUND);
  });

  it('refuses a streamed (chunked) oversized body on every route with 413, reading only up to the limit', async () => {
    const before = rss();
    for (const route of routes) {
      const what = `${route.method} ${route.path} chunked`;
      const body = lazyBody(HUGE);
      const db = snapshotDatabase(t);
      const response = await t.app.request(concrete(route.path), {
        method: route.method,
        headers: headersFor(route.path),
        body: body.stream,
        duplex: 'half',
      } as RequestInit);
      await expectRefused(response, 413, 'PAYLOAD_TOO_LARGE', what);
      expect(body.pulled(), what).toBeLessThan(4 * 1024 * 1024);
      expect(snapshotDatabase(t), what).toBe(db);
    }
    expect(rss() - before).toBeLessThan(RSS_BOUND);
  });

  it('answers malformed JSON with 400 VALIDATION_FAILED on every JSON route, never 500', async () => {
    const jsonRoutes = routes.filter(
      (r) =>
        /\/(login|ingest|failed-tasks\/retry|started|complete|failed|lookup|bulk|order|upload-sessions)$/.test(
          r.path,
        ) ||
        (r.method === 'PATCH' && r.path === '/api/admin/images/:id'),
    );
    expect(jsonRoutes).toHaveLength(12);
    for (const route of jsonRoutes) {
      for (const text of ['{not json', '{"a":', '\u0000', '[1,2', '"unterminated']) {
        const what = `${route.method} ${route.path} with ${JSON.stringify(text)}`;
        const response = await t.app.request(concrete(route.path), {
          method: route.method,
          headers: headersFor(route.path),
          body: text,
        });
        await expectRefused(response, 400, 'VALIDATION_FAILED', what);
      }
    }
  });

  it('still accepts bodies within the limits', async () => {
    const ingest = await t.app.request('/api/admin/ingest', {
      method: 'POST',
      headers: admin({ 'Content-Type': 'application/json' }),
      body: JSON.stringify({
        keys: Array.from({ length: 1000 }, (_, i) => `in/${'k'.repeat(1000)}${i}`),
      }),
    });
    const { images } = await expectJson<{ images: unknown[] }>(ingest, 202);
    expect(images).toHaveLength(1000);
    const retry = await t.app.request('/api/admin/failed-tasks/retry', {
      method: 'POST',
      headers: admin(),
    });
    await expectJson(retry, 202);
    // The media library's largest legitimate bodies (library.ts limits), each above adminSmall.
    // Distinct well-formed ids (i in base32, left-padded with its zero digit), none an existing image.
    const ids = (n: number) =>
      Array.from({ length: n }, (_, i) => {
        const digits = [...i.toString(32)].map(
          (d) => 'abcdefghijklmnopqrstuvwxyz234567'[parseInt(d, 32)],
        );
        return `img_${digits.join('').padStart(26, 'a')}`;
      });
    const lookup = JSON.stringify({
      ids: ids(500),
      sha256: ids(500).map((_, i) => i.toString(16).padStart(64, '0')),
    });
    const bulk = JSON.stringify({ action: 'hide', ids: ids(500) });
    // Every character escaped as a surrogate pair (12 bytes), at each field's limit.
    const escaped = (n: number) => `"${'\\ud83d\\ude00'.repeat(n)}"`;
    const describe = `{"title":${escaped(200)},"caption":${escaped(2000)},"altText":${escaped(1000)}}`;
    const order = JSON.stringify({ ids: ids(SLIDESHOW_LENGTH) });
    for (const [method, path, body, limit] of [
      ['POST', '/api/admin/images/lookup', lookup, BODY_LIMITS.library],
      ['POST', '/api/admin/images/bulk', bulk, BODY_LIMITS.library],
      ['PATCH', `/api/admin/images/${id}`, describe, BODY_LIMITS.library],
      ['PUT', '/api/admin/slideshow/order', order, BODY_LIMITS.slideshowOrder],
    ] as const) {
      expect(Buffer.byteLength(body), path).toBeGreaterThan(BODY_LIMITS.adminSmall);
      expect(Buffer.byteLength(body), path).toBeLessThanOrEqual(limit);
      const response = await t.app.request(path, {
        method,
        headers: admin({ 'Content-Type': 'application/json' }),
        body,
      });
      await expectJson(response, 200);
    }
  });
});
