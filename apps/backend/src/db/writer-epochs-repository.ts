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
}

/** Creates the repository. */
export function createWriterEpochsRepository(db: Db) {
  const highest = db.prepare<[], { epoch: number | null }>(
    'SELECT MAX(epoch) AS epoch FROM writer_epochs',
  );
  const superseded = db.prepare<[], { epoch: number }>(
    'SELECT w.epoch FROM writer_epochs w WHERE EXISTS (SELECT 1 FROM writer_epochs s WHERE s.restored_epoch = w.epoch) ORDER BY w.epoch',
  );
  const insert = db.prepare(
    'INSERT INTO writer_epochs (epoch, owner, revision, restored_epoch, previous_epoch, started_at) VALUES (@epoch, @owner, @revision, @restoredEpoch, @previousEpoch, @startedAt)',
  );
  return {
    /** The highest epoch recorded, or null in a database no writer has recorded itself in. */
    highest: (): number | null => highest.get()?.epoch ?? null,
    /**
     * The recorded writers whose whole database a later recorded writer restored (its
     * `restored_epoch`): their data lives on in this database, so their replicas are
     * superseded (writer/replica-pruning.ts).
     */
    superseded: (): number[] => superseded.all().map((r) => r.epoch),
    /** Records the current writer. */
    record: (row: WriterEpoch): void => {
      insert.run(row);
    },
  };
}
