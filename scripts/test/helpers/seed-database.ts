/**
 * Builds a SQLite database with the backend's real migrations
 * (apps/backend/src/db/migrations/*.sql, in order) and a few rows, so the
 * runbook's queries run against the real schema.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { scriptsDir } from './gcloud-double.ts';

const MIGRATIONS = join(scriptsDir, '../apps/backend/src/db/migrations');

/** Creates the database file at `path`; returns the ids it inserted. */
export function seedDatabase(path: string): { imageIds: string[] } {
  const db = new DatabaseSync(path);
  for (const file of readdirSync(MIGRATIONS)
    .filter((f) => f.endsWith('.sql'))
    .sort()) {
    db.exec(readFileSync(join(MIGRATIONS, file), 'utf8'));
  }
  const now = Date.now();
  const iso = (msAgo: number) => new Date(now - msAgo).toISOString();
  const image = db.prepare(
    `INSERT INTO images (id, original_name, content_type, bytes, sha256, source_key, status, generation, priority, preset, created_at, updated_at)
     VALUES (?, ?, 'image/jpeg', 1000, ?, ?, ?, 1, 'interactive', 'v1', ?, ?)`,
  );
  const failed = db.prepare(
    `INSERT INTO failed_tasks (image_id, error_code, error_message, attempt_count, last_attempt, execution, source, created_at, resolved_at)
     VALUES (?, ?, ?, 4, ?, ?, ?, ?, ?)`,
  );
  const rows: [string, string, string, 'processor' | 'workflow' | 'reaper', number, boolean][] = [
    ['img-timeout', 'failed', 'TIMEOUT', 'workflow', 30 * 60_000, false],
    ['img-corrupt', 'failed', 'CORRUPT_IMAGE', 'processor', 2 * 3600_000, false],
    ['img-old', 'failed', 'STORAGE_UNAVAILABLE', 'processor', 3 * 86_400_000, true],
    ['img-stuck', 'queued', '', 'reaper', 3 * 3600_000, false],
  ];
  for (const [id, status, code, source, ago, resolved] of rows) {
    image.run(id, `${id}.jpg`, `sha-${id}`, `originals/${id}`, status, iso(ago), iso(ago));
    if (code) {
      failed.run(
        id,
        code,
        `${code} for ${id}`,
        iso(ago),
        `executions/${id}`,
        source,
        iso(ago),
        resolved ? iso(0) : null,
      );
    }
  }
  db.prepare(
    `INSERT INTO outbox (image_id, generation, queue, task_name, attempts, next_attempt_at, last_error, created_at)
     VALUES ('img-stuck', 1, 'uploads', 'task-img-stuck', 2, ?, 'UNAVAILABLE', ?)`,
  ).run(now, now);
  db.close();
  return { imageIds: rows.map((r) => r[0]) };
}
