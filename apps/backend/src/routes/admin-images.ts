/**
 * Admin image routes: upload, ingest, detail, delete, retry. Mounted under
 * /api/admin (detail at /api/images/:id) in the protected areas
 * (protected-areas.ts). The listing is in library.ts, the failed-task list
 * and its bulk retry in admin-failed-tasks.ts.
 */
import type {
  ImageDeleteAnswer,
  ImageDetailAnswer,
  ImageRetryAnswer,
  IngestAnswer,
  UploadAnswer,
  UploadOutcome,
} from '@slideshow/contracts';
import { AppError, coerceError } from '@slideshow/runtime';
import { Hono } from 'hono';
import * as z from 'zod';
import type { AppEnv, Services } from '../context.ts';
import { IMAGE_ID_PATTERN } from '../ids.ts';
import { adminView, failedTaskView } from '../image-view.ts';
import { deleteImage } from '../library/delete-image.ts';
import { sendRevision } from '../library/description-revision.ts';
import { dispatchKeyOf } from '../reaper.ts';
import { jsonBody } from '../request-body.ts';
import { ingest } from '../upload/ingest.ts';
import { type FileOutcome, receiveUpload } from '../upload/receive-upload.ts';
import { uploadTracking } from './uploads.ts';

// Strict: an unknown field is refused (400 naming it), never ignored — a `dryRun` (the
// regenerate route's flag) would otherwise ingest for real.
const IngestBody = z
  .object({
    keys: z.array(z.string().min(1).max(1024)).max(1000).optional(),
    prefix: z.string().max(1024).optional(),
  })
  .strict()
  .refine((b) => b.keys !== undefined || b.prefix !== undefined, 'give keys or prefix');

function checkId(id: string): string {
  if (!IMAGE_ID_PATTERN.test(id)) throw new AppError('NOT_FOUND', 'no such image');
  return id;
}

/** One file's outcome as the upload and ingest answers show it. */
export function outcomeView(o: FileOutcome): UploadOutcome {
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
function answerOutcomes(outcomes: FileOutcome[]): UploadOutcome[] {
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
  const { deps, lifecycle } = services;
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
    return c.json({ images: answerOutcomes(outcomes) } satisfies UploadAnswer, 202);
  });

  app.post('/ingest', services.limitBody('ingest'), async (c) => {
    const body = IngestBody.parse(jsonBody(c));
    const { outcomes, truncated } = await ingest(body, receiveContext(c.get('logger')));
    return c.json({ images: outcomes.map(outcomeView), truncated } satisfies IngestAnswer, 202);
  });

  app.delete('/images/:id', services.limitBody('adminSmall'), async (c) => {
    const id = checkId(c.req.param('id'));
    const { variantsRemoved, sourceDeleted } = await deleteImage(services, id);
    c.get('logger').info('image deleted', { imageId: id, variantsRemoved, sourceDeleted });
    return c.json({
      deleted: true,
      id,
      variantsRemoved,
      sourceDeleted,
    } satisfies ImageDeleteAnswer);
  });

  app.post('/images/:id/retry', services.limitBody('adminSmall'), (c) => {
    const id = checkId(c.req.param('id'));
    const row = lifecycle.retry(id);
    c.get('logger').info('image retried', { imageId: id, generation: row.generation });
    const answer: ImageRetryAnswer = { image: adminView(row, deps.publicMediaBaseUrl) };
    return c.json(answer, 202);
  });

  return app;
}

/**
 * `GET /api/images/:id`: the admin detail with failed task and execution state, and the
 * description's revision as its `ETag`, which a `PATCH` of the description names in `If-Match`.
 */
export function imageDetailRoutes(services: Services) {
  const app = new Hono<AppEnv>();
  app.get('/:id', async (c) => {
    const id = checkId(c.req.param('id'));
    const row = services.repos.images.get(id);
    if (!row) throw new AppError('NOT_FOUND', `no image ${id}`);
    let executionState: ImageDetailAnswer['executionState'] = null;
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
    const failedTask = services.repos.failedTasks.get(id);
    const answer: ImageDetailAnswer = {
      ...adminView(row, services.deps.publicMediaBaseUrl),
      failedTask: failedTask ? failedTaskView(failedTask) : null,
      executionState,
    };
    sendRevision(c, answer.revision);
    return c.json(answer);
  });
  return app;
}
