/**
 * The queries of the reconcile (docs/operations.md, "After a restore"): the
 * processed images in id order, a processed image whose variants are gone
 * failed, and whether an upload holds a key. Its own module, beside the
 * tables' repositories, because only the reconcile writes `processed → failed`.
 */
import type { ImageRow } from './images-repository.ts';
import type { Db } from './open-database.ts';

/** Creates the queries over `db`. */
export function createReconcileRepository(db: Db) {
  const processedAfter = db.prepare<[string, number], ImageRow>(
    `SELECT * FROM images WHERE status = 'processed' AND id > ? ORDER BY id LIMIT ?`,
  );
  // The recorded set is dropped with the status: the views would otherwise still offer its
  // URLs (thumbnails), which answer 404; the retry's `complete` records the new set.
  const failProcessed = db.prepare<[string, string, string, number]>(
    `UPDATE images SET status = 'failed', last_error_code = ?, variants = NULL, updated_at = ?
     WHERE id = ? AND generation = ? AND status = 'processed'`,
  );
  const reserved = db.prepare<[string, string], { n: number }>(
    `SELECT (SELECT count(*) FROM pending_originals WHERE key = ?)
       + (SELECT count(*) FROM upload_sessions WHERE key = ?) AS n`,
  );
  return {
    /** Processed images whose id sorts after `after`, in id order, at most `limit`. */
    processedAfter: (after: string, limit: number): ImageRow[] => processedAfter.all(after, limit),
    /** processed → failed with `code` for this generation; false when the image moved on. */
    failProcessed: (id: string, generation: number, code: string, now: string): boolean =>
      failProcessed.run(code, now, id, generation).changes === 1,
    /** True while an upload (pending_originals, an upload session) holds `key`: the sweeper's, not ours. */
    isReserved: (key: string): boolean => (reserved.get(key, key)?.n ?? 0) > 0,
  };
}

/** The reconcile's queries. */
export type ReconcileRepository = ReturnType<typeof createReconcileRepository>;
