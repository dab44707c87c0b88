/**
 * The one place error codes become HTTP statuses, and the one error body
 * shape: `{"error":{"code","message","requestId"}}`. The switch is exhaustive
 * over ErrorCode, so adding a code without a status fails the type check.
 */
import type { ErrorAnswer, ErrorCode } from '@slideshow/contracts';
import { AppError, coerceError, type Logger } from '@slideshow/runtime';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { ZodError } from 'zod';

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
    case 'REQUEST_TIMEOUT':
      return 408;
    case 'CLIENT_CLOSED_REQUEST':
      // nginx's 499 (not in Hono's list of statuses): no client reads it, the request log does.
      return 499 as ContentfulStatusCode;
    case 'CONFLICT':
    case 'STALE_GENERATION':
      return 409;
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
    case 'INTERNAL':
      return 500;
  }
}

/** errno values that mean "no room left", whichever layer reports them. */
const NO_SPACE = new Set(['ENOSPC', 'EDQUOT', 'EFBIG', 'SQLITE_FULL']);

/** The errno behind a storage failure or an unexpected error; other coded errors keep their code. */
function errnoOf(error: unknown): unknown {
  if (error instanceof AppError) {
    if (error.code !== 'STORAGE_UNAVAILABLE' && error.code !== 'INTERNAL') return undefined;
    return error.context.errno ?? errnoOf(error.cause);
  }
  return typeof error === 'object' && error !== null
    ? (error as { code?: unknown }).code
    : undefined;
}

/**
 * Normalises anything thrown in a handler: zod failures become
 * VALIDATION_FAILED; a full disk (the fs store's STORAGE_UNAVAILABLE with
 * errno ENOSPC/EDQUOT/EFBIG, or SQLite's SQLITE_FULL) becomes STORAGE_FULL.
 */
export function toAppError(error: unknown): AppError {
  const errno = errnoOf(error);
  if (typeof errno === 'string' && NO_SPACE.has(errno)) {
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
 * The one log line of a request the client closed before its body arrived
 * (CLIENT_CLOSED_REQUEST): INFO, no stack. The client's own decision (the
 * admin page's Cancel), never a server failure for an operator to look at.
 */
export function logClientClosed(logger: Logger, error: AppError): void {
  logger.info('client closed the request', { code: error.code, reason: error.message });
}

/** The JSON error body. */
export function errorBody(error: AppError, requestId: string): ErrorAnswer {
  return { error: { code: error.code, message: error.message, requestId } };
}
