/**
 * `POST /api/admin/login` (JSON `{"password"}` or the login form's urlencoded
 * post), `POST /api/admin/logout`, `GET /api/admin/session`. Login is limited
 * per client — its login-device cookie, else its address (auth/rate-limit.ts)
 * — and refused cross-origin (login CSRF). A session is two credentials
 * (auth/admin-auth.ts): the `sid` cookie, and the token only the login answer
 * carries (`csrfToken`), which the page keeps and sends as `X-CSRF-Token`;
 * nothing hands the token out again, so holding the cookie is not enough.
 * Ending every session at once (`POST /api/admin/sessions/end-all`) needs an
 * admin, so it lives in the protected area: {@link endSessionsRoutes}.
 */
import type {
  EndSessionsAnswer,
  LoginAnswer,
  LogoutAnswer,
  SessionAnswer,
} from '@slideshow/contracts';
import { AppError } from '@slideshow/runtime';
import { type Context, Hono } from 'hono';
import { deleteCookie, setCookie } from 'hono/cookie';
import * as z from 'zod';
import {
  isCrossSite,
  SESSION_COOKIE,
  SESSION_TOKEN_HEADER,
  sessionOf,
} from '../auth/admin-auth.ts';
import { clientAddress } from '../auth/client-address.ts';
import { verifyPassword } from '../auth/password.ts';
import type { AppEnv, Services } from '../context.ts';
import { randomToken, sha256Hex } from '../ids.ts';
import { formBody, jsonBody } from '../request-body.ts';

/**
 * The login body. Strict as JSON, as every admin body (an unknown field is 400
 * VALIDATION_FAILED naming it, and checks no password, so spends no budget): JSON
 * comes from programs — the admin page's script, which sends exactly
 * `{"password"}`, or an operator's script — which can be told, and a field the
 * backend does not know (a `remember: false`, a `ttl`) would otherwise be
 * dropped in silence, the caller getting a 12-hour session it did not ask for.
 * The urlencoded form is lenient: only its `password` is read (the object parsed
 * here has no other key), because a browser posts whatever controls the page and
 * the add-ons that insert inputs put in the form, and a refusal would leave a
 * person on a bare JSON page; nothing else in a form changes what login does.
 */
const LoginBody = z.object({ password: z.string().min(1).max(1024) }).strict();

/** Default session lifetime: 12 hours. */
export const SESSION_TTL_MS = 12 * 60 * 60 * 1000;

function readPassword(c: Context<AppEnv>): string {
  const type = c.req.header('content-type') ?? '';
  if (/^application\/x-www-form-urlencoded/i.test(type)) {
    return LoginBody.parse({ password: formBody(c).get('password') ?? undefined }).password;
  }
  if (/^application\/json/i.test(type)) return LoginBody.parse(jsonBody(c)).password;
  throw new AppError('UNSUPPORTED_MEDIA_TYPE', 'expected JSON or a urlencoded form');
}

/** The session routes. */
export function adminSessionRoutes(services: Services) {
  const app = new Hono<AppEnv>();
  const secure = services.deps.mode === 'production';
  const ttl = services.deps.sessionTtlMs ?? SESSION_TTL_MS;

  app.post('/login', services.limitBody('login'), async (c) => {
    if (isCrossSite(c, services.deps.publicUrl)) {
      throw new AppError('CSRF_REJECTED', 'cross-origin login refused');
    }
    // Parsed first: a malformed request checks no password and spends no budget.
    const password = readPassword(c);
    const device = services.loginDevices.deviceOf(c);
    const client = device
      ? `device:${device}`
      : `address:${clientAddress(c, services.trustedProxyHops)}`;
    const retryAfter = services.loginLimiter.take(client);
    if (retryAfter > 0) {
      c.get('logger').info('admin login rate limited', { client, retryAfter });
      c.header('Retry-After', String(retryAfter));
      throw new AppError('RATE_LIMITED', `too many login attempts; try again in ${retryAfter} s`);
    }
    if (!(await verifyPassword(password, services.deps.adminPasswordHash))) {
      c.get('logger').warn('admin login refused', { client });
      throw new AppError('UNAUTHENTICATED', 'wrong password');
    }
    services.loginLimiter.succeeded(client);
    const sid = randomToken();
    const csrfToken = randomToken();
    const now = services.now();
    services.repos.sessions.purgeExpired(now);
    services.repos.sessions.create(
      sha256Hex(sid),
      sha256Hex(csrfToken),
      services.sessionFingerprint,
      now,
      now + ttl,
    );
    setCookie(c, SESSION_COOKIE, sid, {
      httpOnly: true,
      sameSite: 'Lax',
      secure,
      path: '/',
      maxAge: Math.floor(ttl / 1000),
    });
    // After the session cookie, so clients that read the first Set-Cookie still find `sid`.
    services.loginDevices.remember(c, device);
    c.get('logger').info('admin logged in');
    return c.json({ ok: true, csrfToken } satisfies LoginAnswer);
  });

  app.post('/logout', services.limitBody('adminSmall'), (c) => {
    // Only the holder of both credentials ends the session; another site must not.
    const session = sessionOf(c, services);
    if (session) {
      if (isCrossSite(c, services.deps.publicUrl)) {
        throw new AppError('CSRF_REJECTED', 'cross-origin logout refused');
      }
      services.repos.sessions.delete(session.id_hash);
    }
    deleteCookie(c, SESSION_COOKIE, { path: '/', secure });
    return c.json({ ok: true } satisfies LogoutAnswer);
  });

  // Whether the page's stored token and the cookie still make a session; the token in the
  // answer is the one the request sent (the server keeps only its hash).
  app.get('/session', (c) => {
    const session = sessionOf(c, services);
    return c.json({
      authenticated: session !== undefined,
      csrfToken: session ? (c.req.header(SESSION_TOKEN_HEADER) ?? null) : null,
    } satisfies SessionAnswer);
  });

  return app;
}

/**
 * `POST /api/admin/sessions/end-all`: every admin session ends, the caller's
 * too (its cookie is cleared) — for a session left open on a lost or shared
 * device. Mounted in the admin area (routes/protected-areas.ts): a bearer
 * token may do it as well, and a session's write needs its token and a
 * same-origin `Origin` like every other.
 */
export function endSessionsRoutes(services: Services) {
  const app = new Hono<AppEnv>();
  const secure = services.deps.mode === 'production';
  app.post('/sessions/end-all', services.limitBody('adminSmall'), (c) => {
    const ended = services.repos.sessions.deleteAll();
    deleteCookie(c, SESSION_COOKIE, { path: '/', secure });
    c.get('logger').warn('every admin session ended', { ended });
    return c.json({ ok: true, ended } satisfies EndSessionsAnswer);
  });
  return app;
}
