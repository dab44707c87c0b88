/**
 * `upload_sessions` (migration 005, 028): resumable uploads the backend opened
 * and has not turned into an image yet; `upload_session_outcomes` (020): what
 * the completed ones became, until their expiry. Times are epoch
 * milliseconds. A session past its `expires_at` is gone for every reader
 * (`get`), whether or not the orphan sweeper has deleted it yet: it deletes
 * exactly those (`expiredBefore`).
 */
import type { ImageStatus } from '@slideshow/contracts';
import type { Db } from './open-database.ts';

/** A row of `upload_sessions`. */
export interface UploadSessionRow {
  id: string;
  key: string;
  session_url: string;
  original_name: string;
  bytes: number;
  state: 'open' | 'verifying';
  created_at: number;
  expires_at: number;
  /** Bytes the session held at the backend's last look (migration 028): its expiry slides when it grows. */
  received_bytes: number;
}

/**
 * A row of `upload_session_outcomes` (migration 020): what a completed session became,
 * answered again to a repeated `complete` until `expires_at`.
 */
export interface UploadSessionOutcome {
  id: string;
  image_id: string;
  status: ImageStatus;
  duplicate: boolean;
  original_name: string;
  expires_at: number;
}

/** Creates the repository over `db`. */
export function createUploadSessionsRepository(db: Db) {
  const insert = db.prepare(
    `INSERT INTO upload_sessions (id, key, session_url, original_name, bytes, state, created_at, expires_at)
     VALUES (@id, @key, @session_url, @original_name, @bytes, 'open', @created_at, @expires_at)`,
  );
  const byId = db.prepare<[string, number], UploadSessionRow>(
    'SELECT * FROM upload_sessions WHERE id = ? AND expires_at >= ?',
  );
  const claim = db.prepare<[number, string]>(
    `UPDATE upload_sessions SET state = 'verifying', expires_at = max(expires_at, ?)
     WHERE id = ? AND state = 'open'`,
  );
  const reopen = db.prepare<[number, string]>(
    `UPDATE upload_sessions SET state = 'open', expires_at = ? WHERE id = ? AND state = 'verifying'`,
  );
  const progressed = db.prepare<[number, number, string, number, number]>(
    `UPDATE upload_sessions SET received_bytes = ?, expires_at = max(expires_at, ?)
     WHERE id = ? AND state = 'open' AND received_bytes < ? AND expires_at >= ?`,
  );
  const expiring = db.prepare<[number, number, number], UploadSessionRow>(
    `SELECT * FROM upload_sessions WHERE state = 'open' AND expires_at >= ? AND expires_at < ?
     ORDER BY expires_at LIMIT ?`,
  );
  const remove = db.prepare<[string]>('DELETE FROM upload_sessions WHERE id = ?');
  const expired = db.prepare<[number, number], UploadSessionRow>(
    'SELECT * FROM upload_sessions WHERE expires_at < ? ORDER BY expires_at LIMIT ?',
  );
  const insertOutcome = db.prepare(
    `INSERT INTO upload_session_outcomes (id, image_id, status, duplicate, original_name, expires_at)
     VALUES (@id, @image_id, @status, @duplicate, @original_name, @expires_at)`,
  );
  const outcomeById = db.prepare<
    [string, number],
    Omit<UploadSessionOutcome, 'duplicate'> & { duplicate: 0 | 1 }
  >('SELECT * FROM upload_session_outcomes WHERE id = ? AND expires_at >= ?');
  const forgetOutcomes = db.prepare<[number]>(
    'DELETE FROM upload_session_outcomes WHERE expires_at < ?',
  );
  return {
    /** Records what a completed session became (and forgets outcomes expired before `now`). */
    recordOutcome: (outcome: UploadSessionOutcome, now: number): void => {
      forgetOutcomes.run(now);
      insertOutcome.run({ ...outcome, duplicate: outcome.duplicate ? 1 : 0 });
    },
    /** What session `id` became, while its expiry has not passed at `now`. */
    outcome: (id: string, now: number): UploadSessionOutcome | undefined => {
      const row = outcomeById.get(id, now);
      return row && { ...row, duplicate: row.duplicate === 1 };
    },
    /** Records an opened session (nothing received yet). */
    add: (row: Omit<UploadSessionRow, 'state' | 'received_bytes'>): void => {
      insert.run(row);
    },
    /** The session `id`, unless there is none or it expired before `now` (the sweeper deletes those). */
    get: (id: string, now: number): UploadSessionRow | undefined => byId.get(id, now),
    /** open → verifying (one verifier at a time); keeps the row alive at least until `until`. */
    claim: (id: string, until: number): boolean => claim.run(until, id).changes === 1,
    /**
     * verifying → open (the verification could not finish; the client may try again), with the
     * expiry it had before `claim` moved it: an early `complete` buys no time.
     */
    reopen: (id: string, expiresAt: number): void => {
      reopen.run(expiresAt, id);
    },
    /**
     * The open session `id` holds `received` bytes, more than at the last look: its expiry moves
     * to `expiresAt` (never earlier). False when it holds no more, is being verified, or expired
     * before `now` (an expired session stays gone).
     */
    progressed: (id: string, received: number, expiresAt: number, now: number): boolean =>
      progressed.run(received, expiresAt, id, received, now).changes === 1,
    /** Open sessions that expire from `now` up to `before`, soonest first. */
    expiringBefore: (now: number, before: number, limit: number): UploadSessionRow[] =>
      expiring.all(now, before, limit),
    /** Forgets a session (became an image, refused, cancelled or expired). */
    remove: (id: string): void => {
      remove.run(id);
    },
    /** Sessions past their expiry, oldest first. */
    expiredBefore: (now: number, limit: number): UploadSessionRow[] => expired.all(now, limit),
  };
}
