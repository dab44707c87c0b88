/**
 * `pending_originals`: the keys of originals an upload is writing and has not
 * committed yet (migration 002). Times are epoch milliseconds.
 */
import type { Db } from './open-database.ts';

/** A row of `pending_originals`. */
export interface PendingOriginalRow {
  key: string;
  created_at: number;
}

/** Creates the repository over `db`. */
export function createPendingOriginalsRepository(db: Db) {
  const add = db.prepare<[string, number]>(
    'INSERT OR REPLACE INTO pending_originals (key, created_at) VALUES (?, ?)',
  );
  const remove = db.prepare<[string]>('DELETE FROM pending_originals WHERE key = ?');
  // A key an upload session is still writing is not an orphan: the session's own expiry
  // (upload_sessions.expires_at) decides when it goes.
  const older = db.prepare<[number, number], PendingOriginalRow>(
    `SELECT * FROM pending_originals p WHERE created_at < ?
       AND NOT EXISTS (SELECT 1 FROM upload_sessions s WHERE s.key = p.key)
     ORDER BY created_at LIMIT ?`,
  );
  return {
    /** Records that an upload is about to write `key`. */
    add: (key: string, now: number): void => {
      add.run(key, now);
    },
    /** Forgets `key` (committed, or its object deleted). */
    remove: (key: string): void => {
      remove.run(key);
    },
    /** Pending keys recorded before `before` and not held by an upload session, oldest first. */
    olderThan: (before: number, limit: number): PendingOriginalRow[] => older.all(before, limit),
  };
}
