/**
 * Options for the generated Google API clients (`@google-cloud/tasks`,
 * `@google-cloud/workflows`) from one endpoint URL, and the mapping of their
 * errors onto `AppError('DISPATCH_FAILED')`. Internal to this package.
 */
import { readFileSync } from 'node:fs';
import { AppError, coerceError } from '@slideshow/runtime';
import { type AuthClient, OAuth2Client, PassThroughClient } from 'google-auth-library';

/**
 * What the clients authenticate with: a google-auth-library `AuthClient`
 * (ADC's client, an `Impersonated` client, a `PassThroughClient`…).
 */
export type AuthClientLike = AuthClient;

/** The subset of gax `ClientOptions` this package sets. */
export interface GaxClientOptions {
  apiEndpoint?: string;
  port?: number;
  protocol?: 'http' | 'https';
  fallback?: boolean;
  authClient?: AuthClientLike;
}

/**
 * Builds client options from an endpoint such as `http://127.0.0.1:8123`
 * (local-cloud or a test server) or `https://cloudtasks.googleapis.com`.
 *
 * gax's REST transport (`fallback: true`) builds request URLs as
 * `${protocol}://${apiEndpoint}:${port}/…` (google-gax `fallback.ts`
 * `createStub` and `fallbackRest.encodeRequest`), so a loopback endpoint needs
 * all three. A plain-http endpoint is an emulator: it gets a
 * `PassThroughClient` (google-auth-library's "no credentials, for local
 * emulators" client) unless an auth client is given, so no credentials or
 * metadata server are ever looked up for it.
 */
export function clientOptionsFor(
  apiEndpoint: string | undefined,
  authClient: AuthClientLike | undefined,
  accessToken?: string,
  accessTokenFile?: string,
): GaxClientOptions {
  if (authClient === undefined && accessToken !== undefined && accessToken !== '') {
    return clientOptionsFor(apiEndpoint, staticTokenClient(accessToken));
  }
  if (authClient === undefined && accessTokenFile !== undefined && accessTokenFile !== '') {
    return clientOptionsFor(apiEndpoint, fileTokenClient(accessTokenFile));
  }
  if (apiEndpoint === undefined || apiEndpoint === '') {
    return authClient === undefined ? {} : { authClient };
  }
  let url: URL;
  try {
    url = new URL(apiEndpoint.includes('://') ? apiEndpoint : `https://${apiEndpoint}`);
  } catch (error) {
    throw new TypeError(
      `Expected a URL such as http://127.0.0.1:8123 for apiEndpoint but received ${JSON.stringify(apiEndpoint)} of type string`,
      { cause: error },
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new TypeError(
      `Expected an http(s) URL for apiEndpoint but received ${JSON.stringify(apiEndpoint)} of type string`,
    );
  }
  const plain = url.protocol === 'http:';
  const port = url.port === '' ? (plain ? 80 : 443) : Number(url.port);
  const options: GaxClientOptions = {
    apiEndpoint: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port,
    protocol: plain ? 'http' : 'https',
  };
  // gRPC cannot speak to a plain-http REST emulator; keep gRPC for real endpoints.
  if (plain) options.fallback = true;
  const auth = authClient ?? (plain ? new PassThroughClient() : undefined);
  if (auth !== undefined) options.authClient = auth;
  return options;
}

/**
 * An auth client that always sends `Authorization: Bearer <token>`: an
 * `OAuth2Client` holding an access token without expiry, so it never tries
 * to refresh. For emulators that want a fixed stand-in token (local-cloud's
 * Executions API does).
 */
export function staticTokenClient(token: string): AuthClientLike {
  const client = new OAuth2Client();
  client.setCredentials({ access_token: token, token_type: 'Bearer' });
  return client;
}

/**
 * An auth client that sends the token held in the file `path` as the bearer
 * (local-cloud writes its token to `<data dir>/local-cloud.token`). The file
 * is read when a call first needs it and again about once a minute (an
 * OAuth2Client `refreshHandler` whose tokens expire just past the library's
 * eager-refresh threshold), so a backend started before the emulator, or an
 * emulator that made a new token, needs no restart. An unreadable file fails
 * the call, naming the file.
 */
export function fileTokenClient(path: string): AuthClientLike {
  const client = new OAuth2Client();
  client.refreshHandler = async () => {
    let token: string;
    try {
      token = readFileSync(path, 'utf8').trim();
    } catch (error) {
      throw new Error(`cannot read the access token file ${path}: ${coerceError(error).message}`);
    }
    return {
      access_token: token,
      expiry_date: Date.now() + client.eagerRefreshThresholdMillis + 60_000,
    };
  };
  return client;
}

/**
 * gRPC status codes worth another attempt (https://grpc.github.io/grpc/core/md_doc_statuscodes.html):
 * CANCELLED, UNKNOWN, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, ABORTED,
 * INTERNAL, UNAVAILABLE. Everything else (INVALID_ARGUMENT, NOT_FOUND,
 * PERMISSION_DENIED, UNAUTHENTICATED, FAILED_PRECONDITION…) means the request
 * itself is wrong and repeating it cannot help.
 */
const RETRYABLE_GRPC_CODES = new Set([1, 2, 4, 8, 10, 13, 14]);

/** gRPC code 6: the named task already exists (HTTP 409 over REST). */
export const ALREADY_EXISTS = 6;

/**
 * gRPC codes for HTTP statuses (https://cloud.google.com/apis/design/errors#handling_errors).
 * Older google-gax REST transports (5.x, used by `@google-cloud/workflows`) leave the
 * HTTP status in `code`, newer ones (6.x) translate it; both are handled.
 */
const GRPC_BY_HTTP: Record<number, number> = {
  400: 3,
  401: 16,
  403: 7,
  404: 5,
  409: 6,
  412: 9,
  429: 8,
  499: 1,
  500: 13,
  501: 12,
  503: 14,
  504: 4,
};

/** The gRPC code of a gax error (translated from an HTTP status if needed), if any. */
export function grpcCode(error: unknown): number | undefined {
  if (error === null || typeof error !== 'object' || !('code' in error)) return undefined;
  const code = (error as { code: unknown }).code;
  if (typeof code !== 'number') return undefined;
  if (code >= 0 && code <= 16) return code;
  if (code >= 400 && code <= 599) return GRPC_BY_HTTP[code] ?? (code >= 500 ? 13 : 3);
  return undefined;
}

/**
 * Wraps a client error as `AppError('DISPATCH_FAILED')`; retryable for the
 * transient gRPC codes and for errors without a code (network failures).
 */
export function dispatchError(
  error: unknown,
  action: string,
  context: Record<string, unknown>,
): AppError {
  // Already normalised (e.g. thrown by our own code inside the try): keep it.
  if (error instanceof AppError) return error;
  const code = grpcCode(error);
  const retryable = code === undefined || RETRYABLE_GRPC_CODES.has(code);
  const detail = error instanceof Error ? error.message : String(error);
  return new AppError('DISPATCH_FAILED', `${action} failed: ${detail}`, {
    retryable,
    cause: error,
    context: { ...context, grpcCode: code },
  });
}
