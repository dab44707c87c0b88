import * as z from 'zod';
import { AdminThumbnail, FailedTask } from './admin-failed-tasks.ts';
import { Variant } from './image-result.ts';
import { ErrorAnswer } from './ops-answers.ts';
import { ImageStatus } from './processing.ts';

/** A stored variant with its storage key and public URL. */
export const AdminVariant = Variant.extend({ key: z.string(), url: z.string() });
export type AdminVariant = z.infer<typeof AdminVariant>;

/**
 * The admin's view of an image (library cards, lookups, retry answers, the
 * detail). Fields the processor fills (`width` … `dominantColor`, `timings`,
 * `processedAt`) are null until the image was processed; timestamps are ISO
 * 8601.
 */
export const AdminImage = z.object({
  id: z.string(),
  originalName: z.string(),
  title: z.string(),
  caption: z.string(),
  altText: z.string(),
  /** Shown in the public slideshow. */
  published: z.boolean(),
  /**
   * The revision of the description (title, caption, alt text, published): an opaque token
   * that changes whenever any of the four does, by whatever writer. The detail and the PATCH
   * answer send it as their strong `ETag` (`"<revision>"`), and `PATCH /api/admin/images/:id`
   * with `If-Match: "<revision>"` writes only over that revision, else answers 412
   * `PRECONDITION_FAILED` with a {@link DescriptionConflictAnswer}.
   */
  revision: z.string(),
  slidePosition: z.number().int().nullable(),
  status: ImageStatus,
  /**
   * Whether `POST /api/admin/images/:id/retry` takes the image now (it is
   * failed). The console offers Retry, for one image or a bulk selection, by
   * this flag alone; the retry's 409 CONFLICT stays the guard.
   */
  retryable: z.boolean(),
  generation: z.number().int().nonnegative(),
  priority: z.enum(['interactive', 'batch']),
  contentType: z.string(),
  bytes: z.number().int().nonnegative(),
  sha256: z.string(),
  sourceKey: z.string(),
  preset: z.string(),
  width: z.number().int().nullable(),
  height: z.number().int().nullable(),
  format: z.string().nullable(),
  hasAlpha: z.boolean().nullable(),
  frames: z.number().int().nullable(),
  placeholder: z.string().nullable(),
  dominantColor: z.string().nullable(),
  variants: z.array(AdminVariant),
  thumb: AdminThumbnail.nullable(),
  /** Milliseconds per processing phase. */
  timings: z.record(z.string(), z.number()).nullable(),
  attempts: z.number().int().nonnegative(),
  lastErrorCode: z.string().nullable(),
  execution: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
  processedAt: z.string().nullable(),
});
export type AdminImage = z.infer<typeof AdminImage>;

/** A library entry: the admin view and the image's open failure, if any. */
export const LibraryImage = AdminImage.extend({
  failure: z.object({ code: z.string(), message: z.string() }).nullable(),
});
export type LibraryImage = z.infer<typeof LibraryImage>;

/**
 * `GET /api/admin/images`: one page of the library, and the cursor that
 * fetches the next one (null on the last page).
 */
export const LibraryPageAnswer = z.object({
  images: z.array(LibraryImage),
  nextCursor: z.string().nullable(),
});
export type LibraryPageAnswer = z.infer<typeof LibraryPageAnswer>;

/** `POST /api/admin/images/lookup`: the images found by id or content hash, each once. */
export const LibraryLookupAnswer = z.object({ images: z.array(LibraryImage) });
export type LibraryLookupAnswer = z.infer<typeof LibraryLookupAnswer>;

/** `PATCH /api/admin/images/:id`: the image as described now. */
export const LibraryImageAnswer = z.object({ image: LibraryImage });
export type LibraryImageAnswer = z.infer<typeof LibraryImageAnswer>;

/**
 * `PATCH /api/admin/images/:id` refused by its `If-Match` (412 `PRECONDITION_FAILED`): the
 * error, and the image as it is now — its description and `revision` — so a client can show
 * the admin both versions and save again over this revision, or take it.
 */
export const DescriptionConflictAnswer = ErrorAnswer.extend({ image: LibraryImage });
export type DescriptionConflictAnswer = z.infer<typeof DescriptionConflictAnswer>;

/** The bulk actions of `POST /api/admin/images/bulk`. */
export const BulkAction = z.enum(['delete', 'retry', 'hide', 'publish']);
export type BulkAction = z.infer<typeof BulkAction>;

/**
 * `POST /api/admin/images/bulk`: one result per distinct id, in order; a
 * refused image (gone, or not retryable: 409 CONFLICT's code) carries its
 * coded error and does not stop the others.
 */
export const BulkActionAnswer = z.object({
  action: BulkAction,
  results: z.array(
    z.object({
      id: z.string(),
      ok: z.boolean(),
      error: z.object({ code: z.string(), message: z.string() }).optional(),
    }),
  ),
});
export type BulkActionAnswer = z.infer<typeof BulkActionAnswer>;

/**
 * The state of the workflow execution processing an image, as the Workflows
 * Executions API reports it (`state`: ACTIVE, SUCCEEDED, FAILED, CANCELLED,
 * QUEUED, UNAVAILABLE, …).
 */
export const AdminExecutionState = z.object({
  /** Full resource name `projects/P/locations/L/workflows/W/executions/E`. */
  name: z.string(),
  state: z.string(),
  startTime: z.string().optional(),
  endTime: z.string().optional(),
  /** The execution's error payload, when it failed. */
  error: z.string().optional(),
});
export type AdminExecutionState = z.infer<typeof AdminExecutionState>;

/**
 * `GET /api/images/:id`: the admin view with the image's failed task (open or
 * resolved; null when it never failed) and its execution state (null when the
 * dispatcher cannot tell or the Executions API is unreachable).
 */
export const ImageDetailAnswer = AdminImage.extend({
  failedTask: FailedTask.nullable(),
  executionState: AdminExecutionState.nullable(),
});
export type ImageDetailAnswer = z.infer<typeof ImageDetailAnswer>;

/** `POST /api/admin/images/:id/retry` (202): the image at its new generation, queued. */
export const ImageRetryAnswer = z.object({ image: AdminImage });
export type ImageRetryAnswer = z.infer<typeof ImageRetryAnswer>;

/** `DELETE /api/admin/images/:id`: what the delete removed (an ingested source stays in its bucket). */
export const ImageDeleteAnswer = z.object({
  deleted: z.literal(true),
  id: z.string(),
  /** Variant objects removed, every generation's. */
  variantsRemoved: z.number().int().nonnegative(),
  /** Whether the original was deleted (false for an ingested source, which is not ours). */
  sourceDeleted: z.boolean(),
});
export type ImageDeleteAnswer = z.infer<typeof ImageDeleteAnswer>;

/** One event of an image's timeline (an `image_events` row, written by triggers). */
export const ImageEvent = z.object({
  at: z.string(),
  kind: z.enum(['uploaded', 'dispatched', 'started', 'processed', 'failed', 'requeued']),
  generation: z.number().int().nonnegative(),
  /** The processing attempt (`started`), else null. */
  attempt: z.number().int().nullable(),
  execution: z.string().nullable(),
  /** The error code of a `failed` event, else null. */
  code: z.string().nullable(),
  detail: z.string().nullable(),
});
export type ImageEvent = z.infer<typeof ImageEvent>;

/** `GET /api/admin/images/:id/timeline`: the image's events, oldest first. */
export const ImageTimelineAnswer = z.object({ events: z.array(ImageEvent) });
export type ImageTimelineAnswer = z.infer<typeof ImageTimelineAnswer>;
