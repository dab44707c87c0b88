/**
 * The file adapter of the LeaseStore port, for local mode: one SQLite file
 * (Node's built-in node:sqlite) holding one row. A write is a compare-and-swap
 * inside `BEGIN IMMEDIATE`, which takes SQLite's write lock before reading, so
 * two processes on one machine can never both replace the same generation
 * (https://www.sqlite.org/lang_transaction.html). The generation is a counter
 * that only grows, so it never repeats, as Cloud Storage generations never do.
 * A process killed mid-write leaves the old row: SQLite's journal rolls the
 * transaction back.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { AppError, coerceError } from '@slideshow/runtime';
import { ABSENT, type LeaseRecord, LeaseRecordSchema, type LeaseStore } from './lease-store.ts';

/** Options for {@link createFsLeaseStore}. */
export interface FsLeaseStoreOptions {
  /** The lease file (created with its folder when missing). */
  path: string;
}

interface Row {
  generation: number;
  record: string;
}

/** Creates the file lease store. */
export function createFsLeaseStore(options: FsLeaseStoreOptions): LeaseStore {
  mkdirSync(dirname(options.path), { recursive: true });
  let db: DatabaseSync;
  try {
    db = new DatabaseSync(options.path);
    // Rollback journal (not WAL): the lease stays one file next to the database.
    db.exec('PRAGMA busy_timeout = 5000');
    db.exec(
      'CREATE TABLE IF NOT EXISTS lease (id INTEGER PRIMARY KEY CHECK (id = 1), generation INTEGER NOT NULL, record TEXT NOT NULL)',
    );
  } catch (error) {
    throw new AppError('STORAGE_UNAVAILABLE', `cannot open the lease file ${options.path}`, {
      cause: error,
      retryable: false,
      context: { path: options.path },
    });
  }
  const select = db.prepare('SELECT generation, record FROM lease WHERE id = 1');
  const upsert = db.prepare(
    'INSERT INTO lease (id, generation, record) VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE SET generation = excluded.generation, record = excluded.record',
  );
  const current = () => select.get() as Row | undefined;
  const failed = (operation: string, error: unknown) =>
    error instanceof AppError
      ? error
      : new AppError(
          'STORAGE_UNAVAILABLE',
          `lease file ${operation} failed: ${coerceError(error).message}`,
          {
            cause: error,
            retryable: true,
            context: { path: options.path },
          },
        );

  return {
    async read() {
      try {
        const row = current();
        if (!row) return undefined;
        return {
          record: LeaseRecordSchema.parse(JSON.parse(row.record)),
          generation: String(row.generation),
        };
      } catch (error) {
        throw failed('read', error);
      }
    },
    async write(record: LeaseRecord, ifGeneration: string) {
      const body = JSON.stringify(LeaseRecordSchema.parse(record));
      try {
        db.exec('BEGIN IMMEDIATE');
        try {
          const row = current();
          const found = row ? String(row.generation) : ABSENT;
          if (found !== ifGeneration) {
            throw new AppError(
              'CONFLICT',
              `lease precondition failed: expected generation ${ifGeneration}, found ${found}`,
              { context: { path: options.path, expected: ifGeneration, found } },
            );
          }
          // Rows are never deleted, so the counter never goes back.
          const next = (row?.generation ?? 0) + 1;
          upsert.run(next, body);
          db.exec('COMMIT');
          return String(next);
        } catch (error) {
          db.exec('ROLLBACK');
          throw error;
        }
      } catch (error) {
        throw failed('write', error);
      }
    },
    async close() {
      if (db.isOpen) db.close();
    },
  };
}
