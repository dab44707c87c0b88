/**
 * A small client for the backend's admin API as the ops scripts use it:
 * list `failed_tasks` and re-queue one image, authenticated with a bearer
 * admin token. Transient failures (network, 429, 5xx) are retried with
 * backoff; everything else surfaces as an AppError with a stable code.
 */
import type { ErrorCode } from '@slideshow/contracts';
import { AppError, coerceError, retryWithBackoff } from '@slideshow/runtime';

/** One row of `failed_tasks` as `GET /api/admin/failed-tasks` returns it. */
export interface FailedTask {
  image_id: string;
  error_code: string;
  error_message: string;
  attempt_count: number;
  last_attempt: string | null;
  source: string;
  execution: string | null;
  created_at: string;
  resolved_at: string | null;
}

/** Filters of the failed-tasks listing. */
export interface FailedTaskFilter {
  /** ISO 8601 instant: only failures recorded at or after it. */
  since?: string;
  /** Only this error code. */
  code?: string;
}

/** What the ops scripts need from the backend. */
export interface AdminClient {
  listFailedTasks(filter: FailedTaskFilter): Promise<FailedTask[]>;
  retryImage(imageId: string): Promise<void>;
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
  const deadlineMs = options.deadlineMs ?? 30_000;
  const requestTimeoutMs = options.requestTimeoutMs ?? 15_000;

  async function call(method: 'GET' | 'POST', path: string): Promise<unknown> {
    return retryWithBackoff(
      async () => {
        let response: Response;
        try {
          response = await doFetch(`${base}${path}`, {
            method,
            headers: { authorization: `Bearer ${options.token}`, accept: 'application/json' },
            signal: AbortSignal.timeout(requestTimeoutMs),
          });
        } catch (error) {
          const cause = coerceError(error);
          throw new AppError('BACKEND_UNAVAILABLE', `${method} ${path}: ${cause.message}`, {
            retryable: true,
            cause,
          });
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
      { deadlineMs, initialDelayMs: 250, maxDelayMs: 4_000 },
    );
  }

  return {
    async listFailedTasks(filter) {
      const query = new URLSearchParams({ unresolved: 'true' });
      if (filter.since) query.set('since', filter.since);
      if (filter.code) query.set('code', filter.code);
      const body = await call('GET', `/api/admin/failed-tasks?${query}`);
      const rows = (body as { failedTasks?: unknown } | undefined)?.failedTasks;
      if (!Array.isArray(rows)) {
        throw new AppError('INTERNAL', 'the failed-tasks listing has no failedTasks array');
      }
      return rows as FailedTask[];
    },
    async retryImage(imageId) {
      await call('POST', `/api/admin/images/${encodeURIComponent(imageId)}/retry`);
    },
  };
}
