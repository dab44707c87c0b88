/**
 * An admin's retry of failed images: a new generation (its own task name,
 * and reports of the failed attempt become stale), the failure resolved, a
 * new outbox row. One transaction per call; `retryMany` takes a batch.
 */
import { AppError } from '@slideshow/runtime';
import type { ImageRow } from '../db/images-repository.ts';
import { queueFor } from '../repositories.ts';
import type { TransitionContext } from './context.ts';

/** The retry transitions over `ctx`. */
export function createRetryTransitions(ctx: TransitionContext) {
  const { db, repos, iso, load, enqueue } = ctx;

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

  return { retry, retryMany };
}
