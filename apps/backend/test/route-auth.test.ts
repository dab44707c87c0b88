/**
 * Authorisation by structure (routes/protected-areas.ts): this test walks
 * every route the app registers (Hono's `app.routes`), so a route added
 * tomorrow is checked without anyone listing it here. Every route under
 * /api/admin and /api/images except the three session routes answers 401
 * without credentials, to a wrong token and to a session cookie without its
 * token in X-CSRF-Token (reads included), and every state-changing one
 * answers 403 to a session sent cross-site; every answer under them, refusals
 * included, says `Cache-Control: no-store`;
 * the callbacks answer 401 without their credential; and the only routes
 * open to anyone are the ones named below — a new public route fails this
 * test until someone decides, here, that it is public.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, expectJson, makeApp, PASSWORD, type TestApp } from './helpers.ts';

type ErrorBody = { error: { code: string } };

/** Public by design (login, logout and the session probe carry their own checks). */
const SESSION_ROUTES = [
  'POST /api/admin/login',
  'POST /api/admin/logout',
  'GET /api/admin/session',
];

/**
 * Open to anyone: health and counts, the public slideshow and its media
 * (local mode), the pages and their assets, and the local upload-session
 * route, which its unguessable 256-bit token authorises as a Cloud Storage
 * session URI would (routes/upload-sessions.ts).
 */
const PUBLIC_ROUTES = [
  'GET /healthz',
  'GET /status',
  'GET /api/slideshow',
  'GET /media/*',
  'HEAD /media/*',
  'GET /',
  'GET /admin',
  'GET /assets/:file',
  'PUT /api/upload-sessions/:token',
];

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const CROSS_SITE = 'https://attacker.example';

/** The distinct routes with a handler (middleware registered with `use` has method ALL). */
function registeredRoutes(t: TestApp): { method: string; path: string; key: string }[] {
  const seen = new Map<string, { method: string; path: string; key: string }>();
  for (const r of t.app.routes) {
    if (r.method === 'ALL') continue;
    const key = `${r.method} ${r.path}`;
    if (!seen.has(key)) seen.set(key, { method: r.method, path: r.path, key });
  }
  return [...seen.values()];
}

/** A concrete URL for a route pattern: every `:param` and `*` filled with a plausible value. */
function concrete(path: string): string {
  return path
    .replace(/:([A-Za-z]+)(\{[^}]*\})?/g, (_m, name: string) =>
      name === 'queue' ? 'uploads' : 'img_aaaaaaaaaaaaaaaaaaaaaaaaaa',
    )
    .replace(/\*/g, 'x');
}

const isProtected = (key: string, path: string) =>
  (path.startsWith('/api/admin/') || path.startsWith('/api/images/')) &&
  !SESSION_ROUTES.includes(key);

