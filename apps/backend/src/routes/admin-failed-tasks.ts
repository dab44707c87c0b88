/**
 * The failed-task list of the admin console's Jobs page and its bulk retry,
 * under /api/admin in the protected areas (protected-areas.ts). A row is
 * `retryable` when its image is `failed` (transitions/retries.ts
 * `RETRYABLE_STATUS`): a failed regeneration's row is not, as its image is
 * processed and keeps serving its old variants (docs/operations.md, "Presets
 * and regeneration"). `retryableCount` and the bulk retry use that same rule.
 */
import {
  type BulkRetryAnswer,
  type FailedTaskEntry,
  type FailedTasksAnswer,
  MAX_FAILED_TASKS_PER_REQUEST,
  permanenceOf,
} from '@slideshow/contracts';
import { Hono } from 'hono';
import * as z from 'zod';
import type { AppEnv, Services } from '../context.ts';
import { failedTaskView, thumbnail } from '../image-view.ts';
import { jsonBody } from '../request-body.ts';
import { isRetryable, RETRYABLE_STATUS } from '../transitions/retries.ts';

/** Most failed tasks one bulk retry takes, and most rows one listing gives (the contract's). */
const MAX_BULK_RETRY = MAX_FAILED_TASKS_PER_REQUEST;

const FailedTasksQuery = z.object({
  since: z.iso.datetime({ offset: true }).optional(),
  code: z.string().max(64).optional(),
  unresolved: z.enum(['true', 'false']).optional(),
  // The Jobs page shows the newest 500; scripts/requeue-failed asks for up to the bulk
  // retry's own cap, so one run sees what a bulk retry would.
  limit: z.coerce.number().int().min(1).max(MAX_BULK_RETRY).default(500),
});

// Strict: an unknown field is refused (400 naming it), never ignored. A misspelt filter
// (`errorCode`, the listing's name for `code`) would otherwise retry every failed image.
const BulkRetryBody = z
  .object({
    since: z.iso.datetime({ offset: true }).optional(),
    code: z.string().max(64).optional(),
  })
  .strict();
/** Retries per transaction in a bulk retry; the event loop runs between batches. */
const RETRY_BATCH = 100;

/** The repository filter of a `since`/`code` query or body (the same two fields in both). */
function filterOf(q: { since?: string | undefined; code?: string | undefined }) {
  return {
    ...(q.since ? { since: new Date(q.since).toISOString() } : {}),
    ...(q.code ? { code: q.code } : {}),
  };
}

/** `GET /failed-tasks` and `POST /failed-tasks/retry`. */
export function failedTaskRoutes(services: Services) {
  const app = new Hono<AppEnv>();
  const { deps, repos, lifecycle } = services;

  app.get('/failed-tasks', (c) => {
    const q = FailedTasksQuery.parse(c.req.query());
    const filter = filterOf(q);
    const rows = repos.failedTasks.list({
      ...filter,
      unresolved: q.unresolved === 'true',
      limit: q.limit,
    });
    // Each row names its image (file name, title, status, thumbnail) for the failed-tasks table.
    const images = new Map(
      services.library.byIds(rows.map((r) => r.image_id)).map((i) => [i.id, i]),
    );
    const answer: FailedTasksAnswer = {
      failedTasks: rows.map((r): FailedTaskEntry => {
        const image = images.get(r.image_id);
        return {
          ...failedTaskView(r),
          // What `POST /images/:id/retry` would take: a failed regeneration's row is not
          // (its image is processed and keeps serving its old variants).
          retryable: isRetryable(image?.status),
          // Whether that retry fails the same way until something else changes (a refused
          // image's bytes, an original gone from the store): the one rule requeue-failed skips by.
          permanent: permanenceOf(r.error_code) ?? null,
          image: image
            ? {
                originalName: image.original_name,
                title: image.title,
                status: image.status,
                format: image.format,
                placeholder: image.placeholder,
                thumb: thumbnail(image, deps.publicMediaBaseUrl),
              }
            : null,
        };
      }),
      // How many images `POST /failed-tasks/retry` with the same since/code would retry now:
      // the open rows it takes (up to its limit), those whose image is failed.
      limit: q.limit,
      retryableCount: repos.failedTasks.countWithImageStatus(
        { ...filter, unresolved: true, limit: MAX_BULK_RETRY },
        RETRYABLE_STATUS,
      ),
    };
    return c.json(answer);
  });

  app.post('/failed-tasks/retry', services.limitBody('adminSmall'), async (c) => {
    const body = BulkRetryBody.parse(jsonBody(c, { emptyAs: {} }));
    // Only rows whose image a retry takes: a failed regeneration's row (its image processed,
    // serving its old variants) is left for another run, not reported as skipped.
    const ids = repos.failedTasks.imagesWithStatus(
      { ...filterOf(body), unresolved: true, limit: MAX_BULK_RETRY },
      RETRYABLE_STATUS,
    );
    const { retried, skipped }: BulkRetryAnswer = { retried: [], skipped: [] };
    // One transaction per batch, and the event loop free between batches: 5,000 retries in
    // one stretch held every other request (and the relay) for seconds.
    for (let start = 0; start < ids.length; start += RETRY_BATCH) {
      if (start > 0) await new Promise((resolve) => setImmediate(resolve));
      const batch = ids.slice(start, start + RETRY_BATCH);
      const outcome = lifecycle.retryMany(batch);
      retried.push(...outcome.retried);
      for (const s of outcome.skipped) {
        skipped.push({ id: s.id, code: s.error.code, message: s.error.message });
      }
    }
    c.get('logger').info('bulk retry', { retried: retried.length, skipped: skipped.length });
    return c.json({ retried, skipped } satisfies BulkRetryAnswer, 202);
  });

  return app;
}
