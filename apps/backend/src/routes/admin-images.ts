/**
 * Admin image routes: upload, ingest, detail, delete, retry, and the
 * failed-task list with bulk retry. Mounted under /api/admin (detail at
 * /api/images/:id) in the protected areas (protected-areas.ts). The listing is
 * in library.ts.
 */
import { AppError, coerceError } from '@slideshow/runtime';
import { Hono } from 'hono';
import * as z from 'zod';
import type { AppEnv, Services } from '../context.ts';
import { IMAGE_ID_PATTERN } from '../ids.ts';
import { adminView, failedTaskView, thumbnail } from '../image-view.ts';
import { deleteImage } from '../library/delete-image.ts';
import { dispatchKeyOf } from '../reaper.ts';
import { jsonBody } from '../request-body.ts';
import { RETRYABLE_STATUS } from '../transitions/retries.ts';
import { ingest } from '../upload/ingest.ts';
import { type FileOutcome, receiveUpload } from '../upload/receive-upload.ts';
import { uploadTracking } from './uploads.ts';

const IngestBody = z
  .object({
    keys: z.array(z.string().min(1).max(1024)).max(1000).optional(),
    prefix: z.string().max(1024).optional(),
  })
  .refine((b) => b.keys !== undefined || b.prefix !== undefined, 'give keys or prefix');

const FailedTasksQuery = z.object({
  since: z.iso.datetime({ offset: true }).optional(),
  code: z.string().max(64).optional(),
  unresolved: z.enum(['true', 'false']).optional(),
});

const BulkRetryBody = z.object({
  since: z.iso.datetime({ offset: true }).optional(),
  code: z.string().max(64).optional(),
});

/** Most failed tasks one bulk retry takes (newest first). */
const MAX_BULK_RETRY = 10_000;
/** Retries per transaction in a bulk retry; the event loop runs between batches. */
const RETRY_BATCH = 100;

function checkId(id: string): string {
  if (!IMAGE_ID_PATTERN.test(id)) throw new AppError('NOT_FOUND', 'no such image');
  return id;
}

/** One file's outcome as the upload and ingest answers show it. */
export function outcomeView(o: FileOutcome) {
  if ('error' in o) {
    return {
      originalName: o.originalName,
      error: { code: o.error.code, message: o.error.message },
    };
  }
  return { id: o.id, status: o.status, duplicate: o.duplicate, originalName: o.originalName };
}

/**
 * Upload answer: one file refused → that file's coded error and status; several files → 202
 * with per-file results (refused ones carry `error`) when at least one was accepted, else the
 * first refusal's error.
 */
function answerOutcomes(outcomes: FileOutcome[]) {
  const accepted = outcomes.filter((o) => !('error' in o));
  if (accepted.length === 0) {
    const first = outcomes[0];
    if (first && 'error' in first) {
      throw outcomes.length === 1
        ? first.error
        : new AppError(first.error.code, `${first.originalName}: ${first.error.message}`, {
            cause: first.error,
          });
    }
  }
  return outcomes.map(outcomeView);
}