describe('every route, walked', () => {
  let t: TestApp;
  let session: { cookie: string; csrfToken: string };
  beforeAll(async () => {
    t = await makeApp();
    const response = await t.app.request('http://localhost/api/admin/login', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ password: PASSWORD }),
    });
    const { csrfToken } = await expectJson<{ csrfToken: string }>(response, 200);
    session = { cookie: (response.headers.get('set-cookie') ?? '').split(';')[0] ?? '', csrfToken };
  });
  afterAll(() => t.cleanup());

  it('finds the admin routes it must check (the walk sees the routes of the protected areas)', () => {
    const keys = registeredRoutes(t).map((r) => r.key);
    expect(keys).toEqual(
      expect.arrayContaining([
        'POST /api/admin/upload',
        'POST /api/admin/upload-sessions',
        'POST /api/admin/upload-sessions/:id/complete',
        'DELETE /api/admin/uploads/:uploadId',
        'PUT /api/admin/slideshow/order',
        'POST /api/admin/queues/:queue/pause',
        'GET /api/images/:id',
        ...SESSION_ROUTES,
      ]),
    );
    expect(registeredRoutes(t).filter((r) => isProtected(r.key, r.path)).length).toBeGreaterThan(
      20,
    );
  });

  it('knows every route: admin (protected), session, callback, or named public', () => {
    const unknown = registeredRoutes(t)
      .filter(
        (r) =>
          !isProtected(r.key, r.path) &&
          !SESSION_ROUTES.includes(r.key) &&
          !r.path.startsWith('/api/processing/') &&
          !PUBLIC_ROUTES.includes(r.key),
      )
      .map((r) => r.key);
    expect(unknown, 'routes neither protected nor named public').toEqual([]);
  });

  it('answers 401 UNAUTHENTICATED on every admin and image route without credentials', async () => {
    const answers: string[] = [];
    for (const r of registeredRoutes(t).filter((x) => isProtected(x.key, x.path))) {
      const response = await t.app.request(concrete(r.path), { method: r.method });
      const code = ((await response.json()) as ErrorBody).error?.code;
      answers.push(`${r.key} → ${response.status} ${code}`);
    }
    expect(answers.filter((a) => !a.endsWith('→ 401 UNAUTHENTICATED'))).toEqual([]);
  });

  it('answers 401 on every admin and image route to a wrong bearer token', async () => {
    const answers: string[] = [];
    for (const r of registeredRoutes(t).filter((x) => isProtected(x.key, x.path))) {
      const response = await t.app.request(concrete(r.path), {
        method: r.method,
        headers: { Authorization: `Bearer ${ADMIN_TOKEN}-wrong` },
      });
      answers.push(`${r.key} → ${response.status}`);
    }
    expect(answers.filter((a) => !a.endsWith('→ 401'))).toEqual([]);
  });

  it('answers 403 CSRF_REJECTED on every state-changing admin route to a session cookie sent cross-site', async () => {
    const writes = registeredRoutes(t).filter(
      (x) => isProtected(x.key, x.path) && !SAFE_METHODS.has(x.method),
    );
    expect(writes.length).toBeGreaterThan(10);
    const answers: string[] = [];
    for (const r of writes) {
      const response = await t.app.request(`http://localhost${concrete(r.path)}`, {
        method: r.method,
        headers: {
          Cookie: session.cookie,
          Origin: CROSS_SITE,
          'X-CSRF-Token': session.csrfToken,
        },
      });
      const code = ((await response.json()) as ErrorBody).error?.code;
      answers.push(`${r.key} → ${response.status} ${code}`);
    }
    expect(answers.filter((a) => !a.endsWith('→ 403 CSRF_REJECTED'))).toEqual([]);
  });

  it('answers 401 UNAUTHENTICATED on every admin route, reads included, to a same-origin session cookie without its X-CSRF-Token', async () => {
    const routes = registeredRoutes(t).filter((x) => isProtected(x.key, x.path));
    expect(routes.some((x) => x.method === 'GET')).toBe(true);
    const answers: string[] = [];
    for (const r of routes) {
      for (const token of [undefined, `${session.csrfToken}x`]) {
        const response = await t.app.request(`http://localhost${concrete(r.path)}`, {
          method: r.method,
          headers: {
            Cookie: session.cookie,
            Origin: 'http://localhost',
            ...(token ? { 'X-CSRF-Token': token } : {}),
          },
        });
        const code = ((await response.json()) as ErrorBody).error?.code;
        answers.push(`${r.key} ${token ? 'wrong' : 'no'} token → ${response.status} ${code}`);
      }
    }
    expect(answers.filter((a) => !a.endsWith('→ 401 UNAUTHENTICATED'))).toEqual([]);
  });

  it('answers 401 on every processing callback without its credential', async () => {
    const callbacks = registeredRoutes(t).filter((r) => r.path.startsWith('/api/processing/'));
    expect(callbacks.length).toBe(4);
    const answers: string[] = [];
    for (const r of callbacks) {
      const response = await t.app.request(concrete(r.path), { method: r.method });
      answers.push(`${r.key} → ${response.status}`);
    }
    expect(answers.filter((a) => !a.endsWith('→ 401'))).toEqual([]);
  });

  it('marks every admin and image answer Cache-Control: no-store, refusals and the login included, and leaves the slideshow cacheable', async () => {
    const routes = registeredRoutes(t).filter(
      (x) => x.path.startsWith('/api/admin/') || x.path.startsWith('/api/images/'),
    );
    expect(routes.length).toBeGreaterThan(20);
    const answers: string[] = [];
    for (const r of routes) {
      for (const headers of [{}, { Authorization: `Bearer ${ADMIN_TOKEN}` }]) {
        const response = await t.app.request(concrete(r.path), { method: r.method, headers });
        await response.arrayBuffer();
        const auth = 'Authorization' in headers ? 'bearer' : 'none';
        answers.push(
          `${r.key} (${auth}) → ${response.status} ${response.headers.get('cache-control')}`,
        );
      }
    }
    expect(answers.filter((a) => !a.endsWith(' no-store'))).toEqual([]);
    const login = await t.app.request('/api/admin/login', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ password: PASSWORD }),
    });
    expect((await expectJson<{ csrfToken: string }>(login, 200)).csrfToken).toBeTruthy();
    expect(login.headers.get('cache-control')).toBe('no-store');
    const slideshow = await t.app.request('/api/slideshow');
    expect(slideshow.headers.get('cache-control')).toBe('public, no-cache');
  });

  it('keeps the session routes public: the session probe and login answer without credentials', async () => {
    const probe = await expectJson<{ authenticated: boolean }>(
      await t.app.request('/api/admin/session'),
      200,
    );
    expect(probe.authenticated).toBe(false);
    const wrong = await t.app.request('/api/admin/login', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ password: 'not it' }),
    });
    // Refused by the password check, not by admin auth: a wrong password, not "log in first".
    expect(
      (await expectJson<ErrorBody & { error: { message: string } }>(wrong, 401)).error,
    ).toMatchObject({
      code: 'UNAUTHENTICATED',
      message: 'wrong password',
    });
    await expectJson(await t.app.request('/api/admin/logout', { method: 'POST' }), 200);
  });
});
