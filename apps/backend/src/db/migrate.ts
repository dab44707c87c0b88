/**
 * The runner of the numbered SQL migrations in ./migrations (docs/architecture.md, "Database").
 *
 * The rule every migration follows — expand, then contract: a migration keeps the previous
 * release working on the database it migrated, because a deploy runs the old and the new
 * revision side by side for a moment and a rollback runs the old one on the migrated file.
 * So a migration adds (tables, columns with a default, indexes, triggers, data the old code
 * ignores); dropping, renaming or reshaping what the previous release reads or writes waits for
 * a later release, once nothing running uses it. A migration that cannot wait is **breaking**:
 * its first line is `-- breaking: <why>`, and from then on the database records that a backend
 * must know that migration to run on it.
 *
 * Applied migrations are recorded in `schema_migrations` and never edited, so the breaking ones
 * from before the marker existed are listed here ({@link BREAKING_BEFORE_MARKER}). The
 * requirement — the newest breaking migration the database went through — is kept in
 * `settings` under {@link REQUIREMENT_KEY} (a table every database has since 001; no schema of
 * its own, so older backends ignore it). A backend that does not know the required migration
 * refuses to open the database before it writes anything (`SCHEMA_TOO_NEW`); one that meets
 * recorded migrations it does not know, none of them breaking, opens it with a warning (a
 * rollback over additive migrations is fine).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AppError } from '@slideshow/runtime';
import type { Db } from './open-database.ts';

const MIGRATIONS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'migrations');

/**
 * Breaking migrations applied before the `-- breaking` marker existed. 014 dropped and created
 * `sessions` again with other columns: a backend from before it fails its first login insert
 * (`table sessions has no column named csrf_token`). The others only add, or rebuild a table
 * with a wider CHECK (007, 009) or drop an index nothing names (017).
 */
export const BREAKING_BEFORE_MARKER: readonly string[] = ['014_session_tokens.sql'];

/** The `settings` key holding the newest breaking migration the database went through. */
export const REQUIREMENT_KEY = 'schema.requires_migration';

/** Where a refused database's operator reads what to do. */
const ROLLBACK_DOCS = 'docs/operations.md "Rolling back", docs/deploy.md "Restore by hand"';

/** Receives the warning about recorded migrations this backend does not know. */
export type MigrationWarn = (message: string, fields: Record<string, unknown>) => void;

/** The migration files this backend knows, in order. */
function knownMigrations(): string[] {
  return readdirSync(MIGRATIONS_DIR)
    .filter((f) => /^\d{3}_[a-z0-9_]+\.sql$/.test(f))
    .sort();
}

/** True when `file` (known to this backend) is breaking: listed, or marked on its first line. */
function isBreaking(file: string, sql: string): boolean {
  return BREAKING_BEFORE_MARKER.includes(file) || /^-- breaking\b/.test(sql);
}

/** The database's requirement, or undefined (no `settings` table yet, or no requirement). */
export function schemaRequirement(db: Db): string | undefined {
  const table = db
    .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'settings'")
    .get();
  if (!table) return undefined;
  return db
    .prepare<[string], { value: string }>('SELECT value FROM settings WHERE key = ?')
    .get(REQUIREMENT_KEY)?.value;
}

/** Throws SCHEMA_TOO_NEW when this backend does not know the migration the database requires. */
function assertKnown(required: string | undefined, known: string[]): void {
  if (required === undefined || known.includes(required)) return;
  const newest = known.at(-1) ?? 'none';
  throw new AppError(
    'SCHEMA_TOO_NEW',
    `this database requires a backend that knows migration ${required} (a later release changed ` +
      `the schema in a way earlier releases cannot run on); this backend knows migrations up to ` +
      `${newest}. Deploy a release that knows ${required}, or restore a backup taken before it ` +
      `was applied (${ROLLBACK_DOCS})`,
    { retryable: false, context: { required, known: newest } },
  );
}

/**
 * Applies every migration file not yet recorded, after checking the database's requirement
 * (nothing is written when it is refused); returns the names applied.
 */
export function migrate(db: Db, warn?: MigrationWarn): string[] {
  const known = knownMigrations();
  assertKnown(schemaRequirement(db), known);
  db.exec(
    'CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)',
  );
  const done = new Set(
    db
      .prepare<[], { name: string }>('SELECT name FROM schema_migrations')
      .all()
      .map((r) => r.name),
  );
  const unknown = [...done].filter((name) => !known.includes(name)).sort();
  if (unknown.length > 0) {
    warn?.(
      'the database records migrations this backend does not know (a newer release applied them; none requires a newer backend)',
      { unknown, known: known.at(-1) },
    );
  }
  const applied: string[] = [];
  let required: string | undefined;
  for (const file of known) {
    const sql = readFileSync(join(MIGRATIONS_DIR, file), 'utf8');
    const breaking = isBreaking(file, sql);
    if (breaking) required = file;
    if (done.has(file)) continue;
    db.transaction(() => {
      db.exec(sql);
      db.prepare('INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)').run(
        file,
        new Date().toISOString(),
      );
      // In the same transaction: no moment where the change is there and the requirement not.
      if (breaking) recordRequirement(db, file);
    })();
    applied.push(file);
  }
  // Breaking migrations applied before this check existed (014 on an older database).
  recordRequirement(db, required);
  return applied;
}

/** Raises the recorded requirement to `required` (never lowers one a newer backend set). */
function recordRequirement(db: Db, required: string | undefined): void {
  const stored = schemaRequirement(db);
  if (required === undefined || (stored !== undefined && stored >= required)) return;
  db.prepare(
    'INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
  ).run(REQUIREMENT_KEY, required);
}
