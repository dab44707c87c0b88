/**
 * Admin authentication: a bearer admin token (scripts), or a session (the
 * admin page): the `sid` cookie AND the session's token in `X-CSRF-Token`, on
 * every request, reads included. The cookie alone is not enough because
 * browsers send a host's cookies to every port of it (RFC 6265 §8.5: "cookies
 * do not provide isolation by port"), so another server on 127.0.0.1 gets
 * `sid`; the token lives in the page's localStorage, which is per origin,
 * port included. Session writes must also be same-origin (`Origin`, or
 * `Sec-Fetch-Site` when there is no Origin; OWASP CSRF cheat sheet:
 * "verifying origin with standard headers" plus a synchronizer token).
 * Bearer requests are exempt: a browser never attaches them on its own.
 */
import { timingSafeEqual } from 'node:crypto';
import { bearerCredential } from '@slideshow/callback-auth';
import { AppError } from '@slideshow/runtime';
import type { Context, MiddlewareHandler } from 'hono';
import { getCookie } from 'hono/cookie';
import type { AppEnv, Services } from '../context.ts';
import type { SessionRow } from '../db/sessions-repository.ts';
import { sha256Hex } from '../ids.ts';

/** Name of the session cookie. */
export const SESSION_COOKIE = 'sid';
/** Header that carries the session's token (the login answer's `csrfToken`) on every request. */
export const SESSION_TOKEN_HEADER = 'x-csrf-token';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

function equalStrings(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** True when the request comes from the backend's own origin. */
export function isSameOrigin(c: Context, publicUrl: string | undefined): boolean {
  const origin = c.req.header('origin');
  if (origin !== undefined) {
    if (origin === 'null') return false;
    try {
      const parsed = new URL(origin);
      const own = c.req.header('host') ?? new URL(c.req.url).host;
      if (parsed.host === own) return true;
      return publicUrl !== undefined && new URL(publicUrl).origin === parsed.origin;
    } catch {
      // An unparsable Origin is not same-origin; nothing to log.
      return false;
    }
  }
  const site = c.req.header('sec-fetch-site');
  return site === 'same-origin';
}

/**
 * A request a page of another origin made: its `Origin` is not ours, or (a browser that sent no
 * `Origin`) its `Sec-Fetch-Site` is `cross-site` or `same-site`. A request with neither header
 * (a script, curl) is not: login and logout refuse only what a browser says is another site's.
 */
export function isCrossSite(c: Context, publicUrl: string | undefined): boolean {
  if (c.req.header('origin') !== undefined) return !isSameOrigin(c, publicUrl);
  const site = c.req.header('sec-fetch-site');
  return site === 'cross-site' || site === 'same-site';
}

/**
 * The live session the request names with both credentials: the `sid` cookie
 * and that session's token in `X-CSRF-Token`; undefined when either is
 * missing, unknown, expired or does not match the other, or when the session
 * was opened with another admin password (a restart with a new one).
 */
export function sessionOf(c: Context, services: Services): SessionRow | undefined {
  const sid = getCookie(c, SESSION_COOKIE);
  const token = c.req.header(SESSION_TOKEN_HEADER);
  if (!sid || !token) return undefined;
  const session = services.repos.sessions.get(
    sha256Hex(sid),
    services.sessionFingerprint,
    services.now(),
  );
  return session && equalStrings(sha256Hex(token), session.token_hash) ? session : undefined;
}

/** Middleware that requires an admin (token or session) and a same-origin request for session writes. */
export function requireAdmin(services: Services): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const authorization = c.req.header('authorization');
    if (authorization !== undefined) {
      const token = bearerCredential(authorization);
      const digest = token ? sha256Hex(token) : '';
      const ok = services.deps.adminTokenHashes.some((h) => equalStrings(h, digest));
      if (!ok) throw new AppError('UNAUTHENTICATED', 'invalid admin token');
      c.set('admin', { kind: 'token' });
      return next();
    }
    const session = sessionOf(c, services);
    if (!session) {
      throw new AppError(
        'UNAUTHENTICATED',
        'log in first (a session is its cookie and its token in X-CSRF-Token)',
      );
    }
    if (!SAFE_METHODS.has(c.req.method) && !isSameOrigin(c, services.deps.publicUrl)) {
      throw new AppError('CSRF_REJECTED', 'cross-origin write refused');
    }
    c.set('admin', { kind: 'session', idHash: session.id_hash });
    return next();
  };
}
