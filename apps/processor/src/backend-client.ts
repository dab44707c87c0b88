/**
 * The processor's side of the processing callbacks (docs/architecture.md#processing-callbacks): job
 * spec,
 * started, complete, failed. Every call carries the callback credential and is
 * retried with exponential backoff and full jitter, within a bounded time, for
 * network errors, 429 and 5xx; any other answer is final.
 */
import type { CallbackCredentials } from '@slideshow/callback-auth';
import type { CompleteBody, ErrorCode, FailedBody, StartedBody } from '@slideshow/contracts';
import { AppError, coerceError, type Logger, retryWithBackoff } from '@slideshow/runtime';
import { fetchTransport, nodeHttpTransport, type TransportResponse } from './http-transport.ts';

/**
 * How a callback is retried, in one place: exponential backoff with full
 * jitter from `initialDelayMs` up to `maxDelayMs`, within the call's deadline
 * (`deadlineMs`, or CALLBACK_DEADLINE_MS: config.ts); each HTTP exchange
 * bounded by `requestTimeoutMs` (never above the deadline, never under
 * `minRequestTimeoutMs`).
 */
export const CALLBACK_DEFAULTS = {
  /** Total time one call may spend, retries included (CALLBACK_DEADLINE_MS overrides it). */
  deadlineMs: 30_000,
  initialDelayMs: 200,
  maxDelayMs: 5_000,
  requestTimeoutMs: 15_000,
  minRequestTimeoutMs: 1_000,
  /**
   * How long a call may keep failing before its retries are logged at WARNING
   * rather than INFO: a backend restarting (a deploy, or a local stack resuming
   * its jobs before the backend is up) answers within seconds and is no alarm;
   * a call that ends failed is reported by its caller.
   */
  warnAfterMs: 10_000,
} as const;

/** Options for {@link createBackendClient}. */
export interface BackendClientOptions {
  /** Backend base URL without a trailing slash. */
  baseUrl: string;
  credentials: CallbackCredentials;
  logger: Logger;
  /** Total time one call may spend, retries included (ms). */
  deadlineMs: number;
  /** Time one HTTP exchange may take (ms); default min(deadline, CALLBACK_DEFAULTS.requestTimeoutMs), at least 1 s. */
  requestTimeoutMs?: number;
  /** Send requests with this `fetch` instead of node:http (see http-transport.ts). */
  fetch?: typeof fetch;
  /** Failing time after which retries log at WARNING (ms); default CALLBACK_DEFAULTS.warnAfterMs. */
  warnAfterMs?: number;
}

/** Per-call options. */
export interface CallOptions {
  /** Aborts the call (and its retries). */
  signal?: AbortSignal;
  /** Overrides the client's deadline for this call (ms). */
  deadlineMs?: number;
}

/** Typed calls to the backend's processing callbacks. */
export interface BackendClient {
  /** `GET /api/processing/:id`: the raw body, checked by job-spec.ts. */
  /**
   * `GET /api/processing/:id[?generation=G]`: naming the generation the task
   * was started for lets the backend answer a regeneration's job spec, whose
   * generation is not the image's served one.
   */
  jobSpec(
    imageId: string,
    options?: CallOptions & { generation?: number | undefined },
  ): Promise<unknown>;
  /** `POST /api/processing/:id/started`. */
  started(imageId: string, body: StartedBody, options?: CallOptions): Promise<void>;
  /** `POST /api/processing/:id/complete`. */
  complete(imageId: string, body: CompleteBody, options?: CallOptions): Promise<void>;
  /** `POST /api/processing/:id/failed`. */
  failed(imageId: string, body: FailedBody, options?: CallOptions): Promise<void>;
}

/** Codes for error answers that do not carry our error shape. */
const STATUS_CODES: Partial<Record<number, ErrorCode>> = {
  400: 'VALIDATION_FAILED',
  401: 'UNAUTHENTICATED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  409: 'CONFLICT',
};

