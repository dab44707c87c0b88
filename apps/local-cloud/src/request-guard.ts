/**
 * Who may call local-cloud. It runs jobs as the developer's user, so it
 * answers only requests that (1) are addressed to a loopback host — a page
 * that rebinds its own DNS name to 127.0.0.1 still sends its name in `Host` —
 * (2) do not come from a web page — browsers mark every request a page makes
 * with `Origin` and/or `Sec-Fetch-Site` (Fetch standard §3.1, W3C Fetch
 * Metadata); gcloud, the client libraries and Node's fetch send neither — and
 * (3) carry local-cloud's token as an OAuth bearer, as Google's APIs expect.
 * The first two answer 403 PERMISSION_DENIED, the third 401 UNAUTHENTICATED
 * with Google's messages.
 */
import { timingSafeEqual } from 'node:crypto';
import type { Logger } from '@slideshow/runtime';
import { ApiError } from './google-error.ts';
import { hostHeaderHostname, isLoopbackHostname } from './loopback.ts';
import type { HeaderReader } from './router.ts';

/** Google's wording (the Google API front end's 401s). */
const EXPECTED =
  'Expected OAuth 2 access token, login cookie or other valid authentication credential.';

function bearer(header: string | null): string | undefined {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return m?.[1];
}

/** Constant-time comparison of a presented token with the expected one. */
export function tokenMatches(presented: string | undefined, expected: string): boolean {
  if (presented === undefined) return false;
  const a = Buffer.from(presented);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Where local-cloud's token is and how to use it, appended to 401 messages. */
export interface GuardOptions {
  token: string;
  /** E.g. "local-cloud's token is in /repo/.data/local-cloud.token". */
  hint?: string;
}

/**
 * The reason a request must be refused, or undefined when it may be served.
 * Only headers are read, so the server can refuse before reading a body.
 */
export function refusal(headers: HeaderReader, options: GuardOptions): ApiError | undefined {
  const host = headers.get('host') ?? '';
  const hostname = hostHeaderHostname(host);
  if (hostname === undefined || !isLoopbackHostname(hostname)) {
    return new ApiError(
      'PERMISSION_DENIED',
      `local-cloud answers only requests addressed to a loopback host (localhost, 127.0.0.1, [::1]); this one was addressed to ${JSON.stringify(host)}.`,
    );
  }
  const origin = headers.get('origin');
  const site = headers.get('sec-fetch-site');
  if (origin !== null || (site !== null && site !== 'none')) {
    return new ApiError(
      'PERMISSION_DENIED',
      `local-cloud refuses requests made by web pages (Origin: ${origin ?? 'none'}, Sec-Fetch-Site: ${site ?? 'none'}).`,
    );
  }
  const authorization = headers.get('authorization');
  const hint = options.hint ? ` (${options.hint})` : '';
  if (authorization === null) {
    return new ApiError(
      'UNAUTHENTICATED',
      `Request is missing required authentication credential. ${EXPECTED}${hint}`,
    );
  }
  if (!tokenMatches(bearer(authorization), options.token)) {
    return new ApiError(
      'UNAUTHENTICATED',
      `Request had invalid authentication credentials. ${EXPECTED}${hint}`,
    );
  }
  return undefined;
}

/** Logs a refusal once: web pages and foreign hosts at WARNING, missing or wrong tokens at INFO. */
export function logRefusal(logger: Logger, method: string, refused: ApiError): void {
  const fields = { method, status: refused.status, reason: refused.message };
  if (refused.status === 'PERMISSION_DENIED') logger.warn('request refused', fields);
  else logger.info('request refused', fields);
}
