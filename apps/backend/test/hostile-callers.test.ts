/**
 * Hostile callers (every route refuses them) through `app.request()` on a real SQLite file and
 * fs store: every admin route (enumerated from the app's routes table, so a
 * new route cannot escape) without a session, with an expired or forged
 * session, cross-site and with a wrong bearer token; every processing
 * callback without a token, with a wrong one, for an unknown image, from an
 * older generation, and replayed. Each is refused with the error shape (or,
 * for a replay, answered as an idempotent no-op), and the database and the
 * store are byte-for-byte unchanged.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
import {
  expectRefused,
  type Route,
  routesUnder,
  snapshotDatabase,
  storeKeys,
} from './hostile-callers-checks.ts';

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

  it('refuses every cookie-authenticated admin write that is cross-site or lacks the right session token', async () => {
    const writes = adminRoutes.filter((r) => !['GET', 'HEAD'].includes(r.method));
    expect(writes.length).toBeGreaterThanOrEqual(5);
    const attempts: [string, Record<string, string>, 401 | 403][] = [
      [
        'from another site',
        { Origin: 'https://evil.example', 'X-CSRF-Token': session.csrfToken },
        403,
      ],
      ['from an opaque origin', { Origin: 'null', 'X-CSRF-Token': session.csrfToken }, 403],
      [
        'cross-site by fetch metadata',
        { 'Sec-Fetch-Site': 'cross-site', 'X-CSRF-Token': session.csrfToken },
        403,
      ],
      ['without a session token', { Origin: 'http://localhost' }, 401],
      [
        'with a wrong session token',
        { Origin: 'http://localhost', 'X-CSRF-Token': `${session.csrfToken}x` },
        401,
      ],
    ];
    for (const route of writes) {
      for (const [name, headers, status] of attempts) {
        const body = bodyFor(route.path);
        await refusedWithoutChange(
          `${route.method} ${route.path} ${name}`,
          status,
          status === 401 ? 'UNAUTHENTICATED' : 'CSRF_REJECTED',
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
