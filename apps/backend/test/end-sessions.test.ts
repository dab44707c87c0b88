/**
 * `POST /api/admin/sessions/end-all`: an admin ends every admin session at
 * once (a session left open on a lost or shared device), its own included;
 * a bearer token may do it too; the cookie alone or another site may not.
 */
import { EndSessionsAnswer, SessionAnswer } from '@slideshow/contracts';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { admin, expectAnswer, expectJson, makeApp, PASSWORD, type TestApp } from './helpers.ts';

const ORIGIN = 'http://localhost';

describe('ending every admin session', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await makeApp();
  });
  afterEach(() => t.cleanup());

  async function login() {
    const response = await t.app.request(`${ORIGIN}/api/admin/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Origin: ORIGIN },
      body: JSON.stringify({ password: PASSWORD }),
    });
    const { csrfToken } = await expectJson<{ csrfToken: string }>(response, 200);
    return {
      Cookie: (response.headers.get('set-cookie') ?? '').split(';')[0]!,
      'X-CSRF-Token': csrfToken,
    };
  }

  async function authenticated(session: Record<string, string>) {
    const response = await t.app.request(`${ORIGIN}/api/admin/session`, { headers: session });
    return (await expectAnswer(SessionAnswer, response, 200)).authenticated;
  }

  const endAll = (headers: Record<string, string>) =>
    t.app.request(`${ORIGIN}/api/admin/sessions/end-all`, { method: 'POST', headers });

  it('ends the caller’s session and every other one, and clears the caller’s cookie', async () => {
    const laptop = await login();
    const phone = await login();
    expect(await authenticated(laptop)).toBe(true);
    expect(await authenticated(phone)).toBe(true);
    const response = await endAll({ ...laptop, Origin: ORIGIN });
    expect(await expectAnswer(EndSessionsAnswer, response, 200)).toEqual({ ok: true, ended: 2 });
    expect(response.headers.get('set-cookie')).toMatch(/^sid=;.*Max-Age=0/);
    expect(await authenticated(laptop)).toBe(false);
    expect(await authenticated(phone)).toBe(false);
    const after = await t.app.request(`${ORIGIN}/api/admin/library`, { headers: phone });
    expect(after.status).toBe(401);
  });

  it('may be done with a bearer token (an operator, from a script)', async () => {
    const session = await login();
    const response = await endAll(admin());
    expect(await expectAnswer(EndSessionsAnswer, response, 200)).toEqual({ ok: true, ended: 1 });
    expect(await authenticated(session)).toBe(false);
  });

  it('refuses the cookie without the session token, and another site’s page, ending nothing', async () => {
    const session = await login();
    const cookieOnly = await endAll({ Cookie: session.Cookie, Origin: ORIGIN });
    expect(cookieOnly.status).toBe(401);
    const crossSite = await endAll({ ...session, Origin: 'https://evil.example' });
    expect(crossSite.status).toBe(403);
    const anonymous = await endAll({ Origin: ORIGIN });
    expect(anonymous.status).toBe(401);
    expect(await authenticated(session)).toBe(true);
  });
});
