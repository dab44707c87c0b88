/**
 * A method no route takes at a path that routes take with other methods is
 * 405 METHOD_NOT_ALLOWED with `Allow` (app.ts), not "no such route"; a path
 * no route takes stays 404. Admin paths ask for an admin first, so a caller
 * without credentials learns nothing new. There is no CORS: OPTIONS is
 * answered like any other method no route takes, without Access-Control-*.
 */
import { ErrorAnswer } from '@slideshow/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin, expectAnswer, makeApp, type TestApp } from './helpers.ts';

describe('methods a path does not take', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await makeApp();
  });
  afterAll(() => t.cleanup());

  /** The 405 for `method` on `path`, checked against the error contract; returns its `Allow`. */
  async function notAllowed(
    method: string,
    path: string,
    headers: Record<string, string> = admin(),
  ) {
    const response = await t.app.request(path, { method, headers });
    const body = await expectAnswer(ErrorAnswer, response, 405);
    expect(body.error.code).toBe('METHOD_NOT_ALLOWED');
    expect(body.error.message).toContain(`${method} is not allowed on ${path}`);
    return response.headers.get('allow');
  }

  it('answers 405 with Allow to a wrong method on an admin route, and on a public one', async () => {
    expect(await notAllowed('DELETE', '/api/admin/images')).toBe('GET, HEAD');
    expect(await notAllowed('PUT', '/api/admin/images')).toBe('GET, HEAD');
    expect(await notAllowed('GET', '/api/admin/upload')).toBe('POST');
    expect(await notAllowed('POST', '/healthz', {})).toBe('GET, HEAD');
    expect(await notAllowed('POST', '/api/images/img_aaaaaaaaaaaaaaaaaaaaaaaaaa')).toBe(
      'GET, HEAD',
    );
    expect(await notAllowed('GET', '/api/admin/images/img_aaaaaaaaaaaaaaaaaaaaaaaaaa')).toBe(
      'PATCH, DELETE',
    );
  });

  it('answers OPTIONS with 405 and no CORS headers', async () => {
    const response = await t.app.request('/api/admin/images', {
      method: 'OPTIONS',
      headers: admin({ Origin: 'https://elsewhere.example' }),
    });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('GET, HEAD');
    const cors = [...response.headers.keys()].filter((name) => name.startsWith('access-control-'));
    expect(cors).toEqual([]);
  });

  it('asks for an admin before it says which methods an admin path takes', async () => {
    const response = await t.app.request('/api/admin/images', { method: 'DELETE' });
    const body = await expectAnswer(ErrorAnswer, response, 401);
    expect(body.error.code).toBe('UNAUTHENTICATED');
    expect(response.headers.get('allow')).toBeNull();
  });

  it('keeps 404 for a path no route takes, and for a route that found nothing', async () => {
    for (const [method, path] of [
      ['GET', '/api/nothing-here'],
      ['DELETE', '/nothing-here'],
      ['GET', '/assets/no-such-file.js'],
    ] as const) {
      const response = await t.app.request(path, { method });
      const body = await expectAnswer(ErrorAnswer, response, 404);
      expect(body.error.code).toBe('NOT_FOUND');
      expect(response.headers.get('allow')).toBeNull();
    }
    // HEAD is taken wherever GET is.
    expect((await t.app.request('/healthz', { method: 'HEAD' })).status).toBe(200);
  });
});
