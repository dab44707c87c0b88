/**
 * The image state machine (docs/reliability.md) on top of the repositories.
 * Every transition runs in one SQLite transaction and is guarded by id,
 * generation and current status, so duplicate, late and stale-generation
 * deliveries never overwrite newer state:
 *
 *   uploaded → queued (task created) → processing (started) → processed (complete)
 *   processing → failed (failed report / reaper), failed → queued (retry, generation + 1)
 *
 * A stale generation is an error (409 STALE_GENERATION); a duplicate of an
 * already-applied transition answers `{ applied: false, reason }`.
 */
import type { CompleteBody, FailedBody, FailureSource, StartedBody } from '@slideshow/contracts';
import type { QueueName } from '@slideshow/dispatch';
import { taskNameFor } from '@slideshow/dispatch';
import { AppError } from '@slideshow/runtime';
import { createFailedTasksRepository } from './db/failed-tasks-repository.ts';
import type { ImageRow, NewImage } from './db/images-repository.ts';
import { createImagesRepository } from './db/images-repository.ts';
import type { Db } from './db/open-database.ts';
import { createOutboxRepository } from './db/outbox-repository.ts';
import { createPendingOriginalsRepository } from './db/pending-originals-repository.ts';
import { createSessionsRepository } from './db/sessions-repository.ts';
import { createUploadSessionsRepository } from './db/upload-sessions-repository.ts';

/** Every repository, built once per database. */
export function createRepositories(db: Db) {
  return {
    images: createImagesRepository(db),
    failedTasks: createFailedTasksRepository(db),
    outbox: createOutboxRepository(db),
    sessions: createSessionsRepository(db),
    pendingOriginals: createPendingOriginalsRepository(db),
    uploadSessions: createUploadSessionsRepository(db),
  };
}

/** The repositories bundle. */
export type Repositories = ReturnType<typeof createRepositories>;

/** Outcome of a callback transition. */
export type Transition = { applied: true } | { applied: false; reason: string };

/**
 * How precisely each source knows why an attempt failed: the processor names
 * the error (CORRUPT_IMAGE, STORAGE_UNAVAILABLE…), the workflow only that the
 * job failed or timed out, the reaper only that nothing was heard. For one
 * generation, a less precise report never replaces a more precise one.
 */
const SOURCE_PRECISION: Record<FailureSource, number> = { processor: 3, workflow: 2, reaper: 1 };

/** The queue an image's dispatches go to. */
export function queueFor(image: Pick<ImageRow, 'priority'>): QueueName {
  return image.priority === 'batch' ? 'ingest' : 'uploads';
}

/** Options for {@link createLifecycle}. */
export interface LifecycleOptions {
  db: Db;
  repos: Repositories;
  now: () => number;
  /** Called after a transaction that added an outbox row (wakes the relay). */
  onEnqueued?: () => void;
}

