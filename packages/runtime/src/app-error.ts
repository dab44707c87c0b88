import type { ErrorCode } from '@slideshow/contracts';

/** Options for {@link AppError}. */
export interface AppErrorOptions {
  /** True when trying again later may succeed (network, storage, a busy peer). */
  retryable?: boolean;
  cause?: unknown;
  /** Facts for logs (never secrets). */
  context?: Record<string, unknown>;
}

/**
 * The one error type that crosses module boundaries. `code` is stable and
 * machine-readable; `message` is for people; `retryable` drives the processor's
 * exit status and the relay's backoff.
 */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly context: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: AppErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.context = options.context ?? {};
  }

  /** The public error body, without cause or context. */
  toJSON(): { code: ErrorCode; message: string } {
    return { code: this.code, message: this.message };
  }
}

/** Normalises anything thrown into an AppError (unknown errors become retryable INTERNAL). */
export function coerceError(error: unknown, fallback: ErrorCode = 'INTERNAL'): AppError {
  if (error instanceof AppError) return error;
  if (error instanceof Error) {
    return new AppError(fallback, error.message, {
      cause: error,
      retryable: fallback === 'INTERNAL',
    });
  }
  return new AppError(fallback, `non-error thrown: ${String(error)}`, { retryable: true });
}

/** True for errors worth another attempt. */
export function isRetryable(error: unknown): boolean {
  return coerceError(error).retryable;
}
