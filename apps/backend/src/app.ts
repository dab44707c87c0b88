/**
 * `createApp(deps)`: the backend's Hono application, pure (no I/O at import or
 * construction beyond preparing SQL statements). main.ts builds the deps;
 * tests and the harness pass their own. Routes live in src/routes/*.ts, one
 * module per area, so web pages (src/web/) can be mounted later.
 */
import { coerceError } from '@slideshow/runtime';
import { Hono } from 'hono';
import { requireAdmin } from './auth/admin-auth.ts';
import { createLoginDevices } from './auth/login-device.ts';
import { createRateLimiter } from './auth/rate-limit.ts';
import type { AppDeps, AppEnv, Services } from './context.ts';
import { createLibraryRepository } from './db/library-repository.ts';
import { errorBody, statusFor, toAppError } from './http-errors.ts';
import { randomToken } from './ids.ts';
import { deleteImage } from './library/delete-image.ts';
import { createUploadTracker } from './library/upload-tracker.ts';
import { createLifecycle, createRepositories } from './lifecycle.ts';
import {
  type BodyLimitName,
  DEFAULT_IDLE_TIMEOUT_MS,
  limitBody as limitBodyWithin,
} from './request-body.ts';
import { adminImageRoutes, imageDetailRoutes } from './routes/admin-images.ts';
import { adminSessionRoutes } from './routes/admin-session.ts';
import { libraryRoutes } from './routes/library.ts';
import { opsRoutes } from './routes/ops.ts';
import { processingRoutes } from './routes/processing.ts';
import { mediaRoutes, slideshowRoutes } from './routes/public.ts';
import { queueRoutes } from './routes/queues.ts';
import { adminUploadSessionRoutes, uploadSessionRoutes } from './routes/upload-sessions.ts';
import { uploadRoutes, uploadTracking } from './routes/uploads.ts';
import { createWebRoutes } from './web/web-routes.ts';

export { hashPassword } from './auth/password.ts';
export type { AppDeps } from './context.ts';
export { openDatabase } from './db/open-database.ts';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Builds the services object once for a set of deps. */
export function createServices(deps: AppDeps): Services {
  const now = deps.now ?? Date.now;
  const repos = createRepositories(deps.db);
  const lifecycle = createLifecycle({
    db: deps.db,
    repos,
    now,
    ...(deps.onEnqueued ? { onEnqueued: deps.onEnqueued } : {}),
  });
  const loginLimiter = createRateLimiter({ now });
  const loginDevices = createLoginDevices(deps.adminPasswordHash, deps.mode === 'production');
  const trustedProxyHops = deps.trustedProxyHops ?? (deps.mode === 'production' ? 1 : 0);
  const idleMs = deps.uploadIdleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
  const limitBody = (name: BodyLimitName) => limitBodyWithin(name, idleMs);
  const services: Services = {
    deps,
    repos,
    lifecycle,
    loginLimiter,
    loginDevices,
    trustedProxyHops,
    limitBody,
    library: createLibraryRepository(deps.db),
    uploads: createUploadTracker({ remove: (ids) => services.removeImages(ids), now }),
    removeImages: async (ids) => {
      for (const id of ids) {
        if (repos.images.get(id)) await deleteImage(services, id);
      }
    },
    now,
  };
  return services;
}

/** Creates the backend application. */
export function createApp(deps: AppDeps) {
  const services = createServices(deps);
  const app = new Hono<AppEnv>();

  app.use('*', async (c, next) => {
    const incoming = c.req.header('x-request-id');
    const requestId = incoming && REQUEST_ID.test(incoming) ? incoming : randomToken(12);
    const logger = deps.logger.child({ requestId });
    c.set('requestId', requestId);
    c.set('logger', logger);
    c.header('X-Request-Id', requestId);
    const started = performance.now();
    await next();
    logger.info('request', {
      method: c.req.method,
      path: new URL(c.req.url).pathname,
      status: c.res.status,
      ms: Math.round(performance.now() - started),
    });
  });

  // Single writer: no request may change state unless this instance holds the
  // database lease (writer/gate.ts); the database itself is fenced too (db/write-fence.ts).
  const fence = deps.writeFence;
  if (fence) {
    app.use('*', async (c, next) => {
      if (SAFE_METHODS.has(c.req.method)) return next();
      try {
        await fence.admit(() => next());
      } catch (error) {
        c.header('Retry-After', '2');
        throw error;
      }
    });
  }

  app.onError((error, c) => {
    const appError = toAppError(error);
    const status = statusFor(appError.code);
    const logger = c.get('logger') ?? deps.logger;
    if (status >= 500) logger.error('request failed', { error: appError, code: appError.code });
    else logger.info('request refused', { code: appError.code, reason: appError.message });
    c.header('X-Request-Id', c.get('requestId'));
    return c.json(errorBody(appError, c.get('requestId') ?? 'unknown'), status);
  });

  app.notFound((c) =>
    c.json(
      errorBody(
        coerceError(new Error('no such route'), 'NOT_FOUND'),
        c.get('requestId') ?? 'unknown',
      ),
      404,
    ),
  );

  const admin = requireAdmin(services);
  app.route('/', opsRoutes(services));
  app.route('/api/admin', adminSessionRoutes(services));
  app.use('/api/admin/*', async (c, next) => {
    const path = new URL(c.req.url).pathname;
    if (
      path === '/api/admin/login' ||
      path === '/api/admin/logout' ||
      path === '/api/admin/session'
    ) {
      return next();
    }
    return admin(c, next);
  });
  // A cancel (DELETE /api/admin/uploads/:uploadId) undoes what either way of uploading created:
  // a streamed upload, or the `complete` of a resumable session.
  app.use('/api/admin/upload', uploadTracking(services));
  app.use('/api/admin/upload-sessions/:id/complete', uploadTracking(services));
  app.route('/api/admin', libraryRoutes(services));
  app.route('/api/admin', queueRoutes(services));
  app.route('/api/admin', uploadRoutes(services));
  app.route('/api/admin', adminImageRoutes(services));
  app.route('/api/admin', adminUploadSessionRoutes(services));
  app.use('/api/images/*', admin);
  app.route('/api/images', imageDetailRoutes(services));
  app.route('/api/processing', processingRoutes(services));
  app.route('/api/upload-sessions', uploadSessionRoutes(services));
  app.route('/api/slideshow', slideshowRoutes(services));
  if (deps.mode === 'local') app.route('/media', mediaRoutes(services));
  app.route(
    '/',
    createWebRoutes({
      imageOrigins: deps.imageOrigins ?? [],
      connectOrigins: deps.uploadOrigins ?? [],
    }),
  );
  return app;
}

/** The application type. */
export type App = ReturnType<typeof createApp>;
