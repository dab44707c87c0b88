/**
 * The closed list of error codes the system emits. Every error response, every
 * `failed_tasks` row and every refused image carries one of these, so callers
 * and operators can branch on a stable string instead of a message.
 */
export const IMAGE_ERROR_CODES = [
  'EMPTY_FILE',
  'FILE_TOO_LARGE',
  'UNSUPPORTED_FORMAT',
  'SVG_NOT_ALLOWED',
  'HEIC_NOT_SUPPORTED',
  'TOO_MANY_PIXELS',
  'TOO_MANY_FRAMES',
  'DIMENSIONS_TOO_LARGE',
  'CORRUPT_IMAGE',
] as const;

/** Codes for refused or undecodable images: permanent, retrying cannot help. */
export type ImageErrorCode = (typeof IMAGE_ERROR_CODES)[number];

export const SERVICE_ERROR_CODES = [
  'VALIDATION_FAILED',
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'CSRF_REJECTED',
  'NOT_FOUND',
  // Routes take the path, but not with this method (status 405, with `Allow`).
  'METHOD_NOT_ALLOWED',
  'CONFLICT',
  // A conditional write's `If-Match` names a revision that is no longer the current one (RFC
  // 9110 §13.1.1, status 412): another admin, tab or script changed the image's description
  // since the client read it. The answer carries the current image; nothing was written.
  'PRECONDITION_FAILED',
  'PAYLOAD_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
  'RATE_LIMITED',
  'STALE_GENERATION',
  'STORAGE_UNAVAILABLE',
  /** The store (or the database) has no room left: disk full, quota, file size limit. */
  'STORAGE_FULL',
  'BACKEND_UNAVAILABLE',
  'DISPATCH_FAILED',
  // The queue service refused a dispatch for good (PERMISSION_DENIED, a deleted queue):
  // the outbox relay fails the image with it instead of retrying (docs/reliability.md).
  'DISPATCH_REFUSED',
  'TIMEOUT',
  'JOB_FAILED',
  // The Cloud Run Admin API refused to run the processor job for good (403: a missing
  // permission, 404: a missing job): the workflow reports it at once, as the relay does
  // DISPATCH_REFUSED, instead of leaving the image to the reaper (workflows/process-image.workflows.yaml).
  'JOB_REFUSED',
  'STUCK',
  'INTERNAL',
  'REQUEST_TIMEOUT',
  // The client went away before its request's body had arrived (the admin page's Cancel
  // aborts an upload; a closed tab): not a server failure, logged at INFO. Status 499,
  // nginx's "client closed request": nobody receives it, it names the request in the log.
  'CLIENT_CLOSED_REQUEST',
  // Single writer (@slideshow/lease): the instance is starting (waiting for the
  // lease or restoring), or does not hold the lease (handed over, lost): retry.
  'NOT_READY',
  'LEASE_NOT_HELD',
  // A decoder the processor needs (libheif-js for HEIC) could not be loaded: the
  // deployment is broken, not the image, so it is retryable once that is fixed.
  'DECODER_UNAVAILABLE',
  // The original read from the store does not match the SHA-256 recorded when it was
  // accepted (a short read, or an object changed or damaged in the bucket). Retryable: a
  // short read is likelier (keys are never reused); on the final attempt the image fails
  // with it, and the fix is to restore the original, not to retry.
  'ORIGINAL_MISMATCH',
  // A processed image whose variant files are gone from the store (a database restored to
  // before a delete: docs/operations.md, "After a restore"), found by POST
  // /api/admin/reconcile/variants while its original is still there. Retryable, as every
  // service code but NOT_FOUND is (see permanenceOf): a retry makes the set again.
  // With the original gone too the image fails NOT_FOUND, the processor's own verdict for
  // a missing original.
  'VARIANTS_MISSING',
  // The backend refused to start on a database a newer release migrated in a way this one
  // cannot run on (a breaking migration it does not know: apps/backend/src/db/migrate.ts).
  // A start-up refusal, never an HTTP answer; deploy a newer release or restore a backup
  // (docs/operations.md, "Rolling back").
  'SCHEMA_TOO_NEW',
] as const;

/** Codes for everything that is not about the image's bytes. */
export type ServiceErrorCode = (typeof SERVICE_ERROR_CODES)[number];

/** Every error code. */
export type ErrorCode = ImageErrorCode | ServiceErrorCode;

export const ERROR_CODES: readonly ErrorCode[] = [...IMAGE_ERROR_CODES, ...SERVICE_ERROR_CODES];

/** True when `code` names a permanent problem with the image itself. */
export function isImageErrorCode(code: string): code is ImageErrorCode {
  return (IMAGE_ERROR_CODES as readonly string[]).includes(code);
}

/**
 * Why a retry of an image that failed with a code fails the same way until something
 * outside the pipeline changes: `image`, its bytes were refused (IMAGE_ERROR_CODES; a
 * changed processor may take them: `scripts/requeue-failed --include-permanent`, as
 * `scripts/rollback` runs it); `original-missing`, its original is gone from the store
 * (restoring it helps, then `--code NOT_FOUND`; a bad release can also fail good images
 * so — a wrong bucket or key — which `scripts/rollback` re-queues with
 * `--include-missing-originals`).
 */
export const PERMANENCE = ['image', 'original-missing'] as const;
/** One of {@link PERMANENCE}. */
export type Permanence = (typeof PERMANENCE)[number];

/**
 * A failed image's code for "the original is gone". Only two places record it on a
 * failed_tasks row, both meaning that: the processor, whose only store read is the
 * original (a backend 404 it treats as "image deleted" and reports nothing), and the
 * variant reconcile (apps/backend/src/reconcile/variant-check.ts) with the original gone.
 */
export const ORIGINAL_MISSING_CODE = 'NOT_FOUND' satisfies ServiceErrorCode;

/**
 * The one owner of "permanent" for a failed image's code (a failed_tasks row's
 * `error_code`): what `scripts/requeue-failed` skips by default, and the
 * `permanent` of `GET /api/admin/failed-tasks` rows. Undefined when a retry may
 * succeed as it is. Not for HTTP answers: there NOT_FOUND is a plain 404.
 */
export function permanenceOf(code: string): Permanence | undefined {
  if (isImageErrorCode(code)) return 'image';
  return code === ORIGINAL_MISSING_CODE ? 'original-missing' : undefined;
}