/** Maps an HTTP error answer to an AppError; 429 and 5xx are retryable. */
async function errorFromResponse(response: TransportResponse, what: string): Promise<AppError> {
  const text = await response.text().catch((error: unknown) => coerceError(error).message);
  let code: ErrorCode = STATUS_CODES[response.status] ?? 'BACKEND_UNAVAILABLE';
  let message = text.slice(0, 500);
  let requestId: unknown;
  // Loaded here, off the start-up path: only error answers need the list of codes.
  const { ERROR_CODES } = await import('@slideshow/contracts/error-codes');
  try {
    const body = JSON.parse(text) as {
      error?: { code?: unknown; message?: unknown; requestId?: unknown };
    };
    if (
      typeof body.error?.code === 'string' &&
      ERROR_CODES.includes(body.error.code as ErrorCode)
    ) {
      code = body.error.code as ErrorCode;
    }
    if (typeof body.error?.message === 'string') message = body.error.message;
    requestId = body.error?.requestId;
  } catch (error) {
    // Not the JSON error shape (a proxy's HTML page, say): keep the raw text.
    message = `${message} (${coerceError(error).message})`;
  }
  const retryable = response.status === 429 || response.status >= 500;
  if (retryable) code = 'BACKEND_UNAVAILABLE';
  return new AppError(code, `${what} answered ${response.status}: ${message}`, {
    retryable,
    // `origin` tells the exit policy this 404 is the backend's ("no such image"), not a
    // store's (a missing original, which Cloud Storage also answers 404).
    context: { status: response.status, requestId, origin: 'backend' },
  });
}

/** Creates a {@link BackendClient}. No I/O until a call is made. */
export function createBackendClient(options: BackendClientOptions): BackendClient {
  const transport = options.fetch ? fetchTransport(options.fetch) : nodeHttpTransport;
  const requestTimeoutMs =
    options.requestTimeoutMs ??
    Math.max(
      CALLBACK_DEFAULTS.minRequestTimeoutMs,
      Math.min(options.deadlineMs, CALLBACK_DEFAULTS.requestTimeoutMs),
    );
  const warnAfterMs = options.warnAfterMs ?? CALLBACK_DEFAULTS.warnAfterMs;

  async function call(
    method: 'GET' | 'POST',
    path: string,
    body: unknown,
    callOptions: CallOptions = {},
  ): Promise<unknown> {
    const what = `${method} ${path}`;
    const signal = callOptions.signal;
    const started = Date.now();
    return retryWithBackoff(
      async () => {
        signal?.throwIfAborted();
        const headers: Record<string, string> = {
          authorization: await options.credentials.authorizationHeader(),
          accept: 'application/json',
        };
        if (body !== undefined) headers['content-type'] = 'application/json';
        const timeout = AbortSignal.timeout(requestTimeoutMs);
        let response: TransportResponse;
        try {
          response = await transport(`${options.baseUrl}${path}`, {
            method,
            headers,
            ...(body === undefined ? {} : { body: JSON.stringify(body) }),
            signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
          });
        } catch (error) {
          if (signal?.aborted) throw signal.reason ?? error;
          throw new AppError(
            'BACKEND_UNAVAILABLE',
            `${what} failed: ${coerceError(error).message}`,
            {
              retryable: true,
              cause: error,
            },
          );
        }
        if (!response.ok) throw await errorFromResponse(response, what);
        const text = await response.text();
        return text === '' ? undefined : (JSON.parse(text) as unknown);
      },
      {
        deadlineMs: callOptions.deadlineMs ?? options.deadlineMs,
        initialDelayMs: CALLBACK_DEFAULTS.initialDelayMs,
        maxDelayMs: CALLBACK_DEFAULTS.maxDelayMs,
        ...(signal ? { signal } : {}),
        onRetry: (error, attempt, delayMs) => {
          const failingMs = Date.now() - started;
          const log = failingMs >= warnAfterMs ? options.logger.warn : options.logger.info;
          log('callback failed; retrying', {
            call: what,
            attempt,
            delayMs: Math.round(delayMs),
            failingMs,
            error: coerceError(error).message,
          });
        },
      },
    ).catch((error: unknown) => {
      // An abort during the backoff sleep surfaces as AbortError; report the reason instead.
      if (signal?.aborted) throw signal.reason ?? error;
      throw error;
    });
  }

  const path = (imageId: string, suffix = '') =>
    `/api/processing/${encodeURIComponent(imageId)}${suffix}`;

  return {
    async jobSpec(imageId, callOptions) {
      const generation = callOptions?.generation;
      const query = generation === undefined ? '' : `?generation=${generation}`;
      return call('GET', path(imageId, query), undefined, callOptions);
    },
    async started(imageId, body, callOptions) {
      await call('POST', path(imageId, '/started'), body, callOptions);
    },
    async complete(imageId, body, callOptions) {
      await call('POST', path(imageId, '/complete'), body, callOptions);
    },
    async failed(imageId, body, callOptions) {
      await call('POST', path(imageId, '/failed'), body, callOptions);
    },
  };
}
