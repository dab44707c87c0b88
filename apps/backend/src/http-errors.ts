/**
 * The one place error codes become HTTP statuses, and the one error body
 * shape: `{"error":{"code","message","requestId"}}`. The switch is exhaustive
 * over ErrorCode, so adding a code without a status fails the type check.
 */
import type { ErrorAnswer, ErrorCode } from '@slideshow/contracts';
import { AppError, coerceError, type Logger } from '@slideshow/runtime';
import { isNoSpaceErrno } from '@slideshow/storage';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { ZodError } from 'zod';
import { randomToken } from './ids.ts';

/** The HTTP status for an error code. */
export function statusFor(code: ErrorCode): ContentfulStatusCode {
  switch (code) {
    case 'EMPTY_FILE':
    case 'TOO_MANY_PIXELS':
    case 'TOO_MANY_FRAMES':
    case 'DIMENSIONS_TOO_LARGE':
    case 'CORRUPT_IMAGE':
      return 422;
    case 'UNSUPPORTED_FORMAT':
    case 'SVG_NOT_ALLOWED':
    case 'HEIC_NOT_SUPPORTED':
    case 'UNSUPPORTED_MEDIA_TYPE':
      return 415;
    case 'FILE_TOO_LARGE':
    case 'PAYLOAD_TOO_LARGE':
      return 413;
    case 'VALIDATION_FAILED':
      return 400;
    case 'UNAUTHENTICATED':
      return 401;
    case 'FORBIDDEN':
    case 'CSRF_REJECTED':
      return 403;
    case 'NOT_FOUND':
      return 404;
    case 'METHOD_NOT_ALLOWED':
      return 405;
    case 'REQUEST_TIMEOUT':
      return 408;
    case 'CLIENT_CLOSED_REQUEST':
      // nginx's 499 (not in Hono's list of statuses): no client reads it, the request log does.
      return 499 as ContentfulStatusCode;
    case 'CONFLICT':
    case 'STALE_GENERATION':
      return 409;
    case 'PRECONDITION_FAILED':
      return 412;
    case 'RATE_LIMITED':
      return 429;
    case 'DISPATCH_FAILED':
    case 'DISPATCH_REFUSED':
    case 'JOB_REFUSED':
      return 502;
    case 'STORAGE_UNAVAILABLE':
    case 'BACKEND_UNAVAILABLE':
    case 'NOT_READY':
    case 'LEASE_NOT_HELD':
    case 'DECODER_UNAVAILABLE':
    case 'ORIGINAL_MISMATCH':
      return 503;
    case 'STORAGE_FULL':
      // 507 Insufficient Storage (RFC 4918 §11.5): the server cannot store what it was given.
      return 507;
    case 'TIMEOUT':
      return 504;
    case 'JOB_FAILED':
    case 'STUCK':
    // A failed_tasks code, never an HTTP answer (docs/operations.md, "After a restore").
    case 'VARIANTS_MISSING':
    // A start-up refusal (db/migrate.ts), never an HTTP answer.
    case 'SCHEMA_TOO_NEW':
    case 'INTERNAL':
      return 500;
  }
}

/**
 * SQLite's "no room left" for the database file. The store's errno codes
 * (ENOSPC, EDQUOT, EFBIG) are classified by the store adapters themselves
 * (`NO_SPACE_ERRNOS`, @slideshow/storage): they arrive here as STORAGE_FULL.
 */
const SQLITE_NO_SPACE = 'SQLITE_FULL';

/**
 * Another connection holds the database's write lock past the busy timeout
 * (db/open-database.ts): a `sqlite3` session in a write transaction,
 * Litestream's checkpoint. SQLITE_BUSY and SQLITE_LOCKED with their extended
 * codes (SQLITE_BUSY_SNAPSHOT, SQLITE_LOCKED_SHAREDCACHE…): transient.
 */
const SQLITE_BUSY = /^SQLITE_(BUSY|LOCKED)(_[A-Z]+)?$/;

/** Seconds a client should wait before retrying a write refused by a busy database. */
export const DATABASE_BUSY_RETRY_AFTER_S = 1;

/** The errno (Node's or SQLite's `code`) behind an unexpected error; coded errors keep their code. */
function errnoOf(error: unknown): unknown {
  if (error instanceof AppError) {
    if (error.code !== 'INTERNAL') return undefined;
    return error.context.errno ?? errnoOf(error.cause);
  }
  return typeof error === 'object' && error !== null
    ? (error as { code?: unknown }).code
    : undefined;
}

