import { Writable } from 'node:stream';
import { signJwt } from '@slideshow/callback-auth/testing/test-tokens';
import { createLogger } from '@slideshow/runtime';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { hashPassword } from '../src/auth/password.ts';
import { createBackend } from '../src/backend.ts';
import { googleCallbackApp } from './google-callbacks.ts';
import {
  ADMIN_TOKEN,
  admin,
  callback,
  expectJson,
  makeApp,
  makePng,
  multipart,
  PASSWORD,
  SECRET,
  type TestApp,
} from './helpers.ts';

type ErrorBody = { error: { code: string; message: string } };
type UploadBody = { images: { id: string; originalName: string }[] };

async function login(t: TestApp) {
  const response = await t.app.request('http://localhost/api/admin/login', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ password: PASSWORD }),
  });
  const { csrfToken } = await expectJson<{ csrfToken: string }>(response, 200);
  return { cookie: (response.headers.get('set-cookie') ?? '').split(';')[0]!, csrfToken };
}

describe('backend security', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await makeApp();
  });
  afterEach(() => t.cleanup());

  it.each([
    ['GET', '/api/admin/images'],
    ['GET', '/api/images/img_aaaaaaaaaaaaaaaaaaaaaaaaaa'],
    ['POST', '/api/admin/upload'],
    ['POST', '/api/admin/failed-tasks/retry'],
    ['DELETE', '/api/admin/images/img_aaaaaaaaaaaaaaaaaaaaaaaaaa'],
  ])('answers 401 to %s %s without a cookie or token', async (method, path) => {
    const body = await expectJson<ErrorBody>(await t.app.request(path, { method }), 401);
    expect(body.error.code).toBe('UNAUTHENTICATED');
  });

  it('answers 401 to a wrong bearer admin token', async () => {
    const response = await t.app.request('/api/admin/images', {
      headers: { Authorization: `Bearer ${ADMIN_TOKEN}x` },
    });
    await expectJson(response, 401);
  });

  it('refuses a wrong password without setting a cookie', async () => {
    const response = await t.app.request('/api/admin/login', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ password: 'guess' }),
    });
    expect((await expectJson<ErrorBody>(response, 401)).error.code).toBe('UNAUTHENTICATED');
    expect(response.headers.get('set-cookie')).toBeNull();
  });

  it('rate-limits login attempts with 429 and Retry-After', async () => {
    const attempt = () =>
      t.app.request('/api/admin/login', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ password: 'guess' }),
      });
    for (let i = 0; i < 5; i++) await expectJson(await attempt(), 401);
    const limited = await attempt();
    expect((await expectJson<ErrorBody>(limited, 429)).error.code).toBe('RATE_LIMITED');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    t.clock.now += 61_000;
    await expectJson(await attempt(), 401);
  });

  it('refuses a cookie-authenticated write without the session token', async () => {
    const { cookie } = await login(t);
    const response = await t.app.request('http://localhost/api/admin/upload', {
      method: 'POST',
      headers: { Cookie: cookie, Origin: 'http://localhost' },
      body: multipart([{ name: 'a.png', bytes: makePng(8, 8, 1) }]),
    });
    expect((await expectJson<ErrorBody>(response, 401)).error.code).toBe('UNAUTHENTICATED');
  });

  // Browsers send a host's cookies to every port of it: a server on another port of 127.0.0.1
  // the admin's browser visits gets `sid`, never the token the page keeps in localStorage.
  it('lets nobody in with the sid cookie alone: 401 on reads and writes, and /session hands out no token', async () => {
    const { cookie, csrfToken } = await login(t);
    const read = await t.app.request('http://localhost/api/admin/images', {
      headers: { Cookie: cookie },
    });
    expect((await expectJson<ErrorBody>(read, 401)).error.code).toBe('UNAUTHENTICATED');
    const detail = await t.app.request('/api/images/img_aaaaaaaaaaaaaaaaaaaaaaaaaa', {
      headers: { Cookie: cookie },
    });
    expect((await expectJson<ErrorBody>(detail, 401)).error.code).toBe('UNAUTHENTICATED');
    const asked = await t.app.request('http://localhost/api/admin/session', {
      headers: { Cookie: cookie },
    });
    expect(await expectJson(asked, 200)).toEqual({ authenticated: false, csrfToken: null });
    // Another session's token does not fit this cookie either.
    const other = await login(t);
    const mixed = await t.app.request('http://localhost/api/admin/images', {
      headers: { Cookie: cookie, 'X-CSRF-Token': other.csrfToken },
    });
    expect((await expectJson<ErrorBody>(mixed, 401)).error.code).toBe('UNAUTHENTICATED');
    // The cookie alone does not end the session either; both do.
    await expectJson(
      await t.app.request('http://localhost/api/admin/logout', {
        method: 'POST',
        headers: { Cookie: cookie },
      }),
      200,
    );
    const both = { Cookie: cookie, 'X-CSRF-Token': csrfToken };
    await expectJson(await t.app.request('/api/admin/images', { headers: both }), 200);
    expect(
      await expectJson(await t.app.request('/api/admin/session', { headers: both }), 200),
    ).toEqual({ authenticated: true, csrfToken });
  });

  it('refuses a cross-origin cookie write even with the right CSRF token', async () => {
    const { cookie, csrfToken } = await login(t);
    for (const headers of [
      { Origin: 'https://evil.example' },
      { Origin: 'null' },
      { 'Sec-Fetch-Site': 'cross-site' },
      {},
    ]) {
      const response = await t.app.request('http://localhost/api/admin/failed-tasks/retry', {
        method: 'POST',
        headers: { Cookie: cookie, 'X-CSRF-Token': csrfToken, ...headers },
      });
      expect((await expectJson<ErrorBody>(response, 403)).error.code).toBe('CSRF_REJECTED');
    }
  });

  it('refuses a cross-origin login, and one a browser says another site made without Origin', async () => {
    for (const headers of [
      { Origin: 'https://evil.example' },
      { 'Sec-Fetch-Site': 'cross-site' },
      { 'Sec-Fetch-Site': 'same-site' },
    ]) {
      const response = await t.app.request('http://localhost/api/admin/login', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...headers },
        body: JSON.stringify({ password: PASSWORD }),
      });
      const body = await expectJson<ErrorBody>(response, 403);
      expect(body.error.code, JSON.stringify(headers)).toBe('CSRF_REJECTED');
    }
    // The page itself (same-origin, or typed: none) and a script (neither header) log in.
    for (const headers of [{ 'Sec-Fetch-Site': 'same-origin' }, { 'Sec-Fetch-Site': 'none' }, {}]) {
      const response = await t.app.request('http://localhost/api/admin/login', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...headers },
        body: JSON.stringify({ password: PASSWORD }),
      });
      expect(response.status, JSON.stringify(headers)).toBe(200);
    }
  });

  // DNS rebinding: the page's own name stays in Host even when its DNS answer is 127.0.0.1.
  it('refuses a request addressed to another host name in local mode (403), before it spends the login budget', async () => {
    const rebound = { host: 'rebind.example:8080', origin: 'http://rebind.example:8080' };
    for (let i = 0; i < 7; i++) {
      const response = await t.app.request('/api/admin/login', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...rebound },
        body: JSON.stringify({ password: `guess${i}` }),
      });
      const body = await expectJson<ErrorBody>(response, 403);
      expect(body.error.code).toBe('FORBIDDEN');
      expect(body.error.message).toContain('"rebind.example:8080"');
    }
    const status = await t.app.request('/status', { headers: rebound });
    expect((await expectJson<ErrorBody>(status, 403)).error.code).toBe('FORBIDDEN');
    // The real admin's budget is whole: the right password gets in at once.
    for (const host of ['127.0.0.1:8080', 'localhost:8080', '[::1]:8080', '127.0.0.2']) {
      const response = await t.app.request('/api/admin/login', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', host, origin: `http://${host}` },
        body: JSON.stringify({ password: PASSWORD }),
      });
      await expectJson(response, 200);
    }
    for (const host of ['localhost.rebind.example', '127.0.0.1.nip.io', 'x@127.0.0.1', '']) {
      const response = await t.app.request('/healthz', { headers: { host } });
      expect(response.status, host).toBe(403);
    }
  });

  it("answers PUBLIC_URL's host in local mode, and any host in production (Cloud Run routes by Host)", async () => {
    const lan = await makeApp({ publicUrl: 'http://photos.lan:8080' });
    const prod = await makeApp({ mode: 'production' });
    try {
      await expectJson(
        await lan.app.request('/healthz', { headers: { host: 'photos.lan:8080' } }),
        200,
      );
      await expectJson(
        await prod.app.request('/healthz', { headers: { host: 'slideshow.example.com' } }),
        200,
      );
    } finally {
      lan.cleanup();
      prod.cleanup();
    }
  });

  it('ends every session when the backend starts again over the database with another password', async () => {
    const { cookie, csrfToken } = await login(t);
    const headers = { Cookie: cookie, 'X-CSRF-Token': csrfToken };
    const { deps } = t.backend.services;
    // The same password hash (a restart): still in.
    const same = createBackend({ ...deps });
    await expectJson(await same.app.request('/api/admin/images', { headers }), 200);
    const changed = createBackend({
      ...deps,
      adminPasswordHash: await hashPassword('a new password, after a leak'),
    });
    const refused = await changed.app.request('/api/admin/images', { headers });
    expect((await expectJson<ErrorBody>(refused, 401)).error.code).toBe('UNAUTHENTICATED');
    expect(
      await expectJson(await changed.app.request('/api/admin/session', { headers }), 200),
    ).toEqual({ authenticated: false, csrfToken: null });
  });

  it('stops accepting a session after it expires', async () => {
    const { cookie, csrfToken } = await login(t);
    const headers = { Cookie: cookie, 'X-CSRF-Token': csrfToken };
    await expectJson(await t.app.request('/api/admin/images', { headers }), 200);
    t.clock.now += 13 * 60 * 60 * 1000;
    await expectJson(await t.app.request('/api/admin/images', { headers }), 401);
  });

  it('stores only hashes of the session id and of its token', async () => {
    const { cookie, csrfToken } = await login(t);
    const sid = cookie.slice('sid='.length);
    const rows = t.db.prepare('SELECT * FROM sessions').all();
    expect(JSON.stringify(rows)).not.toContain(sid);
    expect(JSON.stringify(rows)).not.toContain(csrfToken);
  });

  it('refuses callbacks without a credential or with a wrong secret', async () => {
    for (const headers of [{}, { Authorization: `Bearer ${SECRET}x` }, { Authorization: SECRET }]) {
      const response = await t.app.request('/api/processing/img_aaaaaaaaaaaaaaaaaaaaaaaaaa', {
        headers,
      });
      expect((await expectJson<ErrorBody>(response, 401)).error.code).toBe('UNAUTHENTICATED');
    }
  });

  it('keeps a path-traversal filename for display only and never in a storage key', async () => {
    const body = await expectJson<UploadBody>(
      await t.app.request('/api/admin/upload', {
        method: 'POST',
        headers: admin(),
        body: multipart([{ name: '../../etc/pass\u202ewd.png', bytes: makePng(8, 8, 1) }]),
      }),
      202,
    );
    const image = body.images[0]!;
    expect(image.originalName).toBe('passwd.png');
    const keys: string[] = [];
    for await (const info of t.store.list('')) keys.push(info.key);
    expect(keys).toEqual([`originals/${image.id}`]);
  });

  it('serves only variants under /media, never originals or paths that climb out', async () => {
    const body = await expectJson<UploadBody>(
      await t.app.request('/api/admin/upload', {
        method: 'POST',
        headers: admin(),
        body: multipart([{ name: 'a.png', bytes: makePng(8, 8, 1) }]),
      }),
      202,
    );
    const id = body.images[0]!.id;
    for (const path of [
      `/media/originals/${id}`,
      `/media/variants/../originals/${id}`,
      `/media/variants/%2e%2e/originals/${id}`,
      '/media/variants/..%2f..%2fslideshow.db',
      '/media/%2fetc%2fpasswd',
    ]) {
      const response = await t.app.request(path);
      expect(response.status, path).toBe(404);
    }
  });

  it('never writes the password, tokens or the callback secret to the logs', async () => {
    const lines: string[] = [];
    const stream = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    });
    t.cleanup();
    t = await makeApp({ logger: createLogger({ level: 'DEBUG', stream }) });
    const { cookie, csrfToken } = await login(t);
    await t.app.request('/api/admin/images', { headers: admin() });
    await t.app.request('/api/processing/img_aaaaaaaaaaaaaaaaaaaaaaaaaa', { headers: callback() });
    await t.app.request('/api/admin/login', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ password: 'wrong-password-123' }),
    });
    const all = lines.join('');
    expect(all.length).toBeGreaterThan(0);
    for (const secret of [
      PASSWORD,
      'wrong-password-123',
      ADMIN_TOKEN,
      SECRET,
      cookie.slice(4),
      csrfToken,
    ]) {
      expect(all).not.toContain(secret);
    }
  });
});

describe('callbacks verified as Google ID tokens', () => {
  const google = googleCallbackApp();
  const { key, stranger, claims } = google;
  let t: TestApp;
  let id: string;
  beforeAll(() => {
    ({ t, id } = google.current);
  });

  const spec = (token: string) =>
    t.app.request(`/api/processing/${id}`, { headers: { Authorization: `Bearer ${token}` } });

  it('accepts a valid token from an allowed service account', async () => {
    await expectJson(await spec(signJwt(key, claims())), 200);
  });

  it.each([
    ['forged (signed by another key)', () => signJwt(stranger, claims())],
    ['expired', () => signJwt(key, claims({ iat: 1_000, exp: 4_600 }))],
    ['for another audience', () => signJwt(key, claims({ aud: 'https://other.example' }))],
    [
      'from another service account',
      () => signJwt(key, claims({ email: 'x@p.iam.gserviceaccount.com' })),
    ],
  ])('refuses a token that is %s', async (_name, token) => {
    const body = await expectJson<ErrorBody>(await spec(token()), 401);
    expect(body.error.code).toBe('UNAUTHENTICATED');
  });
});
