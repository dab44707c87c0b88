/**
 * Errors in Google's JSON shape (https://cloud.google.com/apis/design/errors):
 * `{"error":{"code":409,"message":"…","status":"ALREADY_EXISTS"}}`. Client
 * libraries and gcloud parse this body, so every failure leaves in this form.
 */

/** Canonical gRPC status names mapped to their HTTP codes (google.rpc.Code). */
export const STATUS_HTTP = {
  INVALID_ARGUMENT: 400,
  FAILED_PRECONDITION: 400,
  OUT_OF_RANGE: 400,
  UNAUTHENTICATED: 401,
  PERMISSION_DENIED: 403,
  NOT_FOUND: 404,
  ALREADY_EXISTS: 409,
  ABORTED: 409,
  RESOURCE_EXHAUSTED: 429,
  CANCELLED: 499,
  INTERNAL: 500,
  UNKNOWN: 500,
  UNIMPLEMENTED: 501,
  UNAVAILABLE: 503,
  DEADLINE_EXCEEDED: 504,
} as const;

/** A google.rpc status name. */
export type GoogleStatus = keyof typeof STATUS_HTTP;

/** Numeric google.rpc.Code values, used in Operation.error. */
export const RPC_CODE: Record<GoogleStatus, number> = {
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
};

/** An API failure that becomes Google's error JSON at the HTTP boundary. */
export class ApiError extends Error {
  readonly status: GoogleStatus;

  constructor(status: GoogleStatus, message: string) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
  }

  /** The HTTP status code for this error. */
  get httpCode(): number {
    return STATUS_HTTP[this.status];
  }

  /** Google's error body. */
  toBody(): { error: { code: number; message: string; status: GoogleStatus } } {
    return { error: { code: this.httpCode, message: this.message, status: this.status } };
  }
}

/** 404 NOT_FOUND for a resource name. */
export function notFound(what: string, name: string): ApiError {
  return new ApiError('NOT_FOUND', `${what} does not exist: ${name}`);
}

/** 400 INVALID_ARGUMENT. */
export function invalidArgument(message: string): ApiError {
  return new ApiError('INVALID_ARGUMENT', message);
}
