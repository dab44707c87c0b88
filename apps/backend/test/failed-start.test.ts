/**
 * A start that fails after taking the database lease (here: another connection
 * holds a write transaction on the database file, so opening and migrating it
 * fails) never served a write, so it gives the lease back before it exits:
 * the next start takes a released lease at once instead of waiting for it to
 * expire (TTL + margin, ~17 s).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { type BackendProcess, startBackendProcess } from './backend-process.ts';

const dir = mkdtempSync(join(tmpdir(), 'backend-failed-start-'));
let backend: BackendProcess | undefined;

afterAll(async () => {
  if (backend && backend.child.exitCode === null) {
    backend.child.kill('SIGKILL');
    await backend.exited();
  }
  rmSync(dir, { recursive: true, force: true });
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
});
