/**
 * Opens the SQLite system of record: WAL (readers never block the writer),
 * a short busy timeout for brief contention ({@link BUSY_TIMEOUT_MS}),
 * foreign keys on, the numbered migrations in ./migrations applied in one
 * transaction each, recorded in `schema_migrations` (append-only, like
 * graphile/worker's; migrate.ts, which also refuses a database that needs a
 * newer backend), and the library's folded search and sort keys kept by
 * this connection (library-keys.ts).
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { AppError } from '@slideshow/runtime';
import Database from 'better-sqlite3';
import { keepLibraryKeys } from './library-keys.ts';
import { type MigrationWarn, migrate } from './migrate.ts';
import { type AssertWritable, fenceWrites } from './write-fence.ts';

export { migrate } from './migrate.ts';

/** The database handle type used across the backend. */
export type Db = Database.Database;

/**
 * How long a statement waits for another connection's write lock before it
 * fails with SQLITE_BUSY (https://www.sqlite.org/pragma.html#pragma_busy_timeout),
 * which the API answers as a retryable 503 BACKEND_UNAVAILABLE (http-errors.ts).
 *
 * Short on purpose. better-sqlite3 is synchronous, so the wait blocks the
 * whole event loop: every request, and the lease renewal's timer. The only
 * other writers are brief — Litestream's own `_litestream_seq` writes and its
 * checkpoints, milliseconds on this database (deploy/litestream.yml;
 * Litestream suggests 5 s for drivers that wait off the main thread) — and
 * an operator's `sqlite3` (docs/operations.md), which may hold a transaction
 * for as long as it likes. At 5 s each write that met such a lock stalled the
 * process 5 s, and a few back to back starved the renewal of the 15 s lease
 * (renewed every 5 s; the holder stops 13 s after its last renewal, so a
 * renewal has about 8 s of slack) into 503 LEASE_NOT_HELD. 1 s still rides
 * out a checkpoint (SQLite's busy handler retries every few ms, up to 100 ms
 * apart), and it takes eight writes blocked in a row to eat that slack.
 */
export const BUSY_TIMEOUT_MS = 1_000;

/** Options for {@link openDatabase}. */
export interface OpenDatabaseOptions {
  /** The single-writer fence (write-fence.ts), checked before every mutating statement. */
  assertWritable?: AssertWritable;
  /** Told about recorded migrations this backend does not know (migrate.ts); the caller logs it. */
  warn?: MigrationWarn;
}

/** Opens (creating if needed) the database at `path` and brings its schema up to date. */
export function openDatabase(path: string, options: OpenDatabaseOptions = {}): Db {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  try {
    if (options.assertWritable) fenceWrites(db, options.assertWritable);
    // First, so switching to WAL and the migrations wait for a brief lock too.
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    db.pragma('journal_mode = WAL');
    db.pragma('foreign_keys = ON');
    // NORMAL is durable across application crashes in WAL mode (https://www.sqlite.org/pragma.html#pragma_synchronous).
    db.pragma('synchronous = NORMAL');
    migrate(db, options.warn);
    keepLibraryKeys(db);
    return db;
  } catch (error) {
    db.close();
    throw openFailure(path, error);
  }
}

/**
 * The error of a database that could not be opened, naming the file: a lock
 * held by another connection (a `sqlite3` session in a write transaction)
 * says so and stays retryable; an AppError keeps its code; anything else
 * keeps its own message.
 */
function openFailure(path: string, error: unknown): Error {
  if (error instanceof AppError) {
    // Keeps its code (SCHEMA_TOO_NEW: migrate.ts refused a database that needs a newer backend).
    return new AppError(error.code, `cannot open the database ${path}: ${error.message}`, {
      cause: error,
      retryable: error.retryable,
      context: { ...error.context, path },
    });
  }
  const errno = (error as { code?: unknown }).code;
  const locked = typeof errno === 'string' && /^SQLITE_(BUSY|LOCKED)/.test(errno);
  const message = error instanceof Error ? error.message : String(error);
  if (!locked) return new Error(`cannot open the database ${path}: ${message}`, { cause: error });
  return new AppError(
    'BACKEND_UNAVAILABLE',
    `cannot open the database ${path}: ${message} (another connection, such as a sqlite3 session, holds a write transaction; end it and start again)`,
    { cause: error, retryable: true, context: { path, errno } },
  );
}
