/**
 * Hostile callers (issue 8) through `app.request()` on a real SQLite file and
 * fs store: every admin route (enumerated from the app's routes table, so a
 * new route cannot escape) without a session, with an expired or forged
 * session, cross-site and with a wrong bearer token; every processing
 * callback without a token, with a wrong one, for an unknown image, from an
 * older generation, and replayed. Each is refused with the error shape (or,
 * for a replay, answered as an idempotent no-op), and the database and the
 * store are byte-for-byte unchanged.
 */
import { createGoogleIdTokenVerifier } from '@slideshow/callback-auth/google';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSigningKey, serveCerts, signIdToken } from './google-tokens.ts';
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
  sampleResult,
  type TestApp,
} from './helpers.ts';

type ErrorBody = { error: { code: string; message: string; requestId: string } };
type Route = { method: string; path: string };

/** Every row of every table, in a stable order: the "nothing changed" witness. */
export function snapshotDatabase(t: TestApp): string {
  const tables = t.db
    .prepare<[], { name: string }>(
      "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
    )
    .all();
  const dump: Record<string, unknown[]> = {};
  for (const { name } of tables) {
    dump[name] = t.db.prepare(`SELECT * FROM "${name}" ORDER BY rowid`).all();
  }
  return JSON.stringify(dump);
}

async function storeKeys(t: TestApp): Promise<string[]> {
  const keys: string[] = [];
  for await (const info of t.store.list('')) keys.push(info.key);
  return keys.sort();
}

/** Asserts an error answer with the one error shape and the expected code. */
async function expectRefused(response: Response, status: number, code: string, what: string) {
  const text = await response.text();
  expect(response.status, `${what}: ${text}`).toBe(status);
  const body = JSON.parse(text) as ErrorBody;
  expect(body.error.code, what).toBe(code);
  expect(body.error.requestId, what).toBe(response.headers.get('x-request-id'));
  expect(body.error.message.length, what).toBeGreaterThan(0);
}

function routesUnder(t: TestApp, prefixes: string[], except: string[] = []): Route[] {
  const seen = new Map<string, Route>();
  for (const r of t.app.routes) {
    if (r.method === 'ALL' || except.includes(r.path)) continue;
    if (!prefixes.some((p) => r.path.startsWith(p))) continue;
    seen.set(`${r.method} ${r.path}`, { method: r.method, path: r.path });
  }
  return [...seen.values()];
}

