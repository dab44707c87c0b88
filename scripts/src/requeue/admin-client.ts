/**
 * A small client for the backend's admin API as the ops scripts use it
 * (requeue-failed, regenerate): list `failed_tasks`, re-queue one image, or
 * send any admin request, authenticated with a bearer admin token. The one
 * retry policy of the scripts: transient failures (network, 429, 5xx — the
 * 503 LEASE_NOT_HELD of a handover among them) are retried with backoff;
 * everything else surfaces as an AppError with a stable code.
 */
import {
  type ErrorCode,
  FailedTaskEntry,
  MAX_FAILED_TASKS_PER_REQUEST,
} from '@slideshow/contracts';
import { AppError, coerceError, retryWithBackoff } from '@slideshow/runtime';

/**
 * One row of `failed_tasks` as the admin API lists it: the contract's
 * `FailedTaskEntry` (packages/contracts admin-failed-tasks.ts) without the
 * image it names, which the scripts do not show, and without `permanent`,
 * which requeue.ts reads from the code by the same rule (`permanenceOf`), so a
 * backend that predates the field is read alike. `retryable` says whether
 * `POST /images/:id/retry` takes the image (the backend's own rule): a failed
 * regeneration's row is not (its image is processed and keeps serving its old
 * variants). A backend that does not say is taken at its word by the retry
 * itself (true).
 */
const ListedFailedTask = FailedTaskEntry.omit({ image: true, permanent: true }).extend({
  retryable: FailedTaskEntry.shape.retryable.default(true),
});

/** One row of `failed_tasks` as the admin API lists it ({@link parseFailedTask}). */
export type FailedTask = ReturnType<typeof ListedFailedTask.parse>;

/**
 * Reads one listed row by the contract; a row that breaks it is an INTERNAL
 * error naming every field that does, never a re-queue of `undefined`.
 */
export function parseFailedTask(raw: unknown): FailedTask {
  const parsed = ListedFailedTask.safeParse(raw);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((i) => `${i.path.join('.') || 'row'}: ${i.message}`);
  throw new AppError(
    'INTERNAL',
    `a failed-tasks row does not match the admin API's contract (${problems.join('; ')}): ${JSON.stringify(raw)}`,
  );
}

/**
 * The most rows one listing asks for: the backend's own cap on `limit`, the
 * same as its bulk retry's (the contract's). Its default page, 500, is what
 * the console shows.
 */
const LIST_LIMIT = MAX_FAILED_TASKS_PER_REQUEST;

/** Filters of the failed-tasks listing. */
export interface FailedTaskFilter {
  /** ISO 8601 instant: only failures recorded at or after it. */
  since?: string;
  /** Only this error code. */
  code?: string;
}

/** One listing: the rows, and the most it could hold (as many rows means older ones were left out). */
export interface FailedTaskListing {
  rows: FailedTask[];
  limit: number;
}

/**
 * The page a backend gives when it does not say (before it took `limit`, it
 * ignored the parameter and answered its default).
 */
const DEFAULT_PAGE = 500;

