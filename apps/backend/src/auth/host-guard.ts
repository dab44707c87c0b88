/**
 * DNS rebinding (docs/security.md, "Threats and what stops them"): a page on
 * an attacker's name whose DNS answer is switched to 127.0.0.1 is, to the
 * browser, same-origin with the local backend — it reads /status and spends
 * the login budget of 127.0.0.1 — but it still sends its own name in `Host`.
 * So in local mode the backend answers only requests addressed to a loopback
 * name or literal (`localhost`, 127.0.0.0/8, `[::1]`; compared as written,
 * never resolved) or to PUBLIC_URL's host, and refuses the rest with 403
 * FORBIDDEN before any route runs. local-cloud does the same
 * (apps/local-cloud/README.md). Production has no such check: there Cloud Run
 * (or the load balancer of a custom domain) routes by `Host` to the service,
 * and a rebound name would only reach what the internet reaches anyway.
 */
import { AppError } from '@slideshow/runtime';
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../context.ts';

/** True when `hostname`, as `URL.hostname` writes it, names the loopback interface. */
function isLoopback(hostname: string): boolean {
  const name = hostname.replace(/\.$/, '');
  return name === 'localhost' || name === '[::1]' || /^127(\.\d{1,3}){3}$/.test(name);
}

/** The hostname of a `Host` header value, normalised like `URL.hostname`; undefined when invalid. */
function hostnameOf(host: string): string | undefined {
  if (host === '' || /[/?#@\s\\]/.test(host)) return undefined;
  return URL.canParse(`http://${host}`) ? new URL(`http://${host}`).hostname : undefined;
}

/** Middleware that refuses a request whose `Host` is neither loopback nor PUBLIC_URL's host. */
export function requireLocalHost(publicUrl: string | undefined): MiddlewareHandler<AppEnv> {
  const own = publicUrl ? new URL(publicUrl).hostname : undefined;
  return async (c, next) => {
    const host = c.req.header('host') ?? new URL(c.req.url).host;
    const hostname = hostnameOf(host);
    if (hostname === undefined || !(isLoopback(hostname) || hostname === own)) {
      throw new AppError(
        'FORBIDDEN',
        `the local backend answers only requests addressed to a loopback host (localhost, 127.0.0.1, [::1])${own ? ` or to ${own}` : ''}; this one was addressed to ${JSON.stringify(host)}`,
      );
    }
    return next();
  };
}
