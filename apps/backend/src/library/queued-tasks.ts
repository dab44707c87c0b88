/**
 * The Cloud Tasks tasks a deleted image leaves behind, and their removal
 * (docs/architecture.md#image-states). A task still waiting in its queue
 * (paused, rate-limited, or behind many others) would otherwise create a
 * workflow execution and a Cloud Run job execution only to find the image
 * gone. Removing it is best effort through the `TaskCancellation` port: a task
 * already delivered (its execution exists) is left to the processor, which
 * stops at once for a deleted image; a failed call is logged and lets the
 * delete go on, and after one, cancellations pause for a while, so a bulk
 * delete during a Cloud Tasks outage waits for one call, not one per image.
 */
import type { QueueName, TaskCancellation } from '@slideshow/dispatch';
import { coerceError, type Logger } from '@slideshow/runtime';
import type { ImageRow } from '../db/images-repository.ts';
import type { Db } from '../db/open-database.ts';
import { queueFor } from '../repositories.ts';

/** A dispatch whose task may still wait in its queue. */
export interface QueuedTask {
  key: string;
  queue: QueueName;
}

/** The policy of {@link createQueuedTasks}. */
export const QUEUED_TASKS_DEFAULTS = {
  /**
   * How long cancellations are skipped after one failed (other than NOT_FOUND):
   * each call waits up to the adapter's bound (CANCEL_TIMEOUT_MS, 5 s), so
   * without the pause a 500-image bulk delete against an unreachable Cloud
   * Tasks would wait 500 of them.
   */
  pauseAfterFailureMs: 60_000,
} as const;

/** Options for {@link createQueuedTasks}. */
export interface QueuedTasksOptions {
  db: Db;
  /** Absent when the dispatcher has no queue (Workflows): nothing is ever cancelled. */
  cancellation?: TaskCancellation | undefined;
  logger: Logger;
  /** The wall clock, for the time the log line names. */
  now: () => number;
  /** What the pause is measured on: a clock that never steps (default `performance.now`). */
  monotonicNow?: () => number;
  pauseAfterFailureMs?: number;
}

/** Finds and removes the queued tasks of deleted images. */
export interface QueuedTasks {
  /**
   * The tasks that may still wait in their queue for `imageId` and for no
   * other image still waiting: its own dispatch while it is `queued`, and a
   * regeneration's dispatch not yet started. A batch's task is named only when
   * no other member waits for it. Read it in the transaction that deletes the
   * image, so the relay cannot mark a dispatch in between.
   */
  waitingOnlyFor(imageId: string): QueuedTask[];
  /** Removes each task, best effort: never throws; a failure is logged as a warning. */
  cancel(tasks: readonly QueuedTask[], context: Record<string, unknown>): Promise<void>;
}

/** Prepares the queries and builds the canceller (no I/O until `cancel`). */
export function createQueuedTasks(options: QueuedTasksOptions): QueuedTasks {
  const { db, cancellation, logger, now } = options;
  const monotonicNow = options.monotonicNow ?? (() => performance.now());
  const pauseMs = options.pauseAfterFailureMs ?? QUEUED_TASKS_DEFAULTS.pauseAfterFailureMs;
  const ownDispatch = db.prepare<[string], Pick<ImageRow, 'dispatch_key' | 'priority'>>(
    `SELECT dispatch_key, priority FROM images
     WHERE id = ? AND status = 'queued' AND dispatch_key IS NOT NULL`,
  );
  // Regenerations go through the ingest queue (regen/dispatch-worker.ts).
  const regenDispatches = db.prepare<[string], { key: string }>(
    `SELECT DISTINCT dispatch_key AS key FROM regen_items
     WHERE image_id = ? AND state = 'dispatched' AND started_at IS NULL AND dispatch_key IS NOT NULL`,
  );
  // Another image (or another image's regeneration) in the same batch still waiting for the task.
  const otherWaiters = db.prepare<[string, string, string, string], { n: number }>(
    `SELECT (SELECT count(*) FROM images
              WHERE status = 'queued' AND dispatch_key = ? AND id <> ?)
          + (SELECT count(*) FROM regen_items
              WHERE state = 'dispatched' AND dispatch_key = ? AND image_id <> ?) AS n`,
  );
  // On the monotonic clock (a wall-clock step back would stretch the pause by its size); the
  // wall-clock time is kept for the log line only.
  let pausedUntil = Number.NEGATIVE_INFINITY;
  let pausedUntilWall = 0;

  const cancelOne = async (
    task: QueuedTask,
    context: Record<string, unknown>,
    canceller: TaskCancellation,
  ) => {
    const fields = { ...context, dispatchKey: task.key, queue: task.queue };
    if (monotonicNow() < pausedUntil) {
      // INFO: the failure that paused them was the WARNING; a bulk delete during an outage
      // must not log one per image.
      logger.info('queued task not cancelled: cancellations paused after a failure', {
        ...fields,
        pausedUntil: new Date(pausedUntilWall).toISOString(),
      });
      return;
    }
    try {
      const removed = await canceller.cancel(task.key, task.queue);
      if (removed) logger.info('queued task cancelled', fields);
      else logger.debug('no queued task to cancel (delivered already, or never created)', fields);
    } catch (error) {
      pausedUntil = monotonicNow() + pauseMs;
      pausedUntilWall = now() + pauseMs;
      const e = coerceError(error);
      logger.warn('queued task not cancelled; it will run and find its image gone', {
        ...fields,
        code: e.code,
        grpcCode: e.context.grpcCode,
        error: e,
      });
    }
  };

  return {
    waitingOnlyFor(imageId) {
      const own = ownDispatch.get(imageId);
      const tasks: QueuedTask[] = [
        ...(own?.dispatch_key ? [{ key: own.dispatch_key, queue: queueFor(own) }] : []),
        ...regenDispatches.all(imageId).map((r) => ({ key: r.key, queue: 'ingest' as const })),
      ];
      return tasks.filter(
        (t, i) =>
          tasks.findIndex((u) => u.key === t.key) === i &&
          (otherWaiters.get(t.key, imageId, t.key, imageId)?.n ?? 0) === 0,
      );
    },
    async cancel(tasks, context) {
      if (cancellation === undefined) return;
      // One at a time: a bulk delete names one or two tasks per image, and each call is bounded.
      for (const task of tasks) await cancelOne(task, context, cancellation);
    },
  };
}
