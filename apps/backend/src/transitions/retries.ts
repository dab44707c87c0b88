/**
 * An admin's retry of failed images: a new generation (its own task name,
 * and reports of the failed attempt become stale; the images repository's
 * `nextGeneration`, above every regeneration's too), the failure resolved, a
 * new outbox row. One transaction per call; `retryMany` takes a batch.
 */

import type { ImageStatus } from '@slideshow/contracts';
import { AppError } from '@slideshow/runtime';
import type { ImageRow } from '../db/images-repository.ts';
import { queueFor } from '../repositories.ts';
import type { TransitionContext } from './context.ts';

/**
 * The one status an admin's retry starts from (the guard in `retry` below).
 * The failed-tasks list marks its rows and counts them with it, so the
 * console offers exactly the retries that work.
 */
export const RETRYABLE_STATUS = 'failed' as const satisfies ImageStatus;

/**
 * Whether an admin's retry takes an image in `status`: the `retryable` of the
 * API's image views and failed-task rows, which the console offers Retry by
 * (never by a rule of its own), and the guard of `retry` below.
 */
export function isRetryable(status: string | undefined): boolean {
  return status === RETRYABLE_STATUS;
}

/**
 * Why image `id` in `status` (its open failed_tasks row from `source`, if any)
 * is not retried: a failed regeneration leaves the image processed with its
 * old variants serving, and only another regeneration run resolves it
 * (docs/operations.md, "Presets and regeneration").
 */
function notRetriedBecause(id: string, status: ImageStatus, source?: string): string {
  return source === 'regenerate'
    ? `image ${id} is ${status} and keeps serving its old variants: its failure is a regeneration's, which a retry cannot redo; start another regeneration run`
    : `image ${id} is ${status}; only failed images are retried`;
}

/** The retry transitions over `ctx`. */
export function createRetryTransitions(ctx: TransitionContext) {
  const { db, repos, iso, load, enqueue } = ctx;

  const retry = db.transaction((id: string): ImageRow => {
    const row = load(id);
    if (!isRetryable(row.status)) {
      const open = repos.failedTasks.get(id);
      const source = open && open.resolved_at === null ? open.source : undefined;
      throw new AppError('CONFLICT', notRetriedBecause(id, row.status, source), {
        context: { imageId: id, status: row.status, ...(source ? { failureSource: source } : {}) },
      });
    }
    // Within this transaction the image is failed at `row.generation`, so the requeue holds.
    const generation = repos.images.requeue(id, row.generation, iso());
    if (generation === undefined) {
      throw new AppError('CONFLICT', `image ${id} moved on while it was retried`, {
        context: { imageId: id },
      });
    }
    repos.failedTasks.resolve(id, iso());
    enqueue(id, generation, queueFor(row));
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
