import { afterEach, describe, expect, it } from 'vitest';
import { requestFor } from '../src/regenerate/main.ts';
import { type AdminServer, startAdminServer } from './helpers/admin-server.ts';
import { closedPort } from './helpers/closed-port.ts';
import { runScript } from './helpers/gcloud-double.ts';

describe('scripts/regenerate', () => {
  it('turns a dry run with a filter and a lower cap into one POST', () => {
    expect(
      requestFor([
        '--dry-run',
        '--ids',
        'img_a,img_b',
        '--from',
        '2026-01-01T01:00:00+01:00',
        '--max-executions',
        '50',
      ]),
    ).toEqual({
      method: 'POST',
      path: '/api/admin/regenerate',
      body: {
        dryRun: true,
        filter: { ids: ['img_a', 'img_b'], from: '2026-01-01T00:00:00.000Z' },
        caps: { maxExecutions: 50 },
      },
    });
  });

  it('pauses, resumes and cancels a named run, and refuses one without an id', () => {
    expect(requestFor(['pause', '3'])).toMatchObject({ path: '/api/admin/regenerate/3/pause' });
    expect(requestFor(['status'])).toEqual({ method: 'GET', path: '/api/admin/regenerate' });
    expect(requestFor(['status', '7'])).toEqual({
      method: 'GET',
      path: '/api/admin/regenerate/7',
    });
    expect(() => requestFor(['cancel'])).toThrow(/needs a run id/);
    expect(() => requestFor(['--max-executions', '0'])).toThrow(/positive integer/);
  });
});

describe('scripts/regenerate against a loopback admin API', () => {
  let server: AdminServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('refuses what it can check itself with exit 2 and usage, before any request', async () => {
    server = await startAdminServer([]);
    const env = { BACKEND_URL: server.url, ADMIN_TOKEN: server.token };
    const cases: [string[], string][] = [
      [['--from', 'yesterday'], 'an ISO 8601 time with an offset for --from'],
      [['--to', '2026-02-30T00:00:00Z'], 'for --to, like 2026-11-22T10:00:00Z'],
      [['--visibility', 'public'], '--visibility is published or hidden, not public'],
      [['status', '../../../status'], 'status takes a run id, not ../../../status'],
      [['--nope'], "Unknown option '--nope'"],
    ];
    for (const [args, message] of cases) {
      const result = await runScript('regenerate', args, env);
      expect(result.status, args.join(' ')).toBe(2);
      expect(result.stderr).toContain(`error: `);
      expect(result.stderr).toContain(message);
      expect(result.stderr).toContain('usage: scripts/regenerate');
    }
    expect(server.requests).toEqual([]);
  });

  it('refuses a BACKEND_URL that is not an http(s) URL with exit 2, not a stack trace', async () => {
    const result = await runScript('regenerate', ['--dry-run'], {
      BACKEND_URL: 'notaurl',
      ADMIN_TOKEN: 't',
    });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(
      'error: Expected an http(s) URL for BACKEND_URL but received "notaurl"',
    );
    expect(result.stderr).not.toMatch(/TypeError|\n\s+at /);
  });

  it('says which backend it could not reach and why, and exits 1 without a stack trace', async () => {
    const port = await closedPort();
    const result = await runScript('regenerate', ['--dry-run'], {
      BACKEND_URL: `http://127.0.0.1:${port}`,
      ADMIN_TOKEN: 't',
    });
    expect(result.status).toBe(1);
    const reason = `POST http://127.0.0.1:${port}/api/admin/regenerate: fetch failed (connect ECONNREFUSED 127.0.0.1:${port})`;
    expect(result.stderr).toContain(`${reason}; retrying for up to 30 s`);
    expect(result.stderr).toContain(`error: BACKEND_UNAVAILABLE: ${reason}`);
    expect(result.stderr).not.toMatch(/triggerUncaughtException|\n\s+at /);
  });

  it('retries a 503 LEASE_NOT_HELD of a writer handover, then prints the answer', async () => {
    server = await startAdminServer([]);
    server.handover.requests = 2;
    const result = await runScript('regenerate', ['status', '3'], {
      BACKEND_URL: server.url,
      ADMIN_TOKEN: server.token,
    });
    expect(result.status, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ run: { id: 3, status: 'running' } });
    expect(server.requests.map((r) => r.url)).toEqual([
      '/api/admin/regenerate/3',
      '/api/admin/regenerate/3',
      '/api/admin/regenerate/3',
    ]);
  });

  it('says that a start it retried may have started the run it conflicts with', async () => {
    server = await startAdminServer([]);
    server.regeneration.active = true;
    const env = { BACKEND_URL: server.url, ADMIN_TOKEN: server.token };
    // Not retried: a plain conflict, nothing more said.
    const plain = await runScript('regenerate', [], env);
    expect(plain.status).toBe(1);
    expect(plain.stderr).toContain('error: CONFLICT');
    expect(plain.stderr).not.toContain('may have started it');
    // Retried after a 503: the conflict may be the first attempt's own run.
    server.handover.requests = 1;
    const retried = await runScript('regenerate', [], env);
    expect(retried.status).toBe(1);
    expect(retried.stderr).toContain('error: CONFLICT');
    expect(retried.stderr).toContain(
      'the first attempt of this request may have started it before its answer was lost',
    );
  });

  it('says on pause and cancel how many images already dispatched will still be made, keeping stdout the answer', async () => {
    server = await startAdminServer([]);
    server.regeneration.inFlight = 104;
    const env = { BACKEND_URL: server.url, ADMIN_TOKEN: server.token };
    const cancelled = await runScript('regenerate', ['cancel', '3'], env);
    expect(cancelled.status, cancelled.stderr).toBe(0);
    expect(JSON.parse(cancelled.stdout)).toMatchObject({
      run: { id: 3, status: 'cancelled', inFlight: 104 },
    });
    expect(cancelled.stderr).toBe(
      'run 3 cancelled: 104 images were already dispatched and will still be made (and billed), each switched to when it completes; scripts/regenerate status 3 follows them\n',
    );
    const paused = await runScript('regenerate', ['pause', '3'], env);
    expect(paused.stderr).toContain('run 3 paused: 104 images were already dispatched');
    // Nothing to say when nothing is in flight, nor for a status.
    expect((await runScript('regenerate', ['status', '3'], env)).stderr).toBe('');
    server.regeneration.inFlight = 0;
    expect((await runScript('regenerate', ['cancel', '3'], env)).stderr).toBe('');
  });

  it('exits 1 with the answer when the backend refuses the request', async () => {
    server = await startAdminServer([]);
    const result = await runScript('regenerate', ['status'], {
      BACKEND_URL: server.url,
      ADMIN_TOKEN: 'wrong',
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(
      'error: UNAUTHENTICATED: GET /api/admin/regenerate answered 401',
    );
  });
});
