import * as z from 'zod';

/**
 * Most images one `POST /api/admin/reconcile/variants` checks, and most
 * originals one `GET /api/admin/reconcile/originals` lists: each request is
 * one bounded batch, and scripts/reconcile walks the batches by `next`.
 */
export const MAX_RECONCILE_BATCH = 500;

/**
 * A processed image whose current variant set is incomplete in the store.
 * `code` is what the image failed with (or would, in a dry run):
 * `VARIANTS_MISSING` while its original exists (a retry makes the set again),
 * `NOT_FOUND` when the original is gone too (nothing can make it again).
 */
export const ReconcileFinding = z.object({
  imageId: z.string(),
  originalName: z.string(),
  code: z.enum(['VARIANTS_MISSING', 'NOT_FOUND']),
  /** Variants the image's record names. */
  variants: z.number().int().nonnegative(),
  /** How many of them the store no longer has. */
  missing: z.number().int().nonnegative(),
  /** Whether this request marked it failed (false in a dry run, or when it moved on meanwhile). */
  failed: z.boolean(),
});
export type ReconcileFinding = z.infer<typeof ReconcileFinding>;

/**
 * `POST /api/admin/reconcile/variants`: one batch of processed images (by id,
 * after the request's `after`), each checked against the store. `next` is the
 * `after` of the next batch, null once every processed image was checked.
 */
export const ReconcileVariantsAnswer = z.object({
  dryRun: z.boolean(),
  /** Processed images checked in this batch. */
  checked: z.number().int().nonnegative(),
  findings: z.array(ReconcileFinding),
  /** Images this batch marked failed (findings with `failed`). */
  failed: z.number().int().nonnegative(),
  next: z.string().nullable(),
});
export type ReconcileVariantsAnswer = z.infer<typeof ReconcileVariantsAnswer>;

/**
 * An original in the layout uploads are stored in (`originals/<image id>`)
 * that no image row names: an upload the database lost (a restore to before
 * it). Listed only: the sweeper and the reconcile never delete it.
 */
export const RowlessOriginal = z.object({
  key: z.string(),
  /** The id the upload had, from its key. */
  imageId: z.string(),
  bytes: z.number().int().nonnegative(),
  /** When the object was written (ISO 8601). */
  updated: z.string(),
  /** Variant objects still stored under the id (the sweeper keeps them while the original exists). */
  variants: z.number().int().nonnegative(),
});
export type RowlessOriginal = z.infer<typeof RowlessOriginal>;

/**
 * `GET /api/admin/reconcile/originals`: row-less originals in key order,
 * after the request's `after`; `next` is the `after` of the next page (the last
 * key this page looked at), null once the listing reached its end. A page that
 * stops full has a `next` even when nothing follows: the next page is empty.
 */
export const ReconcileOriginalsAnswer = z.object({
  originals: z.array(RowlessOriginal),
  /** Objects under `originals/` looked at by this request. */
  scanned: z.number().int().nonnegative(),
  next: z.string().nullable(),
});
export type ReconcileOriginalsAnswer = z.infer<typeof ReconcileOriginalsAnswer>;
