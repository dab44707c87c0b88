/**
 * Admin authentication: a bearer admin token (scripts) or the `sid` session
 * cookie (the admin page). Cookie-authenticated writes must be same-origin
 * (`Origin`, or `Sec-Fetch-Site` when there is no Origin) AND carry the
 * session's token in `X-CSRF-Token` (OWASP CSRF cheat sheet: "verifying origin
 * with standard headers" plus a synchronizer token). Bearer requests are
 * exempt: a browser never attaches them on its own.
 */
import { timingSafeEqual } from 'node:crypto';
import { bearerCredential } from '@slideshow/callback-auth';
import { AppError } from '@slideshow/runtime';
import type { Context, MiddlewareHandler } from 'hono';
import { getCookie } from 'hono/cookie';
import type { AppEnv, Services } from '../context.ts';
import { sha256Hex } from '../ids.ts';

/** Name of the session cookie. */
export const SESSION_COOKIE = 'sid';

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

/** Middleware that requires an admin (token or session) and enforces CSRF for cookie writes. */
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
    const sid = getCookie(c, SESSION_COOKIE);
    const session = sid ? services.repos.sessions.get(sha256Hex(sid), services.now()) : undefined;
    if (!session) throw new AppError('UNAUTHENTICATED', 'log in first');
    if (!SAFE_METHODS.has(c.req.method)) {
      if (!isSameOrigin(c, services.deps.publicUrl)) {
        throw new AppError('CSRF_REJECTED', 'cross-origin write refused');
      }
      const sent = c.req.header('x-csrf-token') ?? '';
      if (!equalStrings(sent, session.csrf_token)) {
        throw new AppError('CSRF_REJECTED', 'missing or wrong X-CSRF-Token header');
      }
    }
    c.set('admin', { kind: 'session', idHash: session.id_hash, csrfToken: session.csrf_token });
    return next();
  };
}
