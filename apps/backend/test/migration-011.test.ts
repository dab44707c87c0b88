import { describe, expect, it } from 'vitest';
import { migrate } from '../src/db/open-database.ts';
import { createWriterEpochsRepository } from '../src/db/writer-epochs-repository.ts';
import { databaseBefore, T0 } from './older-database.ts';

describe('migration 011 (a writer records how it took the lease)', () => {
  it('keeps the recorded writers, counts none of them released, and records the next one', () => {
    const db = databaseBefore('011');
    const insert = db.prepare(
      `INSERT INTO writer_epochs (epoch, owner, revision, restored_epoch, previous_epoch, started_at)
       VALUES (?, ?, NULL, ?, ?, '${T0}')`,
    );
    insert.run(1, 'owner-1', null, 0);
    insert.run(2, 'owner-2', 1, 1);
    const before = db.prepare('SELECT * FROM writer_epochs ORDER BY epoch').all();

    expect(migrate(db)[0]).toBe('011_writer_acquisition.sql');

    const rows = db.prepare('SELECT * FROM writer_epochs ORDER BY epoch').all();
    expect(rows).toEqual(before.map((row) => ({ ...(row as object), acquired: null })));
    const epochs = createWriterEpochsRepository(db);
    expect(epochs.superseded()).toEqual([]);
    epochs.record({
      epoch: 3,
      owner: 'owner-3',
      revision: null,
      restoredEpoch: 2,
      previousEpoch: 2,
      startedAt: T0,
      acquired: 'released',
    });
    expect(epochs.superseded()).toEqual([2]);
    db.close();
  });
});
