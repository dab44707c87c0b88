/**
 * Admin sessions. Only sha256 hashes of the session id (the `sid` cookie) and
 * of the session token (X-CSRF-Token) are stored, so a copy of the database
 * does not hand out live sessions. Each is bound to the password it was
 * opened with (`password_fingerprint`, migration 015): only sessions of the
 * current password are found.
 */
import type { Db } from './open-database.ts';

/** A row of `sessions`. */
export interface SessionRow {
  id_hash: string;
  token_hash: string;
  password_fingerprint: string;
  created_at: number;
  expires_at: number;
}

/** Creates the repository over `db`. */
export function createSessionsRepository(db: Db) {
  const insert = db.prepare<[string, string, string, number, number]>(
    `INSERT INTO sessions (id_hash, token_hash, password_fingerprint, created_at, expires_at)
     VALUES (?, ?, ?, ?, ?)`,
  );
  const get = db.prepare<[string, string, number], SessionRow>(
    'SELECT * FROM sessions WHERE id_hash = ? AND password_fingerprint = ? AND expires_at > ?',
  );
  const remove = db.prepare<[string]>('DELETE FROM sessions WHERE id_hash = ?');
  const purge = db.prepare<[number]>('DELETE FROM sessions WHERE expires_at <= ?');
  const removeAll = db.prepare('DELETE FROM sessions');
  return {
    /** Stores a new session. */
    create: (
      idHash: string,
      tokenHash: string,
      fingerprint: string,
      now: number,
      expiresAt: number,
    ): void => {
      insert.run(idHash, tokenHash, fingerprint, now, expiresAt);
    },
    /** The unexpired session with this id hash, opened with the password of `fingerprint`. */
    get: (idHash: string, fingerprint: string, now: number): SessionRow | undefined =>
      get.get(idHash, fingerprint, now),
    /** Ends a session. */
    delete: (idHash: string): void => {
      remove.run(idHash);
    },
    /** Ends every session; returns how many were live or expired. */
    deleteAll: (): number => removeAll.run().changes,
    /** Drops expired sessions; returns how many. */
    purgeExpired: (now: number): number => purge.run(now).changes,
  };
}