/** A transient refusal by the database: another connection holds its write lock. */
function databaseBusy(error: unknown, errno: string): AppError {
  return new AppError(
    'BACKEND_UNAVAILABLE',
    `the database is busy: another connection holds its write lock (${errno}); retry`,
    {
      cause: error,
      retryable: true,
      context: { errno, retryAfterSeconds: DATABASE_BUSY_RETRY_AFTER_S },
    },
  );
}

/**
 * Normalises anything thrown in a handler: zod failures become
 * VALIDATION_FAILED; no room left (a raw ENOSPC/EDQUOT/EFBIG that escaped a
 * store, or SQLite's SQLITE_FULL) becomes STORAGE_FULL; a locked database
 * (SQLITE_BUSY, SQLITE_LOCKED) becomes a retryable 503 BACKEND_UNAVAILABLE.
 */
export function toAppError(error: unknown): AppError {
  const errno = errnoOf(error);
  if (typeof errno === 'string' && (isNoSpaceErrno(errno) || errno === SQLITE_NO_SPACE)) {
    const cause = coerceError(error);
    return new AppError(
      'STORAGE_FULL',
      `no space left to store the data (${errno}): ${cause.message}`,
      {
        cause: error,
        retryable: true,
        context: { ...cause.context, errno },
      },
    );
  }
  if (typeof errno === 'string' && SQLITE_BUSY.test(errno)) return databaseBusy(error, errno);
  if (error instanceof ZodError) {
    const issues = error.issues
      .slice(0, 5)
      .map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`)
      .join('; ');
    return coerceError(
      Object.assign(new Error(`invalid request: ${issues}`), { cause: error }),
      'VALIDATION_FAILED',
    );
  }
  return coerceError(error);
}

/**
 * The `Retry-After` seconds for an error the client should simply send
 * again (a busy database), or undefined. The app's error handler sets it.
 */
export function retryAfterFor(error: AppError): number | undefined {
  const seconds = error.context.retryAfterSeconds;
  return typeof seconds === 'number' ? seconds : undefined;
}

/**
 * The one log line of a request (or an upload's file) that failed with
 * `error`, at the severity the failure deserves: a busy database is a
 * WARNING without a stack (it passes, and the client retries); any other
 * 5xx is an ERROR with its stack; a 4xx is an INFO refusal; a client gone
 * mid-body is {@link logClientClosed}'s.
 */
export function logFailure(logger: Logger, message: string, error: AppError): void {
  if (error.code === 'CLIENT_CLOSED_REQUEST') {
    logClientClosed(logger, error);
  } else if (retryAfterFor(error) !== undefined) {
    logger.warn(message, { code: error.code, reason: error.message, errno: error.context.errno });
  } else if (statusFor(error.code) >= 500) {
    logger.error(message, { error, code: error.code });
  } else {
    logger.info(message, { code: error.code, reason: error.message });
  }
}

/**
 * The one log line of a request the client closed before its body arrived
 * (CLIENT_CLOSED_REQUEST): INFO, no stack. The client's own decision (the
 * admin page's Cancel), never a server failure for an operator to look at.
 */
export function logClientClosed(logger: Logger, error: AppError): void {
  logger.info('client closed the request', { code: error.code, reason: error.message });
}

/** What an incoming `X-Request-Id` may be to be reused (else a new id is made). */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * The id a request's answer and log lines carry: a safe incoming `X-Request-Id` (a
 * load balancer's, a script's), else a new one. The app (app.ts) and the starting gate
 * (writer/gate.ts) both answer with it.
 */
export function requestIdFor(incoming: string | null | undefined): string {
  return incoming && REQUEST_ID.test(incoming) ? incoming : randomToken(12);
}

/**
 * The JSON error body. An `INTERNAL` error is one no code of ours expected (a
 * bug, a library's own failure): its message may name a file path, SQL or a
 * library's internals, so the caller gets a fixed sentence and the request id,
 * and the message stays in the ERROR log line that carries the same id.
 */
export function errorBody(error: AppError, requestId: string): ErrorAnswer {
  const message =
    error.code === 'INTERNAL'
      ? `an unexpected error; the server log has its details under request id ${requestId}`
      : error.message;
  return { error: { code: error.code, message, requestId } };
}
