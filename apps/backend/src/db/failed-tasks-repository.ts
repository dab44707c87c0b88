/**
 * The seed's `failed_tasks` table: one row per image (image_id is unique),
 * upserted on every failure report with `attempt_count` incremented, and
 * resolved (not deleted) when the image is retried or later succeeds, so
 * operators keep the history with `sqlite3 .data/slideshow.db`.
 */
import type { FailureSource, ImageStatus } from '@slideshow/contracts';
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

/** The WHERE clause and its parameters for `filter`; `table` qualifies the columns (`f.`). */
function whereOf(filter: FailedTaskFilter, table = ''): { sql: string; params: string[] } {
  const where: string[] = [];
  const params: string[] = [];
  if (filter.since) {
    where.push(`${table}last_attempt >= ?`);
    params.push(filter.since);
  }
  if (filter.code) {
    where.push(`${table}error_code = ?`);
    params.push(filter.code);
  }
  if (filter.unresolved) where.push(`${table}resolved_at IS NULL`);
  return { sql: where.length ? `WHERE ${where.join(' AND ')}` : '', params };
}

/** FROM … WHERE over the rows matching `filter` joined to their image, with `i.status = ?` last. */
function withImageStatus(filter: FailedTaskFilter): { sql: string; params: string[] } {
  const where = whereOf(filter, 'f.');
  return {
    sql: `FROM failed_tasks AS f JOIN images AS i ON i.id = f.image_id
      ${where.sql ? `${where.sql} AND` : 'WHERE'} i.status = ?`,
    params: where.params,
  };
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
     * The images of the rows matching `filter` whose image's status is
     * `imageStatus`, newest row first, up to `filter.limit`: what a bulk retry
     * takes (a failed regeneration's row, whose image is processed, is not).
     */
    imagesWithStatus: (filter: FailedTaskFilter, imageStatus: ImageStatus): string[] => {
      const where = withImageStatus(filter);
      return db
        .prepare<(string | number)[], { image_id: string }>(
          `SELECT f.image_id ${where.sql} ORDER BY f.last_attempt DESC, f.id DESC LIMIT ?`,
        )
        .all(...where.params, imageStatus, filter.limit ?? 500)
        .map((r) => r.image_id);
    },
    /** How many images {@link imagesWithStatus} would give, counted without reading them. */
    countWithImageStatus: (filter: FailedTaskFilter, imageStatus: ImageStatus): number => {
      const where = withImageStatus(filter);
      const n =
        db
          .prepare<(string | number)[], { n: number }>(`SELECT count(*) AS n ${where.sql}`)
          .get(...where.params, imageStatus)?.n ?? 0;
      return Math.min(n, filter.limit ?? 500);
    },
  };
}