/** Creates the state machine. */
export function createLifecycle(options: LifecycleOptions) {
  const { db, repos } = options;
  const iso = () => new Date(options.now()).toISOString();
  const enqueue = (imageId: string, generation: number, queue: QueueName) =>
    repos.outbox.add({
      imageId,
      generation,
      queue,
      taskName: taskNameFor(imageId, generation),
      now: options.now(),
    });
  const load = (id: string): ImageRow => {
    const row = repos.images.get(id);
    if (!row) throw new AppError('NOT_FOUND', `no image ${id}`, { context: { imageId: id } });
    return row;
  };
  const checkGeneration = (row: ImageRow, generation: number) => {
    if (generation !== row.generation) {
      throw new AppError(
        'STALE_GENERATION',
        `generation ${generation} is not the current generation ${row.generation} of image ${row.id}`,
        { context: { imageId: row.id, generation, current: row.generation } },
      );
    }
  };

  const accept = db.transaction((image: NewImage): { row: ImageRow; duplicate: boolean } => {
    const existing = repos.images.getBySha256(image.sha256);
    if (existing) return { row: existing, duplicate: true };
    repos.images.insert(image);
    // The upload's object is now owned by its row: no longer the orphan sweeper's to delete.
    repos.pendingOriginals.remove(image.source_key);
    enqueue(image.id, 0, image.priority === 'batch' ? 'ingest' : 'uploads');
    return { row: load(image.id), duplicate: false };
  });

  const started = db.transaction((id: string, body: StartedBody): Transition => {
    const row = load(id);
    checkGeneration(row, body.generation);
    if (repos.images.markStarted(id, body.generation, body.execution ?? null, iso())) {
      return { applied: true };
    }
    return { applied: false, reason: `image is already ${row.status}` };
  });

  const complete = db.transaction((id: string, body: CompleteBody): Transition => {
    const row = load(id);
    checkGeneration(row, body.generation);
    if (row.status === 'processed') return { applied: false, reason: 'image is already processed' };
    const r = body.result;
    const ok = repos.images.markProcessed(
      id,
      body.generation,
      {
        width: r.width,
        height: r.height,
        format: r.format,
        hasAlpha: r.hasAlpha,
        frames: r.frames,
        variants: JSON.stringify(r.variants),
        placeholder: r.placeholder,
        dominantColor: r.dominantColor,
        timings: JSON.stringify(r.timings),
      },
      iso(),
    );
    if (!ok) return { applied: false, reason: `image is ${row.status}` };
    repos.failedTasks.resolve(id, iso());
    return { applied: true };
  });

  const failed = db.transaction((id: string, body: FailedBody): Transition => {
    const row = load(id);
    if (row.status === 'processed') {
      return { applied: false, reason: 'image is already processed; failure report ignored' };
    }
    // Every report names its generation: one from an older attempt (a late workflow backstop,
    // a slow processor) is STALE_GENERATION and cannot fail a newer one.
    checkGeneration(row, body.generation);
    const open = repos.failedTasks.get(id);
    const execution = body.execution ?? null;
    if (row.status === 'failed' && open && open.resolved_at === null) {
      // This generation's failure is already recorded.
      if (
        open.execution === execution &&
        open.error_code === body.code &&
        open.error_message === body.message
      ) {
        return { applied: false, reason: 'duplicate failure report' };
      }
      const recorded = SOURCE_PRECISION[open.source];
      const incoming = SOURCE_PRECISION[body.source];
      if (incoming < recorded) {
        return {
          applied: false,
          reason: `the ${open.source}'s report for generation ${body.generation} is kept`,
        };
      }
      if (incoming > recorded) {
        // The same attempt, told more precisely: replace the verdict, not a new attempt.
        repos.images.markFailed(id, body.generation, body.code, execution, iso());
        repos.failedTasks.refine({
          imageId: id,
          code: body.code,
          message: body.message,
          execution,
          source: body.source,
          now: iso(),
        });
        return { applied: true };
      }
    }
    repos.images.markFailed(id, body.generation, body.code, execution, iso());
    repos.failedTasks.record({
      imageId: id,
      code: body.code,
      message: body.message,
      execution,
      source: body.source,
      now: iso(),
    });
    return { applied: true };
  });

  const retry = db.transaction((id: string): ImageRow => {
    const row = load(id);
    if (row.status !== 'failed') {
      throw new AppError(
        'CONFLICT',
        `image ${id} is ${row.status}; only failed images are retried`,
        {
          context: { imageId: id },
        },
      );
    }
    repos.images.requeue(id, row.generation, iso());
    repos.failedTasks.resolve(id, iso());
    enqueue(id, row.generation + 1, queueFor(row));
    return load(id);
  });

  // Many retries in one transaction (one commit per batch). An image that is not failed or
  // is gone is skipped with its error; anything else rolls the whole batch back.
  const retryMany = db.transaction((ids: readonly string[]) => {
    const out = { retried: [] as string[], skipped: [] as { id: string; error: AppError }[] };
    for (const id of ids) {
      try {
        retry(id);
        out.retried.push(id);
      } catch (error) {
        if (
          !(error instanceof AppError && (error.code === 'CONFLICT' || error.code === 'NOT_FOUND'))
        )
          throw error;
        out.skipped.push({ id, error });
      }
    }
    return out;
  });

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
      // A new generation, because Cloud Tasks refuses a task name reused within
      // about an hour, and so that a late report from the stuck attempt is stale.
      repos.images.requeue(row.id, row.generation, iso(), true);
      enqueue(row.id, row.generation + 1, queueFor(row));
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
    started: (id: string, body: StartedBody) => started(id, body),
    /** `POST …/complete`. */
    complete: (id: string, body: CompleteBody) => complete(id, body),
    /** `POST …/failed`. */
    failed: (id: string, body: FailedBody) => failed(id, body),
    /** Retry of a failed image: new generation, failed_tasks row resolved, new outbox row. */
    retry: (id: string) => notify(retry(id)),
    /** {@link retry} for a batch of images in one transaction; those not failed (or gone) are skipped. */
    retryMany: (ids: readonly string[]) => notify(retryMany(ids)),
    /**
     * Images the reaper should look at: `queued`/`processing`, no dispatch
     * pending in the outbox, untouched and not seen alive for `stuckAfterMs`.
     */
    stuckCandidates: (stuckAfterMs: number, limit = 100): ImageRow[] =>
      repos.images.findStuck(new Date(options.now() - stuckAfterMs).toISOString(), limit),
    /** The reaper found the row's dispatch alive: its deadline starts again now. */
    keepAlive: (row: ImageRow): boolean =>
      repos.images.markAlive(row.id, row.generation, row.updated_at, iso()),
    /** Re-dispatches a stuck image once (new generation), or fails it STUCK the second time. */
    reapStuck: (row: ImageRow) => {
      const outcome = reapOne(row);
      if (outcome === 'redispatched') options.onEnqueued?.();
      return outcome;
    },
  };
}

/** The state machine. */
export type Lifecycle = ReturnType<typeof createLifecycle>;
