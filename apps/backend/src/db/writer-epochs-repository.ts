/** `writer_epochs`: one row per lease holder, written before its first other write (migration 003). */
import type { Db } from './open-database.ts';

/** A recorded writer. */
export interface WriterEpoch {
  epoch: number;
  owner: string;
  revision: string | null;
  restoredEpoch: number | null;
  previousEpoch: number;
  startedAt: string;
  /** How it took the lease (migration 011); null for writers recorded before. */
  acquired: 'created' | 'released' | 'expired' | null;
}

/** Creates the repository. */
export function createWriterEpochsRepository(db: Db) {
  const highest = db.prepare<[], { epoch: number | null }>(
    'SELECT MAX(epoch) AS epoch FROM writer_epochs',
  );
  const superseded = db.prepare<[], { epoch: number }>(
    `SELECT w.epoch FROM writer_epochs w WHERE EXISTS (
       SELECT 1 FROM writer_epochs s
       WHERE s.restored_epoch = w.epoch AND s.previous_epoch = w.epoch AND s.acquired = 'released'
     ) ORDER BY w.epoch`,
  );
  const insert = db.prepare(
    'INSERT INTO writer_epochs (epoch, owner, revision, restored_epoch, previous_epoch, started_at, acquired) VALUES (@epoch, @owner, @revision, @restoredEpoch, @previousEpoch, @startedAt, @acquired)',
  );
  return {
    /** The highest epoch recorded, or null in a database no writer has recorded itself in. */
    highest: (): number | null => highest.get()?.epoch ?? null,
    /**
     * The recorded writers whose direct successor (`previous_epoch`) took the lease after
     * they released it and restored their database (`restored_epoch`): their replica was
     * final before it was restored, so all of it lives on in this database and the replica
     * is superseded (writer/replica-pruning.ts). After an expiry, a reset or a restore of
     * another path, the replica may hold writes this database lacks: not superseded.
     */
    superseded: (): number[] => superseded.all().map((r) => r.epoch),
    /** Records the current writer. */
    record: (row: WriterEpoch): void => {
      insert.run(row);
    },
  };
}
