/**
 * Login limiting cannot lock the admin out (docs/security.md, "Production
 * backend"): the budget is per client — an address (an IPv6 /64), or the
 * login-device cookie of a browser that logged in before — with backoff; a
 * request refused with 429 spends nothing; `X-Forwarded-For` is trusted only
 * for the hop Google's front end appends. Through `app.request()` in
 * production mode on a real SQLite file.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addressKey } from '../src/auth/client-address.ts';
import { createRateLimiter, LOGIN_LIMITER_DEFAULTS } from '../src/auth/rate-limit.ts';
import { expectJson, makeApp, PASSWORD, type TestApp } from './helpers.ts';
import { expectRefused } from './hostile-callers-checks.ts';

const PUBLIC_URL = 'https://backend.example';
const ATTACKER = '203.0.113.7';
const ADMIN = '198.51.100.2';

describe('login limiting when the wall clock steps', () => {
  // The wall clock (`now`) and the monotonic one apart: NTP or a resumed VM steps only the first.
  const clocks = { wall: Date.parse('2026-01-01T00:00:00Z'), monotonic: 5_000_000 };
  let t: TestApp;
  beforeAll(async () => {
    t = await makeApp({
      mode: 'production',
      publicUrl: PUBLIC_URL,
      now: () => clocks.wall,
      monotonicNow: () => clocks.monotonic,
    });
  });
  afterAll(() => t.cleanup());

  const login = (password: string) =>
    t.app.request(`${PUBLIC_URL}/api/admin/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Forwarded-For': ADMIN },
      body: JSON.stringify({ password }),
    });

  it('lets the admin in after one failed login and a 10 min step back of the wall clock (before: "try again in 600 s")', async () => {
    await expectRefused(await login('typo'), 401, 'UNAUTHENTICATED', 'the typo');
    clocks.wall -= 10 * 60_000;
    clocks.monotonic += 1_000;
    await expectJson(await login(PASSWORD), 200);
  });

  it('keeps a real lock for its own length whatever the wall clock does', async () => {
    const client = '203.0.113.201';
    const guess = () =>
      t.app.request(`${PUBLIC_URL}/api/admin/login`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-Forwarded-For': client },
        body: JSON.stringify({ password: 'guess' }),
      });
    for (let i = 0; i < LOGIN_LIMITER_DEFAULTS.freeFailures; i++) await guess();
    // An hour forward on the wall clock does not end the 60 s wait; only its own time does.
    clocks.wall += 3_600_000;
    const locked = await guess();
    await expectRefused(locked, 429, 'RATE_LIMITED', 'still locked');
    expect(Number(locked.headers.get('retry-after'))).toBe(60);
    clocks.monotonic += 60_000;
    await expectRefused(await guess(), 401, 'UNAUTHENTICATED', 'after its own 60 s');
  });
});

describe('login limiting in production', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await makeApp({ mode: 'production', publicUrl: PUBLIC_URL });
  });
  afterAll(() => t.cleanup());

  /** A login as Cloud Run delivers it: the front end appended the client's address. */
  const login = (password: string, forwardedFor: string, cookie?: string) =>
    t.app.request(`${PUBLIC_URL}/api/admin/login`, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        'X-Forwarded-For': forwardedFor,
        ...(cookie ? { Cookie: cookie } : {}),
      },
      body: JSON.stringify({ password }),
    });
  const deviceCookie = (response: Response) =>
    response.headers
      .getSetCookie()
      .find((c) => c.startsWith('login_device='))
      ?.split(';')[0];

  it('lets the right password in from another client while one client hammers the form (before: a shared 50/min budget locked everyone out)', async () => {
    const refused: number[] = [];
    for (let i = 0; i < 120; i++) refused.push((await login(`guess-${i}`, ATTACKER)).status);
    expect(refused.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(new Set(refused.slice(5))).toEqual(new Set([429]));
    const admin = await login(PASSWORD, ADMIN);
    await expectJson(admin, 200);
    expect(admin.headers.get('set-cookie')).toMatch(/sid=/);
    // The attacker's own budget is still spent.
    await expectRefused(await login(PASSWORD, ATTACKER), 429, 'RATE_LIMITED', 'attacker');
  });

  it('trusts only the hop the front end appended: a forged X-Forwarded-For entry changes nothing', async () => {
    const spoofer = '203.0.113.50';
    for (let i = 0; i < 10; i++) await login('guess', `${ADMIN}, ${spoofer}`);
    // The spoofer locked only itself, not the address it claimed.
    await expectRefused(await login(PASSWORD, spoofer), 429, 'RATE_LIMITED', 'spoofer');
    await expectJson(await login(PASSWORD, `10.9.9.9, ${ADMIN}`), 200);
  });

  it('keeps the admin browser in with its device cookie while an attacker behind the same address is locked out', async () => {
    const shared = '192.0.2.44';
    const first = await login(PASSWORD, shared);
    await expectJson(first, 200);
    const device = deviceCookie(first);
    expect(device).toMatch(/^login_device=[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]+$/);
    const attributes = first.headers.getSetCookie().find((c) => c.startsWith('login_device='));
    for (const attribute of ['HttpOnly', 'Secure', 'SameSite=Strict', 'Path=/api/admin/login']) {
      expect(attributes).toContain(attribute);
    }
    for (let i = 0; i < 30; i++) await login('guess', shared);
    await expectRefused(await login(PASSWORD, shared), 429, 'RATE_LIMITED', 'shared address');
    await expectJson(await login(PASSWORD, shared, device), 200);
    // A forged or tampered device cookie is no cookie at all.
    const forged = `login_device=${'A'.repeat(22)}.${'B'.repeat(43)}`;
    await expectRefused(
      await login(PASSWORD, shared, forged),
      429,
      'RATE_LIMITED',
      'forged device',
    );
  });

  it('does not extend a lock for requests it refused, and backs off after each further failure', async () => {
    const client = '203.0.113.99';
    for (let i = 0; i < LOGIN_LIMITER_DEFAULTS.freeFailures; i++) await login('guess', client);
    const locked = await login('guess', client);
    await expectRefused(locked, 429, 'RATE_LIMITED', 'locked');
    expect(Number(locked.headers.get('retry-after'))).toBe(60);
    for (let i = 0; i < 50; i++) await login('guess', client); // all refused, none counted
    t.clock.now += 61_000;
    await expectRefused(await login('guess', client), 401, 'UNAUTHENTICATED', 'after the wait');
    const again = await login(PASSWORD, client);
    await expectRefused(again, 429, 'RATE_LIMITED', 'backed off');
    expect(Number(again.headers.get('retry-after'))).toBe(120);
    t.clock.now += 121_000;
    await expectJson(await login(PASSWORD, client), 200);
    // A success clears the client's failures.
    await expectRefused(await login('guess', client), 401, 'UNAUTHENTICATED', 'fresh budget');
  });

  it('spends no budget on a malformed request', async () => {
    const client = '203.0.113.120';
    for (let i = 0; i < 20; i++) {
      const response = await t.app.request(`${PUBLIC_URL}/api/admin/login`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-Forwarded-For': client },
        body: '{not json',
      });
      await expectRefused(response, 400, 'VALIDATION_FAILED', 'malformed');
    }
    await expectJson(await login(PASSWORD, client), 200);
  });

  it('limits an IPv6 client by its /64, so rotating addresses inside it buys nothing', async () => {
    for (let i = 1; i <= 10; i++) await login('guess', `2001:db8:1:2::${i.toString(16)}`);
    await expectRefused(
      await login(PASSWORD, '2001:db8:1:2:ffff::1'),
      429,
      'RATE_LIMITED',
      'same /64',
    );
    await expectJson(await login(PASSWORD, '2001:db8:1:3::1'), 200);
  });
});

describe('client address keys and the limiter memory', () => {
  it('keys IPv4 as is, IPv4-mapped IPv6 as IPv4, IPv6 by /64, and refuses what is not an address', () => {
    expect(addressKey('203.0.113.7')).toBe('203.0.113.7');
    expect(addressKey('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(addressKey('2001:db8:a:b:c:d:e:f')).toBe('2001:db8:a:b::/64');
    expect(addressKey('[2001:db8::1]')).toBe('2001:db8:0:0::/64');
    expect(addressKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(addressKey('not-an-ip')).toBeUndefined();
    expect(addressKey('')).toBeUndefined();
  });

  it('remembers at most maxClients clients, forgetting the oldest', () => {
    let now = 0;
    const limiter = createRateLimiter({ monotonicNow: () => now, limits: { maxClients: 100 } });
    for (let i = 0; i < 1_000; i++) {
      now++;
      limiter.take(`client-${i}`);
    }
    expect(limiter.size()).toBeLessThanOrEqual(100);
  });
});