/** What the ops scripts need from the backend. */
export interface AdminClient {
  listFailedTasks(filter: FailedTaskFilter): Promise<FailedTaskListing>;
  retryImage(imageId: string): Promise<void>;
  /** Any admin request (a JSON body when given); the parsed JSON answer. */
  send(method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown>;
}

/** Where the backend is and the token to call it with, from the environment. */
export interface AdminEnv {
  backendUrl: string;
  token: string;
}

/** Reads BACKEND_URL and ADMIN_TOKEN; throws VALIDATION_FAILED naming the one that is wrong. */
export function readAdminEnv(env: Record<string, string | undefined>): AdminEnv {
  const backendUrl = env.BACKEND_URL ?? '';
  const token = env.ADMIN_TOKEN ?? '';
  if (!/^https?:\/\/[^/]/.test(backendUrl) || !URL.canParse(backendUrl)) {
    throw new AppError(
      'VALIDATION_FAILED',
      `Expected an http(s) URL for BACKEND_URL but received "${backendUrl}"`,
    );
  }
  if (token === '')
    throw new AppError('VALIDATION_FAILED', 'Expected a bearer admin token in ADMIN_TOKEN');
  return { backendUrl, token };
}

/**
 * Why a request never got an answer: fetch's own "fetch failed" says nothing,
 * its cause says what (connect ECONNREFUSED 127.0.0.1:8080, getaddrinfo
 * ENOTFOUND host, a timeout).
 */
function unreachable(error: unknown): string {
  const e = coerceError(error);
  const cause = (error as { cause?: unknown } | null)?.cause;
  if (cause === undefined) return e.message;
  const inner = cause instanceof AggregateError ? cause.errors : [cause];
  return `${e.message} (${inner.map((c) => coerceError(c).message).join('; ')})`;
}

/** Options for {@link createAdminClient}. */
export interface AdminClientOptions {
  /** The backend's base URL, e.g. https://backend-xyz.a.run.app */
  baseUrl: string;
  /** A bearer admin token (never logged). */
  token: string;
  /** Total time allowed per call, retries included (ms). */
  deadlineMs?: number;
  /** Per-request timeout (ms). */
  requestTimeoutMs?: number;
  fetch?: typeof globalThis.fetch;
  /** Told of each failure about to be retried (e.g. to say the backend is unreachable). */
  onRetry?: (error: AppError, attempt: number) => void;
}

/** How long one call may take, retries included, unless told otherwise (ms). */
const DEFAULT_DEADLINE_MS = 30_000;

/**
 * An `onRetry` for the scripts: says once, through `write`, why the first
 * attempt failed and that it is retrying, so an unreachable backend is not a
 * silent wait.
 */
export function sayRetrying(write: (line: string) => void): AdminClientOptions['onRetry'] {
  return (error, attempt) => {
    if (attempt === 0)
      write(`${error.message}; retrying for up to ${DEFAULT_DEADLINE_MS / 1000} s`);
  };
}

function codeForStatus(status: number): { code: ErrorCode; retryable: boolean } {
  if (status === 401) return { code: 'UNAUTHENTICATED', retryable: false };
  if (status === 403) return { code: 'FORBIDDEN', retryable: false };
  if (status === 404) return { code: 'NOT_FOUND', retryable: false };
  if (status === 409) return { code: 'CONFLICT', retryable: false };
  if (status === 429) return { code: 'RATE_LIMITED', retryable: true };
  if (status >= 500) return { code: 'BACKEND_UNAVAILABLE', retryable: true };
  return { code: 'VALIDATION_FAILED', retryable: false };
}

/** Creates an {@link AdminClient} over HTTP. */
export function createAdminClient(options: AdminClientOptions): AdminClient {
  const doFetch = options.fetch ?? globalThis.fetch;
  const base = options.baseUrl.replace(/\/+$/, '');
  const deadlineMs = options.deadlineMs ?? DEFAULT_DEADLINE_MS;
  const requestTimeoutMs = options.requestTimeoutMs ?? 15_000;

  // A retried POST is safe here: a retry of an image is idempotent, and a
  // regeneration start answers 409 CONFLICT while the run it started is active.
  async function call(method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> {
    return retryWithBackoff(
      async () => {
        let response: Response;
        try {
          response = await doFetch(`${base}${path}`, {
            method,
            headers: {
              authorization: `Bearer ${options.token}`,
              accept: 'application/json',
              ...(body === undefined ? {} : { 'content-type': 'application/json' }),
            },
            ...(body === undefined ? {} : { body: JSON.stringify(body) }),
            signal: AbortSignal.timeout(requestTimeoutMs),
          });
        } catch (error) {
          throw new AppError(
            'BACKEND_UNAVAILABLE',
            `${method} ${base}${path}: ${unreachable(error)}`,
            {
              retryable: true,
              cause: coerceError(error),
            },
          );
        }
        const text = await response.text();
        if (!response.ok) {
          const { code, retryable } = codeForStatus(response.status);
          throw new AppError(code, `${method} ${path} answered ${response.status}: ${text}`, {
            retryable,
            context: { status: response.status },
          });
        }
        if (text === '') return undefined;
        try {
          return JSON.parse(text) as unknown;
        } catch (error) {
          throw new AppError('INTERNAL', `${method} ${path} answered non-JSON: ${text}`, {
            cause: coerceError(error),
          });
        }
      },
      {
        deadlineMs,
        initialDelayMs: 250,
        maxDelayMs: 4_000,
        onRetry: (error, attempt) => options.onRetry?.(coerceError(error), attempt),
      },
    );
  }

  return {
    async listFailedTasks(filter) {
      const query = new URLSearchParams({ unresolved: 'true', limit: String(LIST_LIMIT) });
      if (filter.since) query.set('since', filter.since);
      if (filter.code) query.set('code', filter.code);
      const body = await call('GET', `/api/admin/failed-tasks?${query}`);
      const answer = body as { failedTasks?: unknown; limit?: unknown } | undefined;
      const rows = answer?.failedTasks;
      if (!Array.isArray(rows)) {
        throw new AppError('INTERNAL', 'the failed-tasks listing has no failedTasks array');
      }
      const limit = typeof answer?.limit === 'number' ? answer.limit : DEFAULT_PAGE;
      return { rows: rows.map(parseFailedTask), limit };
    },
    async retryImage(imageId) {
      await call('POST', `/api/admin/images/${encodeURIComponent(imageId)}/retry`);
    },
    send: call,
  };
}
