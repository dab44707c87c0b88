/**
 * Google's token-signing public keys, fetched from a certificate URL and
 * cached (internal). Accepts both published formats: the PEM map of
 * https://www.googleapis.com/oauth2/v1/certs and the JWKS of
 * https://www.googleapis.com/oauth2/v3/certs. The cache lives as long as the
 * response's `Cache-Control: max-age` allows; an unknown key id triggers one
 * early refetch (rate-limited) so a key rotation is picked up before the
 * cached copy expires.
 */
import { createPublicKey, type JsonWebKey } from 'node:crypto';
import { AppError, coerceError } from '@slideshow/runtime';

/** Options for {@link createCertCache}. */
export interface CertCacheOptions {
  url: string;
  /** Minimum time between two fetches caused by unknown key ids (default 60 s). */
  minRefetchIntervalMs?: number;
  /** Per-fetch timeout (default 5 s). */
  timeoutMs?: number;
  /** Clock, for tests. */
  now?: () => number;
}

/** Key id → PEM public key, fetched and cached. */
export interface CertCache {
  /** The certificates, containing `kid` if the issuer publishes it. */
  certsFor(kid: string): Promise<Record<string, string>>;
  /** How many fetches were made (for tests and metrics). */
  readonly fetches: number;
}

function parseMaxAge(cacheControl: string | null): number {
  const match = cacheControl === null ? null : /(?:^|[,\s])max-age=(\d+)/i.exec(cacheControl);
  if (match === null || /no-cache|no-store/i.test(cacheControl ?? '')) return 0;
  return Number(match[1]) * 1000;
}

function toPemMap(body: unknown): Record<string, string> {
  if (body === null || typeof body !== 'object')
    throw new Error('certificate response is not a JSON object');
  const keys = (body as { keys?: unknown }).keys;
  const out: Record<string, string> = {};
  if (Array.isArray(keys)) {
    for (const jwk of keys as Array<Record<string, unknown>>) {
      if (typeof jwk.kid !== 'string' || jwk.kty !== 'RSA') continue;
      out[jwk.kid] = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' })
        .export({ type: 'spki', format: 'pem' })
        .toString();
    }
    return out;
  }
  for (const [kid, pem] of Object.entries(body)) {
    if (typeof pem === 'string' && pem.includes('-----BEGIN')) out[kid] = pem;
  }
  return out;
}

/** Creates the cache; nothing is fetched until the first `certsFor`. */
export function createCertCache(options: CertCacheOptions): CertCache {
  const now = options.now ?? Date.now;
  const minRefetch = options.minRefetchIntervalMs ?? 60_000;
  const timeoutMs = options.timeoutMs ?? 5_000;
  let certs: Record<string, string> | undefined;
  let expiresAt = 0;
  let fetchedAt = Number.NEGATIVE_INFINITY;
  let inFlight: Promise<Record<string, string>> | undefined;
  let fetches = 0;

  const load = async (): Promise<Record<string, string>> => {
    fetches += 1;
    try {
      const response = await fetch(options.url, { signal: AbortSignal.timeout(timeoutMs) });
      if (!response.ok) throw new Error(`HTTP ${response.status} from the certificate URL`);
      const parsed = toPemMap(await response.json());
      fetchedAt = now();
      expiresAt = fetchedAt + parseMaxAge(response.headers.get('cache-control'));
      certs = parsed;
      return parsed;
    } catch (error) {
      throw new AppError('INTERNAL', 'could not fetch Google signing certificates', {
        retryable: true,
        cause: coerceError(error),
        context: { certsUrl: options.url },
      });
    }
  };

  // Concurrent callers share one fetch.
  const refresh = (): Promise<Record<string, string>> => {
    inFlight ??= load().finally(() => {
      inFlight = undefined;
    });
    return inFlight;
  };

  return {
    get fetches() {
      return fetches;
    },
    async certsFor(kid) {
      if (certs === undefined || now() >= expiresAt) return refresh();
      if (!Object.hasOwn(certs, kid) && now() - fetchedAt >= minRefetch) return refresh();
      return certs;
    },
  };
}