/** Routes under /api/admin. */
export function adminImageRoutes(services: Services) {
  const app = new Hono<AppEnv>();
  const { deps, repos, lifecycle } = services;
  const receiveContext = (logger: AppEnv['Variables']['logger']) => ({
    store: deps.store,
    lifecycle,
    logger,
    maxBytes: deps.maxUploadBytes,
    preset: services.presets.current,
    now: services.now,
    ...(deps.uploadIdleTimeoutMs ? { idleTimeoutMs: deps.uploadIdleTimeoutMs } : {}),
  });

  // X-Upload-Id makes an upload cancellable (DELETE /api/admin/uploads/:uploadId, uploads.ts).
  app.post('/upload', uploadTracking(services), async (c) => {
    const outcomes = await receiveUpload(c.req.raw, receiveContext(c.get('logger')));
    return c.json({ images: answerOutcomes(outcomes) }, 202);
  });

  app.post('/ingest', services.limitBody('ingest'), async (c) => {
    const body = IngestBody.parse(jsonBody(c));
    const { outcomes, truncated } = await ingest(body, receiveContext(c.get('logger')));
    return c.json({ images: outcomes.map(outcomeView), truncated }, 202);
  });

  app.delete('/images/:id', services.limitBody('adminSmall'), async (c) => {
    const id = checkId(c.req.param('id'));
    const { variantsRemoved, sourceDeleted } = await deleteImage(services, id);
    c.get('logger').info('image deleted', { imageId: id, variantsRemoved, sourceDeleted });
    return c.json({ deleted: true, id, variantsRemoved, sourceDeleted });
  });

  app.post('/images/:id/retry', services.limitBody('adminSmall'), (c) => {
    const id = checkId(c.req.param('id'));
    const row = lifecycle.retry(id);
    c.get('logger').info('image retried', { imageId: id, generation: row.generation });
    return c.json({ image: adminView(row, deps.publicMediaBaseUrl) }, 202);
  });

  app.get('/failed-tasks', (c) => {
    const q = FailedTasksQuery.parse(c.req.query());
    const filter = {
      ...(q.since ? { since: new Date(q.since).toISOString() } : {}),
      ...(q.code ? { code: q.code } : {}),
    };
    const rows = repos.failedTasks.list({ ...filter, unresolved: q.unresolved === 'true' });
    // Each row names its image (file name, title, status, thumbnail) for the failed-tasks table.
    const images = new Map(
      services.library.byIds(rows.map((r) => r.image_id)).map((i) => [i.id, i]),
    );
    return c.json({
      failedTasks: rows.map((r) => {
        const image = images.get(r.image_id);
        return {
          ...failedTaskView(r),
          // What `POST /images/:id/retry` would take: a failed regeneration's row is not
          // (its image is processed and keeps serving its old variants).
          retryable: image?.status === RETRYABLE_STATUS,
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
      retryableCount: repos.failedTasks.countWithImageStatus(
        { ...filter, unresolved: true, limit: MAX_BULK_RETRY },
        RETRYABLE_STATUS,
      ),
    });
  });

  app.post('/failed-tasks/retry', services.limitBody('adminSmall'), async (c) => {
    const filter = BulkRetryBody.parse(jsonBody(c, { emptyAs: {} }));
    // Only rows whose image a retry takes: a failed regeneration's row (its image processed,
    // serving its old variants) is left for another run, not reported as skipped.
    const ids = repos.failedTasks.imagesWithStatus(
      {
        ...(filter.since ? { since: new Date(filter.since).toISOString() } : {}),
        ...(filter.code ? { code: filter.code } : {}),
        unresolved: true,
        limit: MAX_BULK_RETRY,
      },
      RETRYABLE_STATUS,
    );
    const retried: string[] = [];
    const skipped: { id: string; code: string; message: string }[] = [];
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
    return c.json({ retried, skipped }, 202);
  });

  return app;
}

/** `GET /api/images/:id`: the admin detail with failed task and execution state. */
export function imageDetailRoutes(services: Services) {
  const app = new Hono<AppEnv>();
  app.get('/:id', async (c) => {
    const id = checkId(c.req.param('id'));
    const row = services.repos.images.get(id);
    if (!row) throw new AppError('NOT_FOUND', `no image ${id}`);
    let executionState = null;
    if (services.deps.dispatcher.executionState && row.status !== 'uploaded') {
      try {
        executionState =
          (await services.deps.dispatcher.executionState(dispatchKeyOf(row))) ?? null;
      } catch (error) {
        // The detail stays useful when the Executions API is unreachable.
        c.get('logger').warn('execution state unavailable', {
          imageId: id,
          error: coerceError(error),
        });
      }
    }
    return c.json(
      adminView(row, services.deps.publicMediaBaseUrl, {
        failedTask: services.repos.failedTasks.get(id) ?? null,
        executionState,
      }),
    );
  });
  return app;
}
