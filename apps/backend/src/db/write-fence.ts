/**
 * The database-level write fence: every statement that can change the
 * database (`statement.readonly === false`, which covers INSERT … RETURNING
 * read with `.get()`) checks the fence synchronously, at the moment it runs,
 * before SQLite sees it. A statement refused inside `db.transaction()` throws,
 * so the transaction rolls back whole: nothing is half-committed.
 *
 * Why here and not (only) in HTTP middleware: writes also come from the
 * outbox relay, the reaper, the orphan sweeper and requests that started while
 * the lease was valid; checking each statement against the lease's monotonic
 * deadline holds even when a timer that should have tripped the fence is late.
 */
import type { Db } from './open-database.ts';

/** Throws (an AppError LEASE_NOT_HELD) when this process may not write. */
export type AssertWritable = () => void;

type Method = 'run' | 'get' | 'all' | 'iterate';
const METHODS: readonly Method[] = ['run', 'get', 'all', 'iterate'];

/** Makes every mutating statement prepared on `db` (and `db.exec`) call `assertWritable` first. */
export function fenceWrites(db: Db, assertWritable: AssertWritable): void {
  const prepare = db.prepare.bind(db);
  const exec = db.exec.bind(db);
  db.prepare = ((source: string) => {
    const statement = prepare(source);
    if (statement.readonly) return statement;
    for (const method of METHODS) {
      const original = statement[method] as (...args: unknown[]) => unknown;
      // Own properties on the statement object, so `.pluck()`/`.bind()` (which return it) stay fenced.
      Object.defineProperty(statement, method, {
        value: (...args: unknown[]) => {
          assertWritable();
          return original.apply(statement, args);
        },
      });
    }
    return statement;
  }) as Db['prepare'];
  db.exec = ((source: string) => {
    assertWritable();
    return exec(source);
  }) as Db['exec'];
}
