/**
 * The database-level write fence (src/db/write-fence.ts): with the fence closed
 * every mutating statement is refused before SQLite sees it, a transaction
 * refused halfway rolls back whole, and reads keep working.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppError } from '@slideshow/runtime';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../src/db/open-database.ts';

const dir = mkdtempSync(join(tmpdir(), 'write-fence-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the database write fence', () => {
  it('refuses every write once closed, rolls a half-done transaction back whole, and still reads', () => {
    let open = true;
    const db = openDatabase(join(dir, 'fenced.db'), {
      assertWritable: () => {
        if (!open) throw new AppError('LEASE_NOT_HELD', 'fenced', { retryable: true });
      },
    });
    db.exec('CREATE TABLE t (n INTEGER)');
    const insert = db.prepare('INSERT INTO t (n) VALUES (?)');
    const returning = db.prepare('INSERT INTO t (n) VALUES (?) RETURNING n');
    const count = () => db.prepare<[], { c: number }>('SELECT COUNT(*) AS c FROM t').get()?.c;
    insert.run(1);
    let calls = 0;
    const twoInserts = db.transaction(() => {
      insert.run(2);
      calls++;
      open = false; // the lease deadline passes between two statements
      insert.run(3);
    });
    expect(() => twoInserts()).toThrow(/fenced/);
    expect(calls).toBe(1);
    expect(count()).toBe(1);
    expect(() => insert.run(4)).toThrow(/fenced/);
    expect(() => returning.get(5)).toThrow(/fenced/);
    expect(() => db.exec('DELETE FROM t')).toThrow(/fenced/);
    expect(() => db.prepare('UPDATE t SET n = 9').run()).toThrow(/fenced/);
    expect(count()).toBe(1);
    open = true;
    insert.run(6);
    expect(count()).toBe(2);
    db.close();
  });
});
