/**
 * Rolling the backend back over migrations (src/db/migrate.ts, docs/operations.md "Rolling
 * back"): the database records the newest breaking migration it went through, a backend that
 * does not know it refuses the database before writing to it (SCHEMA_TOO_NEW), and recorded
 * migrations a backend does not know that are not breaking only earn a warning. Real SQLite
 * files throughout.
 */
import Database from 'better-sqlite3';
import { describe, expect, it, onTestFinished } from 'vitest';
import { REQUIREMENT_KEY, schemaRequirement } from '../src/db/migrate.ts';
import { type Db, migrate, openDatabase } from '../src/db/open-database.ts';
import { databaseBefore } from './older-database.ts';

const closing = (db: Db): Db => {
  onTestFinished(() => {
    if (db.open) db.close();
  });
  return db;
};

/** The path of a database file that older migrations made, closed (removed when the test ends). */
function olderDatabasePath(before: string, change?: (db: Database.Database) => void): string {
  const older = databaseBefore(before);
  change?.(older);
  older.close();
  return older.name;
}

const recorded = (path: string): string[] => {
  const db = new Database(path, { readonly: true });
  try {
    return db
      .prepare<[], { name: string }>('SELECT name FROM schema_migrations ORDER BY name')
      .all()
      .map((r) => r.name);
  } finally {
    db.close();
  }
};

describe('the schema requirement a database records', () => {
  it('is migration 014 for a new database, for one migrated across 014, and for one migrated past it before the check existed', () => {
    const fresh = closing(openDatabase(olderDatabasePath('001')));
    expect(schemaRequirement(fresh)).toBe('014_session_tokens.sql');

    const before014 = databaseBefore('014');
    expect(schemaRequirement(before014)).toBeUndefined();
    migrate(before014);
    expect(schemaRequirement(before014)).toBe('014_session_tokens.sql');

    const past014 = databaseBefore('021');
    expect(schemaRequirement(past014)).toBeUndefined();
    migrate(past014);
    expect(schemaRequirement(past014)).toBe('014_session_tokens.sql');
  });

  it('is never lowered by a backend that knows less than the one that raised it', () => {
    const db = databaseBefore('001');
    migrate(db);
    db.prepare('UPDATE settings SET value = ? WHERE key = ?').run(
      '015_session_password.sql',
      REQUIREMENT_KEY,
    );
    migrate(db);
    expect(schemaRequirement(db)).toBe('015_session_password.sql');
  });
});

describe('a backend opening a database a newer release migrated', () => {
  it('opens one whose newer migrations are not breaking, with a warning naming them', () => {
    const path = olderDatabasePath('999', (db) => {
      db.prepare("INSERT INTO schema_migrations VALUES ('098_future_column.sql', 'x')").run();
      db.prepare("INSERT INTO schema_migrations VALUES ('099_future_index.sql', 'x')").run();
    });
    const warnings: { message: string; fields: Record<string, unknown> }[] = [];
    const db = closing(
      openDatabase(path, { warn: (message, fields) => warnings.push({ message, fields }) }),
    );
    expect(db.prepare('SELECT count(*) AS n FROM images').get()).toEqual({ n: 0 });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.message).toContain('migrations this backend does not know');
    expect(warnings[0]!.fields).toMatchObject({
      unknown: ['098_future_column.sql', '099_future_index.sql'],
    });
  });

  it('refuses one that requires a migration it does not know, naming both, before writing to it', () => {
    const path = olderDatabasePath('021', (db) => {
      db.prepare("INSERT INTO schema_migrations VALUES ('099_future_breaking.sql', 'x')").run();
      db.prepare('INSERT INTO settings (key, value) VALUES (?, ?)').run(
        REQUIREMENT_KEY,
        '099_future_breaking.sql',
      );
    });
    const before = recorded(path);
    let refusal: unknown;
    try {
      closing(openDatabase(path));
    } catch (error) {
      refusal = error;
    }
    expect(refusal).toMatchObject({ code: 'SCHEMA_TOO_NEW', retryable: false });
    const message = (refusal as Error).message;
    expect(message).toContain(`cannot open the database ${path}`);
    expect(message).toContain('requires a backend that knows migration 099_future_breaking.sql');
    expect(message).toMatch(/this backend knows migrations up to \d{3}_[a-z0-9_]+\.sql/);
    expect(message).toContain('docs/operations.md "Rolling back"');
    expect(message).toContain('docs/deploy.md "Restore by hand"');
    // Nothing applied: 021 and later are still not recorded.
    expect(recorded(path)).toEqual(before);
  });
});
