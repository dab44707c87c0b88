/**
 * The dispatch outbox: a row is written in the same transaction as the state
 * change that needs a dispatch, and deleted only once the task exists, so a
 * crash or a Cloud Tasks outage delays work but never loses it. Rows of a
 * batch share a `batch_key` (migration 004) and are dispatched, rescheduled
 * and deleted together.
 */
import type { QueueName } from '@slideshow/dispatch';
import type { Db } from './open-database.ts';

/** A row of `outbox`. */
export interface OutboxRow {
  id: number;
  image_id: string;
  generation: number;
  queue: QueueName;
  /**
   * The key this row is dispatched under when it goes alone, `taskNameFor(image_id,
   * generation)`, written with the row: the relay sends a single row under it
   * (outbox-units.ts `unitOf`) and the image_events triggers name it (migrations
   * 006, 007). A batched row goes under `batch_key` instead.
   */
  task_name: string;
  attempts: number;
  next_attempt_at: number;
  last_error: string | null;
  created_at: number;
  /** The batch this row was put in (its dispatch key), or null. */
  batch_key: string | null;
}

/** Creates the repository over `db`. */
export function createOutboxRepository(db: Db) {
  const insert = db.prepare(
    `INSERT INTO outbox (image_id, generation, queue, task_name, attempts, next_attempt_at, created_at)
     VALUES (@imageId, @generation, @queue, @taskName, 0, @now, @now)
     ON CONFLICT (image_id, generation) DO NOTHING`,
  );
  // What the relay may send now: single dispatches, and rows already put in a batch. Rows of a
  // queue that is batched wait in `unbatched` until the relay forms their batch.
  const due = db.prepare<[number, string, number], OutboxRow>(
    `SELECT * FROM outbox WHERE next_attempt_at <= ?
       AND (batch_key IS NOT NULL OR instr(?, ',' || queue || ',') = 0)
     ORDER BY next_attempt_at, id LIMIT ?`,
  );
  const unbatched = db.prepare<[string, number, number], OutboxRow>(
    `SELECT * FROM outbox WHERE queue = ? AND batch_key IS NULL AND next_attempt_at <= ?
     ORDER BY id LIMIT ?`,
  );
  const inBatch = db.prepare<[string], OutboxRow>(
    'SELECT * FROM outbox WHERE batch_key = ? ORDER BY id',
  );
  const assign = db.prepare<[string, number]>(
    'UPDATE outbox SET batch_key = ? WHERE id = ? AND batch_key IS NULL',
  );
  const remove = db.prepare<[number]>('DELETE FROM outbox WHERE id = ?');
  const reschedule = db.prepare<[number, string, number]>(
    'UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ? WHERE id = ?',
  );
  const stats = db.prepare<[], { pending: number; oldest: number | null; next: number | null }>(
    'SELECT count(*) AS pending, min(created_at) AS oldest, min(next_attempt_at) AS next FROM outbox',
  );
  return {
    /** Adds a pending dispatch (idempotent per image generation). */
    add: (row: {
      imageId: string;
      generation: number;
      queue: QueueName;
      taskName: string;
      now: number;
    }): void => {
      insert.run(row);
    },
    /**
     * Rows due at `now`, oldest first: every row of a queue not in
     * `batchedQueues`, and rows of batched queues once they are in a batch.
     */
    due: (now: number, limit: number, batchedQueues: readonly QueueName[] = []): OutboxRow[] =>
      due.all(now, `,${batchedQueues.join(',')},`, limit),
    /** Due rows of `queue` not yet in a batch, in arrival order. */
    unbatched: (queue: QueueName, now: number, limit: number): OutboxRow[] =>
      unbatched.all(queue, now, limit),
    /** Every row of one batch. */
    batch: (batchKey: string): OutboxRow[] => inBatch.all(batchKey),
    /** Puts rows in the batch `batchKey` (one transaction; rows already in a batch stay there). */
    assignBatch: db.transaction((batchKey: string, ids: readonly number[]): number => {
      let changed = 0;
      for (const id of ids) changed += assign.run(batchKey, id).changes;
      return changed;
    }),
    /** Removes a dispatched row. */
    remove: (id: number): void => {
      remove.run(id);
    },
    /** Records a failed attempt and when to try again. */
    reschedule: (id: number, nextAttemptAt: number, lastError: string): void => {
      reschedule.run(nextAttemptAt, lastError, id);
    },
    /** Depth, oldest row's creation and the earliest next attempt (epoch ms). */
    stats: () => {
      const s = stats.get();
      return {
        pending: s?.pending ?? 0,
        oldestCreatedAt: s?.oldest ?? null,
        nextAt: s?.next ?? null,
      };
    },
  };
}
