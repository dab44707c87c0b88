/**
 * Cancelling uploads (see library/upload-tracker.ts): a middleware on
 * `POST /api/admin/upload` and on an upload session's
 * `POST /api/admin/upload-sessions/:id/complete` (both answer
 * `202 {images:[…]}`) that follows requests carrying `X-Upload-Id`, and
 * `DELETE /api/admin/uploads/:uploadId`. All in the protected area
 * (protected-areas.ts).
 */
import type { UploadCancelAnswer } from '@slideshow/contracts';
import { AppError } from '@slideshow/runtime';
import { Hono, type MiddlewareHandler } from 'hono';
import type { AppEnv, Services } from '../context.ts';
import { UPLOAD_ID_PATTERN } from '../library/upload-tracker.ts';

function uploadId(raw: string): string {
  if (!UPLOAD_ID_PATTERN.test(raw)) {
    throw new AppError('VALIDATION_FAILED', 'an upload id is 16-64 characters of [A-Za-z0-9_-]');
  }
  return raw;
}

/** The ids of images an upload answer says were created (duplicates are not). */
async function createdBy(response: Response): Promise<string[]> {
  if (response.status !== 202) return [];
  const body = (await response.clone().json()) as {
    images?: { id?: unknown; duplicate?: unknown }[];
  };
  return (body.images ?? []).flatMap((i) =>
    typeof i.id === 'string' && i.duplicate === false ? [i.id] : [],
  );
}

/**
 * Follows an upload named by `X-Upload-Id` so that a cancel can undo it. `repeatable`: a request
 * with an id already used is a repeat of it, answered as the first was (an upload session's
 * `complete`: upload/upload-sessions.ts), not a 409; a streamed upload's repeat stays refused
 * (its body may have been cut anywhere).
 */
export function uploadTracking(
  services: Services,
  { repeatable = false } = {},
): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const header = c.req.header('x-upload-id');
    if (c.req.method !== 'POST' || header === undefined) return next();
    const id = uploadId(header);
    const ticket = repeatable ? await services.uploads.repeat(id) : services.uploads.begin(id);
    let removed: string[] = [];
    try {
      await next();
      const created = await createdBy(c.res);
      if (ticket.finish(created)) {
        await services.removeImages(created);
        removed = created;
        c.get('logger').info('cancelled upload rolled back', { uploadId: id, removed });
        throw new AppError('CONFLICT', 'this upload was cancelled; nothing it sent was kept', {
          context: { uploadId: id },
        });
      }
    } finally {
      ticket.release(removed);
    }
  };
}

/** `DELETE /uploads/:uploadId` under /api/admin. */
export function uploadRoutes(services: Services) {
  const app = new Hono<AppEnv>();
  app.delete('/uploads/:uploadId', services.limitBody('adminSmall'), async (c) => {
    const id = uploadId(c.req.param('uploadId'));
    const removed = await services.uploads.cancel(id);
    c.get('logger').info('upload cancelled', { uploadId: id, removed });
    return c.json({ cancelled: true, uploadId: id, removed } satisfies UploadCancelAnswer);
  });
  return app;
}
