import * as z from 'zod';
import { PERMANENCE } from './error-codes.ts';
import { FailureSource, ImageStatus } from './processing.ts';

/**
 * A thumbnail for a grid card or a table row: the small still variants per
 * format for `<picture>`/`srcset` (the browser picks the width from `sizes`),
 * and the JPEG/PNG (else smallest) fallback `src`. Null until the image has a
 * variant no wider than 640 px.
 */
export const AdminThumbnail = z.object({
  src: z.string(),
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  sources: z.array(
    z.object({
      format: z.enum(['avif', 'webp', 'jpeg', 'png']),
      /** MIME type, e.g. `image/avif`. */
      type: z.string(),
      srcset: z.string(),
    }),
  ),
});
export type AdminThumbnail = z.infer<typeof AdminThumbnail>;

/**
 * Most failed tasks one bulk retry takes (newest first), and most rows one
 * `GET /api/admin/failed-tasks` listing gives (`limit`): scripts/requeue-failed
 * asks for this many, so one run sees what a bulk retry would.
 */
export const MAX_FAILED_TASKS_PER_REQUEST = 10_000;

/** A recorded failure of an image (its `failed_tasks` row); timestamps are ISO 8601. */
export const FailedTask = z.object({
  imageId: z.string(),
  errorCode: z.string(),
  errorMessage: z.string(),
  attemptCount: z.number().int().nonnegative(),
  lastAttempt: z.string(),
  /** The workflow execution that reported it, when known. */
  execution: z.string().nullable(),
  source: FailureSource,
  createdAt: z.string(),
  /** When a retry or a later success resolved it; null while it is open. */
  resolvedAt: z.string().nullable(),
});
export type FailedTask = z.infer<typeof FailedTask>;

/**
 * One row of `GET /api/admin/failed-tasks`: the failure, whether
 * `POST /api/admin/images/:id/retry` takes its image now (`retryable`: the
 * image is failed; a failed regeneration's image is processed and keeps
 * serving its old variants, so its row is not), whether such a retry fails the
 * same way until something else changes (`permanent`, error-codes.ts
 * `permanenceOf`: null when it may succeed), and the image it names (null once
 * the image is deleted).
 */
export const FailedTaskEntry = FailedTask.extend({
  retryable: z.boolean(),
  permanent: z.enum(PERMANENCE).nullable(),
  image: z
    .object({
      originalName: z.string(),
      title: z.string(),
      status: ImageStatus,
      format: z.string().nullable(),
      placeholder: z.string().nullable(),
      thumb: AdminThumbnail.nullable(),
    })
    .nullable(),
});
export type FailedTaskEntry = z.infer<typeof FailedTaskEntry>;

/**
 * `GET /api/admin/failed-tasks`: the rows newest first, at most `limit` of
 * them (the query's `limit` as applied: as many rows as that means older ones
 * were left out), and how many images `POST /api/admin/failed-tasks/retry`
 * with the same `since`/`code` would retry now (the console's "Retry all
 * failed" confirms this count).
 */
export const FailedTasksAnswer = z.object({
  failedTasks: z.array(FailedTaskEntry),
  limit: z.number().int().positive(),
  retryableCount: z.number().int().nonnegative(),
});
export type FailedTasksAnswer = z.infer<typeof FailedTasksAnswer>;

/**
 * `POST /api/admin/failed-tasks/retry` (202): the images retried, and those
 * that changed between the selection and their retry (deleted, or no longer
 * failed) with the coded reason.
 */
export const BulkRetryAnswer = z.object({
  retried: z.array(z.string()),
  skipped: z.array(z.object({ id: z.string(), code: z.string(), message: z.string() })),
});
export type BulkRetryAnswer = z.infer<typeof BulkRetryAnswer>;
