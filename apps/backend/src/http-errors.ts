/**
 * The one place error codes become HTTP statuses, and the one error body
 * shape: `{"error":{"code","message","requestId"}}`. The switch is exhaustive
 * over ErrorCode, so adding a code without a status fails the type check.
 */
import type { ErrorCode } from '@slideshow/contracts';
import { type AppError, coerceError } from '@slideshow/runtime';
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
    case 'CONFLICT':
    case 'STALE_GENERATION':
      return 409;
    case 'RATE_LIMITED':
      return 429;
    case 'DISPATCH_FAILED':
      return 502;
    case 'STORAGE_UNAVAILABLE':
    case 'BACKEND_UNAVAILABLE':
    case 'DECODER_UNAVAILABLE':
      return 503;
    case 'TIMEOUT':
      return 504;
    case 'JOB_FAILED':
    case 'STUCK':
    case 'INTERNAL':
      return 500;
  }
}

/** Normalises anything thrown in a handler, turning zod failures into VALIDATION_FAILED. */
export function toAppError(error: unknown): AppError {
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

/** The JSON error body. */
export function errorBody(error: AppError, requestId: string) {
  return { error: { code: error.code, message: error.message, requestId } };
}
