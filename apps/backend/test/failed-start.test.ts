/**
 * A start that fails after taking the database lease (here: another connection
 * holds a write transaction on the database file, so opening and migrating it
 * fails) never served a write, so it gives the lease back before it exits:
 * the next start takes a released lease at once instead of waiting for it to
 * expire (TTL + margin, ~17 s). One such start is a database a newer release
 * migrated beyond what this backend can run on (src/db/migrate.ts): it is
 * refused with SCHEMA_TOO_NEW before anything is written to it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { REQUIREMENT_KEY } from '../src/db/migrate.ts';
import { type BackendProcess, startBackendProcess } from './backend-process.ts';

const dir = mkdtempSync(join(tmpdir(), 'backend-failed-start-'));
let backend: BackendProcess | undefined;

const newerDir = mkdtempSync(join(tmpdir(), 'backend-newer-schema-'));

afterAll(async () => {
  if (backend && backend.child.exitCode === null) {
    backend.child.kill('SIGKILL');
    await backend.exited();
  }
  rmSync(dir, { recursive: true, force: true });
  rmSync(newerDir, { recursive: true, force: true });
});

/** The `database lease acquired` log line's fields. */
function leaseAcquired(logs: string): Record<string, unknown> | undefined {
  const line = logs.split('\n').find((l) => l.includes('"database lease acquired"'));
  return line ? (JSON.parse(line) as Record<string, unknown>) : undefined;
}

describe('a backend start that fails after taking the lease', () => {
  it('releases the lease, so the next start takes it released, not expired', async () => {
    const env = { DATA_DIR: dir, ADMIN_TOKENS: 'failed-start-admin-token-0123456789' };
    const holder = new Database(join(dir, 'slideshow.db'));
    holder.exec('CREATE TABLE held (x); BEGIN IMMEDIATE; INSERT INTO held VALUES (1);');
    let failure = '';
    try {
      await startBackendProcess(env);
    } catch (error) {
      failure = String(error);
    } finally {
      holder.exec('ROLLBACK');
      holder.close();
    }
    expect(failure).toContain('backend exited with 1');
    expect(failure).toMatch(/database is locked/);
    expect(failure).toContain('released the database lease after a failed start');

    backend = await startBackendProcess(env);
    expect(leaseAcquired(backend.logs())).toMatchObject({ how: 'released' });
    backend.child.kill('SIGTERM');
    expect(await backend.exited()).toBe(0);
  });

  it('refuses a database that requires a newer backend with SCHEMA_TOO_NEW, and releases the lease', async () => {
    const env = { DATA_DIR: newerDir, ADMIN_TOKENS: 'failed-start-admin-token-0123456789' };
    const first = await startBackendProcess(env);
    first.child.kill('SIGTERM');
    expect(await first.exited()).toBe(0);
    // As a newer release with a breaking migration would leave it.
    const newer = new Database(join(newerDir, 'slideshow.db'));
    newer.prepare("INSERT INTO schema_migrations VALUES ('099_future_breaking.sql', 'x')").run();
    newer
      .prepare('UPDATE settings SET value = ? WHERE key = ?')
      .run('099_future_breaking.sql', REQUIREMENT_KEY);
    newer.close();

    const failure = await startBackendProcess(env).then(
      () => 'started',
      (error: unknown) => String(error),
    );
    expect(failure).toContain('backend exited with 1');
    expect(failure).toContain('"code":"SCHEMA_TOO_NEW"');
    expect(failure).toContain('requires a backend that knows migration 099_future_breaking.sql');
    expect(failure).toContain('released the database lease after a failed start');

    // The release that knows it (here: the requirement withdrawn) starts at once on a released lease.
    const fixed = new Database(join(newerDir, 'slideshow.db'));
    fixed.prepare('DELETE FROM settings WHERE key = ?').run(REQUIREMENT_KEY);
    fixed.close();
    backend = await startBackendProcess(env);
    expect(leaseAcquired(backend.logs())).toMatchObject({ how: 'released' });
    backend.child.kill('SIGTERM');
    expect(await backend.exited()).toBe(0);
  });
});
