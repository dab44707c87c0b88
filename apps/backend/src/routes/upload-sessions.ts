/**
 * Resumable uploads (src/upload/upload-sessions.ts): the admin routes that
 * open, inspect, complete and cancel a session (under /api/admin, in the
 * protected area like every admin route: protected-areas.ts), and — when the store is a folder —
 * the session route itself, `PUT /api/upload-sessions/:token`, which speaks
 * Cloud Storage's resumable protocol so the local stack uploads as production
 * does. That route needs no admin credentials: its 256-bit token is the
 * capability, exactly as a Cloud Storage session URI is; it writes only the
 * one object the session was opened for, never more bytes than declared, and
 * the object becomes an image only through the admin's `complete`.
 */
import type {
  UploadAnswer,
  UploadSessionAnswer,
  UploadSessionCancelAnswer,
  UploadSessionStatusAnswer,
} from '@slideshow/contracts';
import { AppError } from '@slideshow/runtime';
import { persistedRange } from '@slideshow/storage';
import { Hono } from 'hono';
import * as z from 'zod';
import type { AppEnv, Services } from '../context.ts';
import { IMAGE_ID_PATTERN } from '../ids.ts';
import { BODY_LIMITS, jsonBody } from '../request-body.ts';
import {
  cancelUploadSession,
  completeUploadSession,
  openUploadSession,
  UPLOAD_SESSION_DEFAULTS,
  type UploadSessionContext,
  uploadSessionStatus,
} from '../upload/upload-sessions.ts';
import { outcomeView } from './admin-images.ts';
import { uploadTracking } from './uploads.ts';

/** The path the local session route is served under (the fs store's `uploadSessionPath`). */
export const UPLOAD_SESSION_PATH = '/api/upload-sessions/';

/**
 * `path` as the access log shows it: a session path's token is its only credential (whoever
 * reads it may write into the admin's open session), so it is left out.
 */
export function loggedPath(path: string): string {
  return path.startsWith(UPLOAD_SESSION_PATH) ? `${UPLOAD_SESSION_PATH}[token]` : path;
}

// Strict, as every admin body: an unknown field is a 400 naming it, never ignored.
const OpenBody = z
  .object({
    name: z.string().max(1024),
    size: z.number().int().nonnegative(),
  })
  .strict();

function checkId(id: string): string {
  if (!IMAGE_ID_PATTERN.test(id)) throw new AppError('NOT_FOUND', 'no such upload');
  return id;
}

function contextOf(
  services: Services,
  logger: AppEnv['Variables']['logger'],
): UploadSessionContext {
  return {
    db: services.deps.db,
    repos: services.repos,
    lifecycle: services.lifecycle,
    store: services.deps.store,
    logger,
    maxBytes: services.deps.maxUploadBytes,
    ttlMs: services.deps.uploadSessionTtlMs ?? UPLOAD_SESSION_DEFAULTS.ttlMs,
    preset: services.presets.current,
    now: services.now,
  };
}

/** The origin the session's bytes will come from: the admin page's (checked same-origin for sessions), or the public URL's. */
function pageOrigin(services: Services, origin: string | undefined): string | undefined {
  if (origin && /^https?:\/\/[^/]+$/.test(origin)) return origin;
  return services.deps.publicUrl ? new URL(services.deps.publicUrl).origin : undefined;
}

/** Routes under /api/admin: `/upload-sessions…`. */
export function adminUploadSessionRoutes(services: Services) {
  const app = new Hono<AppEnv>();
  // Chunks to the backend's own route are bounded by its body limit; to Cloud Storage, not.
  const chunkBytes = services.deps.uploadReceiver
    ? BODY_LIMITS.uploadChunk
    : UPLOAD_SESSION_DEFAULTS.directChunkBytes;

  app.post('/upload-sessions', services.limitBody('adminSmall'), async (c) => {
    const body = OpenBody.parse(jsonBody(c));
    const opened: UploadSessionAnswer = await openUploadSession(
      {
        name: body.name,
        size: body.size,
        origin: pageOrigin(services, c.req.header('origin')),
        chunkBytes,
      },
      contextOf(services, c.get('logger')),
    );
    return c.json(opened, 201);
  });

  app.get('/upload-sessions/:id', async (c) => {
    const id = checkId(c.req.param('id'));
    const status: UploadSessionStatusAnswer = await uploadSessionStatus(
      id,
      contextOf(services, c.get('logger')),
    );
    return c.json(status);
  });

  // Cancellable like a streamed upload: X-Upload-Id (uploads.ts). Repeatable: a browser sends a
  // `complete` whose connection was reset again with the same id, and so does the page when the
  // answer was lost (resumable-upload.js); the repeat gets the first's image
  // (upload/upload-sessions.ts, `completedBefore`).
  const tracked = uploadTracking(services, { repeatable: true });
  app.post(
    '/upload-sessions/:id/complete',
    tracked,
    services.limitBody('adminSmall'),
    async (c) => {
      z.object({})
        .strict()
        .parse(jsonBody(c, { emptyAs: {} }));
      const id = checkId(c.req.param('id'));
      const outcome = await completeUploadSession(id, contextOf(services, c.get('logger')));
      // The same answer as POST /api/admin/upload for one file: a refusal is its coded error.
      if ('error' in outcome) throw outcome.error;
      return c.json({ images: [outcomeView(outcome)] } satisfies UploadAnswer, 202);
    },
  );

  app.delete('/upload-sessions/:id', services.limitBody('adminSmall'), async (c) => {
    const id = checkId(c.req.param('id'));
    const cancelled: UploadSessionCancelAnswer = await cancelUploadSession(
      id,
      contextOf(services, c.get('logger')),
    );
    return c.json(cancelled);
  });

  return app;
}

/** `PUT /api/upload-sessions/:token`: the local session route (only with a filesystem store). */
export function uploadSessionRoutes(services: Services) {
  const app = new Hono<AppEnv>();
  const receiver = services.deps.uploadReceiver;
  if (!receiver) return app;
  app.put('/:token', services.limitBody('uploadChunk'), async (c) => {
    const body = c.get('body') ?? Buffer.alloc(0);
    const answer = await receiver.receive(c.req.param('token'), {
      contentRange: c.req.header('content-range'),
      body: (async function* () {
        yield new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
      })(),
    });
    if (answer.status === 200) {
      return c.json({ name: answer.object.key, size: String(answer.object.bytes) }, 200);
    }
    const range = persistedRange(answer.received);
    if (range) c.header('Range', range);
    return c.body(null, 308);
  });
  return app;
}
