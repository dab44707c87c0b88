/**
 * The backend's `request` log line names the image of an image's route under
 * `imageId` (src/request-image.ts), as every other line on the image's way does,
 * so a filter on `jsonPayload.imageId` (docs/operations.md, "Monitoring") finds
 * the processor's callbacks and the admin's requests on it too — a refused one
 * included. An id in another route (an upload session's) names no image.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBackend, type TestBackend } from '../src/testing/test-backend.ts';
import { admin, makeApp, makePng, memoryLogger } from './helpers.ts';

type Line = Record<string, unknown>;

/** A well-formed image id that no image has. */
const NO_IMAGE = `img_${'a'.repeat(26)}`;

describe("the request log line over HTTP, on an image's routes", () => {
  let backend: TestBackend;
  let lines: Line[];
  let id: string;

  beforeAll(async () => {
    const memory = memoryLogger();
    lines = memory.lines;
    backend = await startTestBackend({ logger: memory.logger, relay: false });
    ({ id } = await backend.upload(makePng(8, 8, 41), 'request-log.png'));
  });
  afterAll(() => backend?.stop());

  /** Sends one request and returns its `request` line, failing with every line when it is not one. */
  async function requestLine(path: string, init: RequestInit): Promise<Line> {
    const requestId = `request-log-${lines.length}`;
    const headers = new Headers(init.headers);
    headers.set('X-Request-Id', requestId);
    const response = await fetch(`${backend.url}${path}`, { ...init, headers });
    await response.arrayBuffer();
    const found = lines.filter((l) => l.message === 'request' && l.requestId === requestId);
    expect(found, JSON.stringify(lines, null, 1)).toHaveLength(1);
    return found[0] as Line;
  }

  const asCallback = (secret: string) => ({
    Authorization: `Bearer ${secret}`,
    'Content-Type': 'application/json',
  });
  const asAdmin = () => ({ Authorization: `Bearer ${backend.adminToken}` });

  it("names the image on the processor's callbacks, a refused one too", async () => {
    const spec = await requestLine(`/api/processing/${id}`, {
      headers: asCallback(backend.callbackSecret),
    });
    expect(spec).toMatchObject({ path: `/api/processing/${id}`, status: 200, imageId: id });

    const started = await requestLine(`/api/processing/${id}/started`, {
      method: 'POST',
      headers: asCallback(backend.callbackSecret),
      body: JSON.stringify({ generation: 0, attempt: 0 }),
    });
    expect(started).toMatchObject({ path: `/api/processing/${id}/started`, imageId: id });

    const refused = await requestLine(`/api/processing/${id}/failed`, {
      method: 'POST',
      headers: asCallback('not-the-secret-0123456789abcdef0123'),
      body: '{}',
    });
    expect(refused).toMatchObject({ status: 401, imageId: id });
  });

  it("names the image on the admin's image routes", async () => {
    const detail = await requestLine(`/api/images/${id}`, { headers: asAdmin() });
    expect(detail).toMatchObject({ status: 200, imageId: id });
    const timeline = await requestLine(`/api/admin/images/${id}/timeline`, { headers: asAdmin() });
    expect(timeline).toMatchObject({ status: 200, imageId: id });
    const deleted = await requestLine(`/api/admin/images/${id}`, {
      method: 'DELETE',
      headers: asAdmin(),
    });
    expect(deleted).toMatchObject({ status: 200, imageId: id });
  });

  it('names no image where the path holds none, or an id that is not an image', async () => {
    const list = await requestLine('/api/admin/images', { headers: asAdmin() });
    expect(list).not.toHaveProperty('imageId');
    const bulk = await requestLine('/api/admin/images/bulk', {
      method: 'POST',
      headers: { ...asAdmin(), 'Content-Type': 'application/json' },
      body: '{}',
    });
    expect(bulk).not.toHaveProperty('imageId');
    // An upload session's id becomes an image's only if its upload is accepted.
    const session = await requestLine(`/api/admin/upload-sessions/${NO_IMAGE}`, {
      headers: asAdmin(),
    });
    expect(session).not.toHaveProperty('imageId');
  });
});

describe('the request log line on every route with an :id', () => {
  it('names the image exactly on the routes under images/ and processing/', async () => {
    const memory = memoryLogger();
    const t = await makeApp({ logger: memory.logger });
    try {
      // A route's middlewares are listed beside its handler: each method and path once.
      const routes = [
        ...new Set(
          t.app.routes
            .filter((r) => r.method !== 'ALL' && r.path.includes('/:id'))
            .map((r) => `${r.method} ${r.path}`),
        ),
      ];
      const named: string[] = [];
      for (const route of routes) {
        const [method = '', path = ''] = route.split(' ');
        const before = memory.lines.length;
        await t.app.request(path.replace(':id', NO_IMAGE), { method, headers: admin() });
        const line = memory.lines.slice(before).find((l) => l.message === 'request');
        expect(line, route).toBeDefined();
        if (line?.imageId === NO_IMAGE) named.push(route);
      }
      const expected = routes.filter((r) => /\/(images|processing)\/:id/.test(r));
      expect(expected.length).toBeGreaterThanOrEqual(9);
      expect(named.sort()).toEqual(expected.sort());
      expect(routes).toContain('GET /api/admin/upload-sessions/:id');
    } finally {
      t.cleanup();
    }
  });
});
