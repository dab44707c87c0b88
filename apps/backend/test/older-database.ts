/**
 * A real SQLite file as an older backend left it, for the migration tests:
 * every migration file before a given one applied and recorded, as
 * `migrate()` (src/db/open-database.ts) would have.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { onTestFinished } from 'vitest';

const MIGRATIONS = join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'db', 'migrations');

/** When the older backend applied its migrations (`schema_migrations.applied_at`). */
export const T0 = '2026-01-01T00:00:00Z';

/**
 * A database file with every migration whose file name sorts before `before` applied, in a
 * scratch folder that is closed and removed when the calling test finishes.
 */
export function databaseBefore(before: string): Database.Database {
  const dir = mkdtempSync(join(tmpdir(), 'backend-migration-'));
  const db = new Database(join(dir, 'slideshow.db'));
  onTestFinished(() => {
    if (db.open) db.close();
    rmSync(dir, { recursive: true, force: true });
  });
  db.pragma('foreign_keys = ON');
  db.exec('CREATE TABLE schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)');
  for (const file of readdirSync(MIGRATIONS).sort()) {
    if (file >= before) continue;
    db.exec(readFileSync(join(MIGRATIONS, file), 'utf8'));
    db.prepare('INSERT INTO schema_migrations VALUES (?, ?)').run(file, T0);
  }
  return db;
}

/** Inserts a running regeneration run of `preset` at `version` (migration 009's table); returns its id. */
export function insertRegenRun(db: Database.Database, preset: string, version: string): number {
  return Number(
    db
      .prepare(
        `INSERT INTO regen_runs (preset, preset_version, filter, status, total, max_executions,
           max_failures, estimate_cpu_seconds, estimate_cost_usd, created_at, updated_at)
         VALUES (?, ?, '{}', 'running', 1, 10, 5, 1, 0.001, ?, ?)`,
      )
      .run(preset, version, T0, T0).lastInsertRowid,
  );
}

/**
 * A processed image `img_a` at generation 0 and its regeneration to web-v3
 * (version `v3`) dispatched at generation 1, as a database before a
 * regeneration migration holds them; returns the item's row as it was.
 */
export function insertDispatchedRegenItem(db: Database.Database): Record<string, unknown> {
  db.prepare(
    `INSERT INTO images (id, original_name, content_type, bytes, sha256, source_key, status, generation,
       priority, preset, created_at, updated_at)
     VALUES ('img_a', 'a.png', 'image/png', 1, ?, 'originals/img_a', 'processed', 0, 'interactive',
       'web-v1', @t, @t)`.replaceAll('@t', `'${T0}'`),
  ).run('a'.repeat(64));
  const runId = insertRegenRun(db, 'web-v3', 'v3');
  db.prepare(
    `INSERT INTO regen_items (run_id, image_id, preset, preset_version, state, generation,
       megapixels, dispatched_at)
     VALUES (?, 'img_a', 'web-v3', 'v3', 'dispatched', 1, 2.5, 1000)`,
  ).run(runId);
  return db.prepare('SELECT * FROM regen_items').get() as Record<string, unknown>;
}
