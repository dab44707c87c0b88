import * as z from 'zod';
import { ImageStatus } from './processing.ts';

/**
 * One file of an upload or an ingest: the image it made (or, for `duplicate`,
 * the image already holding the same bytes), or its refusal with the coded
 * error.
 */
export const UploadOutcome = z.union([
  z.object({
    id: z.string(),
    status: ImageStatus,
    duplicate: z.boolean(),
    originalName: z.string(),
  }),
  z.object({
    originalName: z.string(),
    error: z.object({ code: z.string(), message: z.string() }),
  }),
]);
export type UploadOutcome = z.infer<typeof UploadOutcome>;

/**
 * `POST /api/admin/upload` and `POST /api/admin/upload-sessions/:id/complete`
 * (202): one outcome per file, in order. Sent when at least one file was
 * accepted; when none was, the answer is the first refusal's error instead.
 */
export const UploadAnswer = z.object({ images: z.array(UploadOutcome) });
export type UploadAnswer = z.infer<typeof UploadAnswer>;

/** `POST /api/admin/ingest` (202): one outcome per object, and whether the prefix listed more than one call takes. */
export const IngestAnswer = UploadAnswer.extend({ truncated: z.boolean() });
export type IngestAnswer = z.infer<typeof IngestAnswer>;

/**
 * `POST /api/admin/upload-sessions` (201): a resumable upload session — the
 * URL the browser sends the bytes to (Cloud Storage's resumable protocol), in
 * chunks of at most `chunkBytes`, before `expiresAt` (ISO 8601).
 */
export const UploadSessionAnswer = z.object({
  id: z.string(),
  sessionUrl: z.string(),
  chunkBytes: z.number().int().positive(),
  size: z.number().int().positive(),
  expiresAt: z.string(),
});
export type UploadSessionAnswer = z.infer<typeof UploadSessionAnswer>;

/**
 * `GET /api/admin/upload-sessions/:id`: how many bytes the store holds, asked of the store, and
 * when the session expires (ISO 8601 UTC) — later than the last answer's when bytes arrived
 * since (the sliding expiry: docs/operations.md, "Uploads").
 */
export const UploadSessionStatusAnswer = z.object({
  id: z.string(),
  size: z.number().int().nonnegative(),
  received: z.number().int().nonnegative(),
  complete: z.boolean(),
  expiresAt: z.iso.datetime(),
});
export type UploadSessionStatusAnswer = z.infer<typeof UploadSessionStatusAnswer>;

/** `DELETE /api/admin/upload-sessions/:id`: false when there was no such session. */
export const UploadSessionCancelAnswer = z.object({ cancelled: z.boolean() });
export type UploadSessionCancelAnswer = z.infer<typeof UploadSessionCancelAnswer>;

/** `DELETE /api/admin/uploads/:uploadId`: the images of that upload removed so far. */
export const UploadCancelAnswer = z.object({
  cancelled: z.literal(true),
  uploadId: z.string(),
  removed: z.array(z.string()),
});
export type UploadCancelAnswer = z.infer<typeof UploadCancelAnswer>;