describe('hostile callers', () => {
  let t: TestApp;
  let processed: string;
  let failed: string;
  let adminRoutes: Route[];
  let callbackRoutes: Route[];
  let session: { cookie: string; csrfToken: string };

  const upload = async (seed: number) => {
    const body = await expectJson<{ images: { id: string }[] }>(
      await t.app.request('/api/admin/upload', {
        method: 'POST',
        headers: admin(),
        body: multipart([{ name: `${seed}.png`, bytes: makePng(8, 8, seed) }]),
      }),
      202,
    );
    return body.images[0]!.id;
  };
  const report = (id: string, what: string, body: unknown, headers = callback()) =>
    t.app.request(`/api/processing/${id}/${what}`, {
      method: 'POST',
      headers,
      body: JSON.stringify(body),
    });
  const concrete = (path: string, id: string) => path.replace(':id', id);
  const bodyFor = (path: string) =>
    path.endsWith('/complete')
      ? JSON.stringify({ generation: 0, result: sampleResult() })
      : path.endsWith('/failed')
        ? JSON.stringify({ generation: 0, code: 'CORRUPT_IMAGE', message: 'x' })
        : path.endsWith('/started')
          ? JSON.stringify({ generation: 0 })
          : path.endsWith('/ingest')
            ? JSON.stringify({ prefix: 'originals/' })
            : undefined;

  /** Runs `attempt`, expecting a refusal, and checks that neither the database nor the store moved. */
  async function refusedWithoutChange(
    what: string,
    status: number,
    code: string,
    attempt: () => Response | Promise<Response>,
  ) {
    const db = snapshotDatabase(t);
    const keys = await storeKeys(t);
    await expectRefused(await attempt(), status, code, what);
    expect(snapshotDatabase(t), what).toBe(db);
    expect(await storeKeys(t), what).toEqual(keys);
  }

  beforeAll(async () => {
    t = await makeApp();
    processed = await upload(1);
    failed = await upload(2);
    await upload(3);
    await t.relay.drain();
    await expectJson(await report(processed, 'started', { generation: 0, execution: 'e1' }), 200);
    await expectJson(
      await report(processed, 'complete', { generation: 0, result: sampleResult() }),
      200,
    );
    await expectJson(await report(failed, 'started', { generation: 0, execution: 'e2' }), 200);
    await expectJson(
      await report(failed, 'failed', {
        generation: 0,
        execution: 'e2',
        code: 'CORRUPT_IMAGE',
        message: 'bad',
      }),
      200,
    );
    const login = await t.app.request('http://localhost/api/admin/login', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ password: PASSWORD }),
    });
    const { csrfToken } = await expectJson<{ csrfToken: string }>(login, 200);
    session = { cookie: (login.headers.get('set-cookie') ?? '').split(';')[0]!, csrfToken };
    adminRoutes = routesUnder(
      t,
      ['/api/admin/', '/api/images/'],
      ['/api/admin/login', '/api/admin/logout', '/api/admin/session'],
    );
    callbackRoutes = routesUnder(t, ['/api/processing/']);
  });
  afterAll(() => t.cleanup());

  it('finds every admin and callback route in the routes table', () => {
    const names = (routes: Route[]) => routes.map((r) => `${r.method} ${r.path}`).sort();
    expect(names(adminRoutes)).toEqual(
      expect.arrayContaining([
        'POST /api/admin/upload',
        'POST /api/admin/ingest',
        'GET /api/admin/images',
        'DELETE /api/admin/images/:id',
        'POST /api/admin/images/:id/retry',
        'GET /api/admin/failed-tasks',
        'POST /api/admin/failed-tasks/retry',
        'GET /api/images/:id',
      ]),
    );
    expect(names(callbackRoutes)).toEqual([
      'GET /api/processing/:id',
      'POST /api/processing/:id/complete',
      'POST /api/processing/:id/failed',
      'POST /api/processing/:id/started',
    ]);
  });

  it('refuses every admin route without credentials, with a forged session or a wrong bearer token', async () => {
    const forged = `sid=${Buffer.alloc(32, 7).toString('base64url')}`;
    const attempts: [string, Record<string, string>][] = [
      ['no credentials', {}],
      ['a forged session cookie', { Cookie: forged }],
      ['an empty session cookie', { Cookie: 'sid=' }],
      ['a wrong bearer token', { Authorization: `Bearer ${ADMIN_TOKEN}x` }],
      ['the callback secret as admin token', { Authorization: `Bearer ${SECRET}` }],
      ['a Basic credential', { Authorization: `Basic ${btoa(`admin:${PASSWORD}`)}` }],
    ];
    for (const route of adminRoutes) {
      for (const [name, headers] of attempts) {
        const body = bodyFor(route.path);
        await refusedWithoutChange(
          `${route.method} ${route.path} with ${name}`,
          401,
          'UNAUTHENTICATED',
          () =>
            t.app.request(`http://localhost${concrete(route.path, failed)}`, {
              method: route.method,
              headers: {
                ...headers,
                Origin: 'http://localhost',
                ...(body ? { 'Content-Type': 'application/json' } : {}),
              },
              ...(body ? { body } : {}),
            }),
        );
      }
    }
  });

  it('refuses every cookie-authenticated admin write that is cross-site or lacks the right CSRF token', async () => {
    const writes = adminRoutes.filter((r) => !['GET', 'HEAD'].includes(r.method));
    expect(writes.length).toBeGreaterThanOrEqual(5);
    const attempts: [string, Record<string, string>][] = [
      ['from another site', { Origin: 'https://evil.example', 'X-CSRF-Token': session.csrfToken }],
      ['from an opaque origin', { Origin: 'null', 'X-CSRF-Token': session.csrfToken }],
      [
        'cross-site by fetch metadata',
        { 'Sec-Fetch-Site': 'cross-site', 'X-CSRF-Token': session.csrfToken },
      ],
      ['without a CSRF token', { Origin: 'http://localhost' }],
      [
        'with a wrong CSRF token',
        { Origin: 'http://localhost', 'X-CSRF-Token': `${session.csrfToken}x` },
      ],
    ];
    for (const route of writes) {
      for (const [name, headers] of attempts) {
        const body = bodyFor(route.path);
        await refusedWithoutChange(
          `${route.method} ${route.path} ${name}`,
          403,
          'CSRF_REJECTED',
          () =>
            t.app.request(`http://localhost${concrete(route.path, failed)}`, {
              method: route.method,
              headers: {
                Cookie: session.cookie,
                ...headers,
                ...(body ? { 'Content-Type': 'application/json' } : {}),
              },
              ...(body ? { body } : {}),
            }),
        );
      }
    }
  });

  it('refuses every admin route with an expired session', async () => {
    const saved = t.clock.now;
    t.clock.now += 13 * 60 * 60 * 1000;
    try {
      for (const route of adminRoutes) {
        await refusedWithoutChange(
          `${route.method} ${route.path} expired`,
          401,
          'UNAUTHENTICATED',
          () =>
            t.app.request(`http://localhost${concrete(route.path, failed)}`, {
              method: route.method,
              headers: {
                Cookie: session.cookie,
                Origin: 'http://localhost',
                'X-CSRF-Token': session.csrfToken,
              },
            }),
        );
      }
    } finally {
      t.clock.now = saved;
    }
  });

  it('refuses every callback without a token or with a wrong one', async () => {
    const attempts: [string, Record<string, string>][] = [
      ['no token', {}],
      ['a wrong secret', { Authorization: `Bearer ${SECRET.slice(0, -1)}x` }],
      ['the admin token', { Authorization: `Bearer ${ADMIN_TOKEN}` }],
      ['the secret without the Bearer scheme', { Authorization: SECRET }],
      ['an empty bearer', { Authorization: 'Bearer ' }],
    ];
    for (const route of callbackRoutes) {
      for (const [name, headers] of attempts) {
        const body = bodyFor(route.path);
        await refusedWithoutChange(
          `${route.method} ${route.path} with ${name}`,
          401,
          'UNAUTHENTICATED',
          () =>
            t.app.request(concrete(route.path, failed), {
              method: route.method,
              headers: { ...headers, 'Content-Type': 'application/json' },
              ...(body ? { body } : {}),
            }),
        );
      }
    }
  });

  it('refuses a valid caller reporting about an image it cannot have been given', async () => {
    for (const route of callbackRoutes) {
      for (const id of [
        'img_aaaaaaaaaaaaaaaaaaaaaaaaaa',
        'img_../../etc',
        '..%2F..%2Fslideshow.db',
      ]) {
        const body = bodyFor(route.path);
        await refusedWithoutChange(
          `${route.method} ${route.path} for ${id}`,
          404,
          'NOT_FOUND',
          () =>
            t.app.request(concrete(route.path, id), {
              method: route.method,
              headers: callback(),
              ...(body ? { body } : {}),
            }),
        );
      }
    }
  });

  it('refuses reports from an older or a future generation after a retry', async () => {
    await expectJson(
      await t.app.request(`/api/admin/images/${failed}/retry`, {
        method: 'POST',
        headers: admin(),
      }),
      202,
    );
    const result = sampleResult();
    for (const generation of [0, 5]) {
      for (const [what, body] of [
        ['started', { generation }],
        ['complete', { generation, result }],
        ['failed', { generation, code: 'CORRUPT_IMAGE', message: 'late' }],
      ] as const) {
        await refusedWithoutChange(
          `${what} from generation ${generation}`,
          409,
          'STALE_GENERATION',
          () => report(failed, what, body),
        );
      }
    }
  });

  it('answers replays of complete and failed as no-ops that change nothing', async () => {
    const db = snapshotDatabase(t);
    const replays = [
      report(processed, 'complete', { generation: 0, result: sampleResult() }),
      report(processed, 'complete', { generation: 0, result: sampleResult({ width: 1 }) }),
      report(processed, 'failed', { generation: 0, code: 'CORRUPT_IMAGE', message: 'late' }),
      report(processed, 'started', { generation: 0, execution: 'e1' }),
    ];
    for (const response of await Promise.all(replays)) {
      const body = await expectJson<{ applied: boolean; reason: string }>(response, 200);
      expect(body.applied).toBe(false);
      expect(body.reason.length).toBeGreaterThan(0);
    }
    expect(snapshotDatabase(t)).toBe(db);
  });

  it('keeps refusing a correct password while an address is rate-limited, and limits each address on its own', async () => {
    const login = (password: string, address: string) =>
      t.app.request(
        'http://localhost/api/admin/login',
        {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ password }),
        },
        { incoming: { socket: { remoteAddress: address } } },
      );
    for (let i = 0; i < 5; i++)
      await expectRefused(await login('guess', '10.0.0.1'), 401, 'UNAUTHENTICATED', 'guess');
    const sessions = snapshotDatabase(t);
    const limited = await login(PASSWORD, '10.0.0.1');
    expect(limited.headers.get('set-cookie')).toBeNull();
    await expectRefused(limited, 429, 'RATE_LIMITED', 'the right password while limited');
    expect(snapshotDatabase(t)).toBe(sessions);
    const other = await login(PASSWORD, '10.0.0.2');
    await expectJson(other, 200);
    expect(other.headers.get('set-cookie')).toMatch(/^sid=/);
    t.clock.now += 61_000;
    await expectJson(await login(PASSWORD, '10.0.0.1'), 200);
  });
});

