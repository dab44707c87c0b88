/**
 * Maps errors from `@google-cloud/storage` to the port's AppErrors. The client
 * reports HTTP failures as `ApiError` with a numeric `code` (the status) and
 * network failures as Node system errors with a string `code`.
 */
import { AppError, coerceError } from '@slideshow/runtime';

function statusOf(error: unknown): number | undefined {
  if (error instanceof Error && 'code' in error && typeof error.code === 'number')
    return error.code;
  return undefined;
}

/** True when the client reported HTTP 404 for the request. */
export function isNotFound(error: unknown): boolean {
  return statusOf(error) === 404;
}

/**
 * 404 → NOT_FOUND; 401/403 → FORBIDDEN (credentials or IAM: retrying does not
 * help); 412 → CONFLICT; 416 → VALIDATION_FAILED; 408, 429, 5xx and network
 * errors → retryable STORAGE_UNAVAILABLE (Google's retry guidance for Cloud
 * Storage); any other 4xx → non-retryable STORAGE_UNAVAILABLE.
 */
export function mapGcsError(error: unknown, key: string, operation: string): AppError {
  if (error instanceof AppError) return error;
  const status = statusOf(error);
  const message = error instanceof Error ? error.message : String(error);
  const context = { key, operation, status };
  if (status === 404)
    return new AppError('NOT_FOUND', `No object at ${JSON.stringify(key)}`, {
      cause: error,
      context,
    });
  if (status === 401 || status === 403) {
    return new AppError(
      'FORBIDDEN',
      `Cloud Storage refused ${operation} of ${JSON.stringify(key)} (${status}): ${message}`,
      {
        cause: error,
        context,
      },
    );
  }
  if (status === 412)
    return new AppError('CONFLICT', `Precondition failed for ${JSON.stringify(key)}: ${message}`, {
      cause: error,
      context,
    });
  if (status === 416) {
    return new AppError('VALIDATION_FAILED', `Range not satisfiable for ${JSON.stringify(key)}`, {
      cause: error,
      context,
    });
  }
  if (status !== undefined) {
    const retryable = status === 408 || status === 429 || status >= 500;
    return new AppError(
      'STORAGE_UNAVAILABLE',
      `Cloud Storage ${operation} of ${JSON.stringify(key)} failed (${status}): ${message}`,
      {
        retryable,
        cause: error,
        context,
      },
    );
  }
  if (error instanceof Error) {
    return new AppError(
      'STORAGE_UNAVAILABLE',
      `Cloud Storage ${operation} of ${JSON.stringify(key)} failed: ${message}`,
      {
        retryable: true,
        cause: error,
        context,
      },
    );
  }
  return coerceError(error, 'STORAGE_UNAVAILABLE');
}
