/**
 * The image state machine on top of the repositories; its table of
 * transitions, and where each one lives, is docs/architecture.md#image-states.
 * Every transition runs in one SQLite transaction and is guarded by id,
 * generation and current status, so duplicate, late and stale-generation
 * deliveries never overwrite newer state. A stale generation is an error
 * (409 STALE_GENERATION); a duplicate of an already-applied transition answers
 * `{ applied: false, reason }`.
 *
 * `accept` is here; the others are in transitions/*.ts by who asks for them:
 * callbacks.ts, retries.ts (admins), recovery.ts (the reaper, and the relay
 * giving up). Not here: "task created" (outbox-relay.ts marks the image
 * queued as it deletes the sent rows), and a regeneration's reports, which
 * routes/processing.ts gives to regen/processor-reports.ts first.
 */
import type { QueueName } from '@slideshow/dispatch';
import { taskNameFor } from '@slideshow/dispatch';
import { AppError } from '@slideshow/runtime';
import type { ImageRow, NewImage } from './db/images-repository.ts';
import type { Db } from './db/open-database.ts';
import type { OutboxRow } from './db/outbox-repository.ts';
import type { Repositories } from './repositories.ts';
import { createCallbackTransitions } from './transitions/callbacks.ts';
import type { TransitionContext } from './transitions/context.ts';
import { createRecoveryTransitions, type DispatchFailure } from './transitions/recovery.ts';
import { createRetryTransitions } from './transitions/retries.ts';

export { createRepositories, queueFor, type Repositories } from './repositories.ts';
export type { Transition } from './transitions/context.ts';
export type { DispatchFailure } from './transitions/recovery.ts';

/** Options for {@link createLifecycle}. */
export interface LifecycleOptions {
  db: Db;
  repos: Repositories;
  now: () => number;
  /** Called after a transaction that added an outbox row (wakes the relay). */
  onEnqueued?: () => void;
}

function transitionContext(options: LifecycleOptions): TransitionContext {
  const { repos } = options;
  const load = (id: string): ImageRow => {
    const row = repos.images.get(id);
    if (!row) throw new AppError('NOT_FOUND', `no image ${id}`, { context: { imageId: id } });
    return row;
  };
  return {
    db: options.db,
    repos,
    now: options.now,
    iso: () => new Date(options.now()).toISOString(),
    load,
    enqueue: (imageId: string, generation: number, queue: QueueName) =>
      repos.outbox.add({
        imageId,
        generation,
        queue,
        taskName: taskNameFor(imageId, generation),
        now: options.now(),
      }),
    checkGeneration: (row: ImageRow, generation: number) => {
      if (generation !== row.generation) {
        throw new AppError(
          'STALE_GENERATION',
          `generation ${generation} is not the current generation ${row.generation} of image ${row.id}`,
          { context: { imageId: row.id, generation, current: row.generation } },
        );
      }
    },
  };
}

/** Creates the state machine. */
export function createLifecycle(options: LifecycleOptions) {
  const ctx = transitionContext(options);
  const { db, repos } = ctx;
  const callbacks = createCallbackTransitions(ctx);
  const retries = createRetryTransitions(ctx);
  const recovery = createRecoveryTransitions(ctx);

  const accept = db.transaction((image: NewImage): { row: ImageRow; duplicate: boolean } => {
    const existing = repos.images.getBySha256(image.sha256);
    if (existing) return { row: existing, duplicate: true };
    repos.images.insert(image);
    // The upload's object is now owned by its row: no longer the orphan sweeper's to delete.
    repos.pendingOriginals.remove(image.source_key);
    ctx.enqueue(image.id, 0, image.priority === 'batch' ? 'ingest' : 'uploads');
    return { row: ctx.load(image.id), duplicate: false };
  });

  const notify = <T>(value: T): T => {
    options.onEnqueued?.();
    return value;
  };

  return {
    /** Inserts a new image and its first outbox row, or returns the existing image with the same hash. */
    accept: (image: NewImage) => {
      const result = accept(image);
      return result.duplicate ? result : notify(result);
    },
    /**
     * Records that an upload is about to write the original `key`, so that an
     * object left by a crash before its row commits can be proved ours and swept.
     */
    reserveOriginal: (key: string) => repos.pendingOriginals.add(key, options.now()),
    /** Forgets a reservation once the uncommitted object is deleted. */
    releaseOriginal: (key: string) => repos.pendingOriginals.remove(key),
    /** `POST …/started`. */
    started: callbacks.started,
    /** `POST …/complete`. */
    complete: callbacks.complete,
    /** `POST …/failed`. */
    failed: callbacks.failed,
    /** Retry of a failed image: new generation, failed_tasks row resolved, new outbox row. */
    retry: (id: string) => notify(retries.retry(id)),
    /** {@link retry} for a batch of images in one transaction; those not failed (or gone) are skipped. */
    retryMany: (ids: readonly string[]) => notify(retries.retryMany(ids)),
    /**
     * Images the reaper should look at: `uploaded`/`queued`/`processing`, no
     * dispatch pending in the outbox, untouched and not seen alive for `stuckAfterMs`.
     */
    stuckCandidates: (stuckAfterMs: number, limit: number): ImageRow[] =>
      repos.images.findStuck(new Date(options.now() - stuckAfterMs).toISOString(), limit),
    /** The reaper found the row's dispatch alive: its deadline starts again now. */
    keepAlive: (row: ImageRow): boolean =>
      repos.images.markAlive(row.id, row.generation, row.updated_at, ctx.iso()),
    /** Re-dispatches a stuck image once (new generation), or fails it STUCK the second time. */
    reapStuck: (row: ImageRow) => {
      const outcome = recovery.reapOne(row);
      if (outcome === 'redispatched') options.onEnqueued?.();
      return outcome;
    },
    /**
     * The relay gave up on a dispatch (refused for good, or its attempt cap):
     * its waiting images fail with source `dispatch`, its rows leave the outbox.
     */
    dispatchFailed: (rows: readonly OutboxRow[], failure: DispatchFailure): string[] =>
      recovery.dispatchFailed(rows, failure),
  };
}

/** The state machine. */
export type Lifecycle = ReturnType<typeof createLifecycle>;
