/**
 * DNS rebinding (docs/security.md, "Threats and what stops them"): a page on
 * an attacker's name whose DNS answer is switched to 127.0.0.1 is, to the
 * browser, same-origin with the local backend — it reads /status and spends
 * the login budget of 127.0.0.1 — but it still sends its own name in `Host`.
 * So in local mode the backend answers only requests addressed to a loopback
 * name or literal (`localhost`, 127.0.0.0/8, `[::1]`; compared as written,
 * never resolved) or to PUBLIC_URL's host, and refuses the rest with 403
 * FORBIDDEN before any route runs — `/readyz` and the single-writer gate's
 * other answers included: `/readyz` shows the lease's owner, which names the
 * machine and the process id (`vm/8020/…`). local-cloud does the same
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

/** Decides a request's `Host` in local mode: undefined when it may be answered, else the refusal. */
export type HostCheck = (request: Request) => AppError | undefined;

/**
 * The one Host rule, for every answer the local backend makes: the app's
 * ({@link requireLocalHost}) and the single-writer gate's own (`/readyz`, the
 * 503s while starting; writer/gate.ts). Undefined in production, which has
 * no Host check (see above).
 */
export function hostCheckFor(
  mode: 'local' | 'production',
  publicUrl: string | undefined,
): HostCheck | undefined {
  if (mode !== 'local') return undefined;
  const own = publicUrl ? new URL(publicUrl).hostname : undefined;
  return (request) => {
    const host = request.headers.get('host') ?? new URL(request.url).host;
    const hostname = hostnameOf(host);
    if (hostname !== undefined && (isLoopback(hostname) || hostname === own)) return undefined;
    return new AppError(
      'FORBIDDEN',
      `the local backend answers only requests addressed to a loopback host (localhost, 127.0.0.1, [::1])${own ? ` or to ${own}` : ''}; this one was addressed to ${JSON.stringify(host)}`,
    );
  };
}

/** Middleware that refuses, with `check`'s refusal, a request whose `Host` it does not answer. */
export function requireLocalHost(check: HostCheck): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const refusal = check(c.req.raw);
    if (refusal) throw refusal;
    return next();
  };
}
