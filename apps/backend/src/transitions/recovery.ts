/**
 * What the backend's own workers decide about an image (docs/reliability.md,
 * "Who retries what"):
 *
 * - the reaper, for an image nothing has touched for too long whose dispatch
 *   is neither waiting nor running: re-dispatch it once with a new generation
 *   (the images repository's `nextGeneration`; Cloud Tasks refuses a task name reused within about an hour, and a late
 *   report from the stuck attempt must be stale), fail it STUCK the second time;
 * - the outbox relay, for a dispatch the queue service refused for good or
 *   that reached the relay's attempt cap: fail the image with source
 *   `dispatch`, so it does not wait forever with an outbox row nobody sends.
 */
import type { ErrorCode } from '@slideshow/contracts';
import type { ImageRow } from '../db/images-repository.ts';
import type { OutboxRow } from '../db/outbox-repository.ts';
import { queueFor } from '../repositories.ts';
import type { TransitionContext } from './context.ts';

/** Why the relay gave up on a dispatch. */
export interface DispatchFailure {
  code: Extract<ErrorCode, 'DISPATCH_FAILED' | 'DISPATCH_REFUSED'>;
  message: string;
}

/** The reaper's and the relay's transitions over `ctx`. */
export function createRecoveryTransitions(ctx: TransitionContext) {
  const { db, repos, iso, enqueue } = ctx;

  const reapOne = db.transaction((row: ImageRow): 'redispatched' | 'failed' | 'skipped' => {
    const current = repos.images.get(row.id);
    if (
      !current ||
      current.generation !== row.generation ||
      current.updated_at !== row.updated_at ||
      current.alive_at !== row.alive_at
    ) {
      return 'skipped';
    }
    if (current.reaped_count === 0) {
      const generation = repos.images.requeue(row.id, row.generation, iso(), true);
      if (generation === undefined) return 'skipped';
      enqueue(row.id, generation, queueFor(row));
      return 'redispatched';
    }
    const since =
      current.alive_at && current.alive_at > current.updated_at
        ? current.alive_at
        : current.updated_at;
    const message = `stuck in ${current.status} since ${since} after one re-dispatch`;
    repos.images.markFailed(row.id, row.generation, 'STUCK', null, iso());
    repos.failedTasks.record({
      imageId: row.id,
      code: 'STUCK',
      message,
      execution: current.execution,
      source: 'reaper',
      now: iso(),
    });
    return 'failed';
  });

  /**
   * The relay gave up on the dispatch of `rows` (one image, or a batch): each
   * image still waiting at that generation is failed with `failure` and source
   * `dispatch`, then the rows leave the outbox. An image that moved on (a
   * callback started it after all, a retry bumped its generation, it was
   * deleted) keeps its state; only its row goes. Returns the ids failed.
   */
  const dispatchFailed = db.transaction(
    (rows: readonly OutboxRow[], failure: DispatchFailure): string[] => {
      const failed: string[] = [];
      for (const row of rows) {
        const image = repos.images.get(row.image_id);
        const waiting =
          image !== undefined &&
          image.generation === row.generation &&
          (image.status === 'uploaded' || image.status === 'queued');
        if (waiting) {
          // Recorded before the row goes, so its deletion is not logged as a dispatch (migration 007).
          repos.failedTasks.record({
            imageId: row.image_id,
            code: failure.code,
            message: failure.message,
            execution: null,
            source: 'dispatch',
            now: iso(),
          });
          repos.images.markFailed(row.image_id, row.generation, failure.code, null, iso());
          failed.push(row.image_id);
        }
        repos.outbox.remove(row.id);
      }
      return failed;
    },
  );

  return { reapOne, dispatchFailed };
}
