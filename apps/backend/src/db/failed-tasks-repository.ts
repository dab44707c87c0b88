/**
 * The seed's `failed_tasks` table: one row per image (image_id is unique),
 * upserted on every failure report with `attempt_count` incremented, and
 * resolved (not deleted) when the image is retried or later succeeds, so
 * operators keep the history with `sqlite3 .data/slideshow.db`.
 */
import type { FailureSource } from '@slideshow/contracts';
import type { Db } from './open-database.ts';

/** A row of `failed_tasks`. */
export interface FailedTaskRow {
  id: number;
  image_id: string;
  error_code: string;
  error_message: string;
  attempt_count: number;
  last_attempt: string;
  execution: string | null;
  source: FailureSource;
  created_at: string;
  resolved_at: string | null;
}

/** One failure report to record. */
export interface FailureReport {
  imageId: string;
  code: string;
  message: string;
  execution: string | null;
  source: FailureSource;
  now: string;
}

/** Filters for listing failed tasks. */
export interface FailedTaskFilter {
  since?: string;
  code?: string;
  unresolved?: boolean;
  limit?: number;
}

/** The WHERE clause and its parameters for `filter`. */
function whereOf(filter: FailedTaskFilter): { sql: string; params: string[] } {
  const where: string[] = [];
  const params: string[] = [];
  if (filter.since) {
    where.push('last_attempt >= ?');
    params.push(filter.since);
  }
  if (filter.code) {
    where.push('error_code = ?');
    params.push(filter.code);
  }
  if (filter.unresolved) where.push('resolved_at IS NULL');
  return { sql: where.length ? `WHERE ${where.join(' AND ')}` : '', params };
}

/** Creates the repository over `db`. */
export function createFailedTasksRepository(db: Db) {
  const upsert = db.prepare(
    `INSERT INTO failed_tasks (image_id, error_code, error_message, attempt_count, last_attempt, execution,
       source, created_at, resolved_at)
     VALUES (@imageId, @code, @message, 1, @now, @execution, @source, @now, NULL)
     ON CONFLICT (image_id) DO UPDATE SET error_code = excluded.error_code,
       error_message = excluded.error_message, attempt_count = attempt_count + 1,
       last_attempt = excluded.last_attempt, execution = excluded.execution,
       source = excluded.source, resolved_at = NULL`,
  );
  const refine = db.prepare(
    `UPDATE failed_tasks SET error_code = @code, error_message = @message, execution = @execution,
       source = @source, last_attempt = @now WHERE image_id = @imageId AND resolved_at IS NULL`,
  );
  const resolve = db.prepare<[string, string]>(
    'UPDATE failed_tasks SET resolved_at = ? WHERE image_id = ? AND resolved_at IS NULL',
  );
  const byImage = db.prepare<[string], FailedTaskRow>(
    'SELECT * FROM failed_tasks WHERE image_id = ?',
  );
  const since = db.prepare<[string], { n: number }>(
    'SELECT count(*) AS n FROM failed_tasks WHERE last_attempt >= ?',
  );
  return {
    /** Inserts or bumps the image's row and reopens it. */
    record: (report: FailureReport): void => {
      upsert.run(report);
    },
    /** Replaces the open row's verdict with a more precise report of the same attempt (count unchanged). */
    refine: (report: FailureReport): void => {
      refine.run(report);
    },
    /** Marks the image's open row resolved. */
    resolve: (imageId: string, now: string): void => {
      resolve.run(now, imageId);
    },
    /** The image's row, if any. */
    get: (imageId: string): FailedTaskRow | undefined => byImage.get(imageId),
    /** Rows whose last attempt is at or after `iso`. */
    countSince: (iso: string): number => since.get(iso)?.n ?? 0,
    /** Rows newest first, filtered. */
    list: (filter: FailedTaskFilter): FailedTaskRow[] => {
      const where = whereOf(filter);
      const sql = `SELECT * FROM failed_tasks ${where.sql}
        ORDER BY last_attempt DESC, id DESC LIMIT ?`;
      return db
        .prepare<(string | number)[], FailedTaskRow>(sql)
        .all(...where.params, filter.limit ?? 500);
    },
    /**
     * Of the rows `list(filter)` would give (the same order and limit), how
     * many belong to an image whose status is `imageStatus`: what a bulk retry
     * over them would take, counted without reading them.
     */
    countWithImageStatus: (filter: FailedTaskFilter, imageStatus: string): number => {
      const where = whereOf(filter);
      const sql = `SELECT count(*) AS n FROM (SELECT image_id FROM failed_tasks ${where.sql}
        ORDER BY last_attempt DESC, id DESC LIMIT ?) AS f
        JOIN images AS i ON i.id = f.image_id WHERE i.status = ?`;
      return (
        db
          .prepare<(string | number)[], { n: number }>(sql)
          .get(...where.params, filter.limit ?? 500, imageStatus)?.n ?? 0
      );
    },
  };
}

/** The failed_tasks repository. */
export type FailedTasksRepository = ReturnType<typeof createFailedTasksRepository>;