describe('hostile callers with Google ID tokens', () => {
  const key = makeSigningKey('k1');
  const unknown = makeSigningKey('k1');
  const audience = 'https://backend.example.run.app';
  const email = 'processor@p.iam.gserviceaccount.com';
  let certs: { url: string; close(): Promise<void> };
  let t: TestApp;
  let id: string;

  beforeAll(async () => {
    certs = await serveCerts([key]);
    t = await makeApp({
      callbackVerifier: createGoogleIdTokenVerifier({
        audience,
        allowedEmails: [email],
        certsUrl: certs.url,
      }),
    });
    const body = await expectJson<{ images: { id: string }[] }>(
      await t.app.request('/api/admin/upload', {
        method: 'POST',
        headers: admin(),
        body: multipart([{ name: 'a.png', bytes: makePng(8, 8, 1) }]),
      }),
      202,
    );
    id = body.images[0]!.id;
  });
  afterAll(async () => {
    t.cleanup();
    await certs.close();
  });

  const claims = (overrides: Record<string, unknown> = {}) => {
    const now = Math.floor(Date.now() / 1000);
    return {
      iss: 'https://accounts.google.com',
      aud: audience,
      sub: '1234',
      email,
      email_verified: true,
      iat: now - 10,
      exp: now + 3000,
      ...overrides,
    };
  };

  it('refuses every callback route with a token for another audience, from an unknown key, expired, unverified or from another account', async () => {
    const tokens: [string, string][] = [
      ['another audience', signIdToken(key, claims({ aud: 'https://other.example' }))],
      ['an unknown key', signIdToken(unknown, claims())],
      ['an expired token', signIdToken(key, claims({ iat: 1_000, exp: 4_600 }))],
      ['another issuer', signIdToken(key, claims({ iss: 'https://evil.example' }))],
      ['an unverified email', signIdToken(key, claims({ email_verified: false }))],
      [
        'another service account',
        signIdToken(key, claims({ email: 'x@p.iam.gserviceaccount.com' })),
      ],
      ['no signature', `${signIdToken(key, claims()).split('.').slice(0, 2).join('.')}.`],
    ];
    const routes = routesUnder(t, ['/api/processing/']);
    expect(routes).toHaveLength(4);
    for (const route of routes) {
      for (const [name, token] of tokens) {
        const body = route.path.endsWith('/:id')
          ? undefined
          : JSON.stringify({
              generation: 0,
              code: 'CORRUPT_IMAGE',
              message: 'x',
              result: sampleResult(),
            });
        const db = snapshotDatabase(t);
        const what = `${route.method} ${route.path} with ${name}`;
        await expectRefused(
          await t.app.request(route.path.replace(':id', id), {
            method: route.method,
            headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
            ...(body ? { body } : {}),
          }),
          401,
          'UNAUTHENTICATED',
          what,
        );
        expect(snapshotDatabase(t), what).toBe(db);
      }
    }
    // The same request with a good token is accepted: the refusals above were about the token.
    await expectJson(
      await t.app.request(`/api/processing/${id}/started`, {
        method: 'POST',
        headers: {
          Authorization: `Bearer ${signIdToken(key, claims())}`,
          'Content-Type': 'application/json',
        },
        body: JSON.stringify({ generation: 0 }),
      }),
      200,
    );
  });
});
