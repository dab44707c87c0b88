/**
 * A database locked by another connection (docs/operations.md tells operators
 * to run `sqlite3` against the live file) is a transient condition: writes
 * answer 503 BACKEND_UNAVAILABLE after the short busy timeout
 * (db/open-database.ts), reads keep working, nothing is left half-done, and
 * the same upload is accepted once the lock is gone. Against the real backend
 * process over HTTP, with a second real connection holding BEGIN IMMEDIATE on
 * the same SQLite file; and the mapping itself in process.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorAnswer, UploadAnswer } from '@slideshow/contracts';
import { AppError } from '@slideshow/runtime';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { BUSY_TIMEOUT_MS, openDatabase } from '../src/db/open-database.ts';
import {
  DATABASE_BUSY_RETRY_AFTER_S,
  logFailure,
  retryAfterFor,
  statusFor,
  toAppError,
} from '../src/http-errors.ts';
import { type BackendProcess, startBackendProcess } from './backend-process.ts';
import { expectAnswer, makePng, memoryLogger, multipart } from './helpers.ts';

const TOKEN = 'busy-admin-token-0123456789abcdef';

describe('the backend process while another connection holds the write lock', () => {
  let dir: string | undefined;
  let backend: BackendProcess | undefined;
  let holder: Database.Database | undefined;

  afterEach(async () => {
    holder?.close();
    holder = undefined;
    if (backend) {
      backend.child.kill('SIGTERM');
      await backend.exited();
      backend = undefined;
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  const upload = (bytes: Buffer) =>
    fetch(`${backend?.url}/api/admin/upload`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${TOKEN}` },
      body: multipart([{ name: 'busy.png', bytes }]),
    });

  it('answers an upload 503 BACKEND_UNAVAILABLE, keeps serving reads, leaves nothing behind, and accepts it once the lock is gone', async () => {
    dir = mkdtempSync(join(tmpdir(), 'backend-busy-'));
    backend = await startBackendProcess({
      DATA_DIR: dir,
      DISPATCH: 'dry-run',
      ADMIN_TOKENS: TOKEN,
    });
    // What `sqlite3 .data/slideshow.db` then `BEGIN IMMEDIATE;` does: a second connection
    // takes the write lock and keeps it.
    holder = new Database(join(dir, 'slideshow.db'));
    holder.exec('BEGIN IMMEDIATE');

    const png = makePng(16, 16, 77);
    const response = await upload(png);
    expect(response.headers.get('retry-after')).toBe(String(DATABASE_BUSY_RETRY_AFTER_S));
    const refused = await expectAnswer(ErrorAnswer, response, 503);
    const lines = backend
      .logs()
      .split('\n')
      .filter((l) => l.includes('BACKEND_UNAVAILABLE'));
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) {
      expect(line).toMatch(/"severity":"WARNING"/);
      expect(line).not.toMatch(/"stack"/);
    }
    expect(refused.error.code).toBe('BACKEND_UNAVAILABLE');
    expect(refused.error.message).toBe(
      'the database is busy: another connection holds its write lock (SQLITE_BUSY); retry',
    );
    // WAL: readers are never blocked by the writer.
    expect((await fetch(`${backend.url}/status`)).status).toBe(200);

    holder.exec('ROLLBACK');
    const accepted = await expectAnswer(UploadAnswer, await upload(png), 202);
    const image = accepted.images[0];
    expect(image && 'id' in image ? image.duplicate : image).toBe(false);
    const rows = holder
      .prepare(
        'SELECT (SELECT count(*) FROM images) AS images, (SELECT count(*) FROM pending_originals) AS pending',
      )
      .get();
    expect(rows).toEqual({ images: 1, pending: 0 });
    expect(readdirSync(join(dir, 'storage', 'originals'))).toHaveLength(1);
  });

  it('names the database file when another connection holds the lock it needs to migrate', () => {
    dir = mkdtempSync(join(tmpdir(), 'backend-busy-open-'));
    const path = join(dir, 'slideshow.db');
    // A database whose migrations are not applied yet: opening it has to write.
    holder = new Database(path);
    holder.exec('BEGIN IMMEDIATE');
    let thrown: unknown;
    try {
      openDatabase(path).close();
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(AppError);
    expect((thrown as AppError).code).toBe('BACKEND_UNAVAILABLE');
    expect((thrown as AppError).message).toBe(
      `cannot open the database ${path}: database is locked (another connection, such as a sqlite3 session, holds a write transaction; end it and start again)`,
    );
  });
});

describe('a busy database in the error mapping', () => {
  const sqliteError = (code: string) =>
    Object.assign(
      new Error(code === 'SQLITE_FULL' ? 'database or disk is full' : 'database is locked'),
      { code },
    );

  it('maps SQLITE_BUSY, SQLITE_LOCKED and their extended codes to a retryable 503 with Retry-After', () => {
    for (const code of [
      'SQLITE_BUSY',
      'SQLITE_BUSY_SNAPSHOT',
      'SQLITE_LOCKED',
      'SQLITE_LOCKED_SHAREDCACHE',
    ]) {
      const error = toAppError(sqliteError(code));
      expect([error.code, statusFor(error.code), error.retryable, retryAfterFor(error)]).toEqual([
        'BACKEND_UNAVAILABLE',
        503,
        true,
        DATABASE_BUSY_RETRY_AFTER_S,
      ]);
      expect(error.context.errno).toBe(code);
    }
  });

  it('keeps SQLITE_FULL a 507 STORAGE_FULL and other SQLite errors a 500 without Retry-After', () => {
    const full = toAppError(sqliteError('SQLITE_FULL'));
    expect([full.code, statusFor(full.code), retryAfterFor(full)]).toEqual([
      'STORAGE_FULL',
      507,
      undefined,
    ]);
    const other = toAppError(
      Object.assign(new Error('no such table: x'), { code: 'SQLITE_ERROR' }),
    );
    expect([other.code, statusFor(other.code), retryAfterFor(other)]).toEqual([
      'INTERNAL',
      500,
      undefined,
    ]);
  });

  it('logs a busy database as one WARNING without a stack, and other server failures as an ERROR with one', () => {
    const { logger, lines } = memoryLogger();
    logFailure(logger, 'upload failed', toAppError(sqliteError('SQLITE_BUSY')));
    logFailure(logger, 'upload failed', toAppError(new Error('boom')));
    expect(lines.map((l) => [l.severity, l.code, 'error' in l])).toEqual([
      ['WARNING', 'BACKEND_UNAVAILABLE', false],
      ['ERROR', 'INTERNAL', true],
    ]);
    expect(JSON.stringify(lines[0])).not.toContain('stack');
  });

  it('waits a short busy timeout, so the 15 s lease keeps its renewal slack', () => {
    // The reasoning is in open-database.ts; this pins the value it argues for.
    expect(BUSY_TIMEOUT_MS).toBeLessThanOrEqual(1_000);
  });
});
