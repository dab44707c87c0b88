/**
 * The dispatch outbox: a row is written in the same transaction as the state
 * change that needs a dispatch, and deleted only once the task exists, so a
 * crash or a Cloud Tasks outage delays work but never loses it.
 */
import type { QueueName } from '@slideshow/dispatch';
import type { Db } from './open-database.ts';

/** A row of `outbox`. */
export interface OutboxRow {
  id: number;
  image_id: string;
  generation: number;
  queue: QueueName;
  task_name: string;
  attempts: number;
  next_attempt_at: number;
  last_error: string | null;
  created_at: number;
}

/** Creates the repository over `db`. */
export function createOutboxRepository(db: Db) {
  const insert = db.prepare(
    `INSERT INTO outbox (image_id, generation, queue, task_name, attempts, next_attempt_at, created_at)
     VALUES (@imageId, @generation, @queue, @taskName, 0, @now, @now)
     ON CONFLICT (image_id, generation) DO NOTHING`,
  );
  const due = db.prepare<[number, number], OutboxRow>(
    'SELECT * FROM outbox WHERE next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?',
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
    /** Rows due at `now`, oldest first. */
    due: (now: number, limit: number): OutboxRow[] => due.all(now, limit),
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

/** The outbox repository. */
export type OutboxRepository = ReturnType<typeof createOutboxRepository>;
