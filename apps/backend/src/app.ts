/**
 * `createApp(services)`: the backend's Hono application over services built
 * once by `createBackend` (backend.ts). Pure: no I/O at import or
 * construction. Routes live in src/routes/*.ts, one module per area; every
 * route that needs an admin is inside one of the protected areas
 * (routes/protected-areas.ts), which carry their auth middleware themselves.
 */
import { AppError, type Logger } from '@slideshow/runtime';
import { Hono, type MiddlewareHandler, type NotFoundHandler } from 'hono';
import { hostCheckFor, requireLocalHost } from './auth/host-guard.ts';
import { compression } from './compression.ts';
import type { AppEnv, Services } from './context.ts';
import { HSTS, sendsHsts } from './hsts.ts';
import {
  errorBody,
  logFailure,
  requestIdFor,
  retryAfterFor,
  statusFor,
  toAppError,
} from './http-errors.ts';
import { requestImageId } from './request-image.ts';
import { adminSessionRoutes } from './routes/admin-session.ts';
import { opsRoutes } from './routes/ops.ts';
import { processingRoutes } from './routes/processing.ts';
import { adminArea, imagesArea } from './routes/protected-areas.ts';
import { mediaRoutes, slideshowRoutes } from './routes/public.ts';
import { loggedPath, uploadSessionRoutes } from './routes/upload-sessions.ts';
import { createWebRoutes } from './web/web-routes.ts';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * The request id (an incoming safe `X-Request-Id`, else a new one), the request's child
 * logger (with the `imageId` of an image's route: request-image.ts), the headers every
 * answer carries, and the access log line.
 */
function requestContext(root: Logger, hsts: boolean): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const requestId = requestIdFor(c.req.header('x-request-id'));
    const imageId = requestImageId(c);
    const logger = root.child(imageId === undefined ? { requestId } : { requestId, imageId });
    c.set('requestId', requestId);
    c.set('logger', logger);
    c.header('X-Request-Id', requestId);
    // Every answer is what its Content-Type says (JSON, a page, an image): never sniffed.
    c.header('X-Content-Type-Options', 'nosniff');
    if (hsts) c.header('Strict-Transport-Security', HSTS);
    const started = performance.now();
    await next();
    logger.info('request', {
      method: c.req.method,
      path: loggedPath(new URL(c.req.url).pathname),
      status: c.res.status,
      ms: Math.round(performance.now() - started),
    });
  };
}

/**
 * Admin answers (the library, failed tasks, an image's detail, the session and the login's
 * csrfToken) are one admin's: no browser or proxy cache keeps them (RFC 9111 §5.2.2.5),
 * refusals included. The public slideshow keeps its own `public, no-cache` and ETag. A route's
 * `no-transform` stays (an answer whose strong ETag an `If-Match` names again:
 * library/description-revision.ts).
 */
const noStore: MiddlewareHandler<AppEnv> = async (c, next) => {
  await next();
  const keep = /(?:^|,)\s*no-transform\s*(?:,|$)/i.test(c.res.headers.get('Cache-Control') ?? '');
  c.header('Cache-Control', keep ? 'no-store, no-transform' : 'no-store');
};

/** The methods a route may take, in the order `Allow` lists them. */
const ROUTE_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

/**
 * The methods the routes of `app` take at `path`, HEAD wherever GET is (Hono answers HEAD
 * with the GET route). Middleware registered with `use` (method ALL) is not a route.
 */
export function allowedMethods(app: Hono<AppEnv>, path: string): string[] {
  const routed = (method: string) =>
    app.router.match(method, path)[0].some((found) => found[0][1].method !== 'ALL');
  return ROUTE_METHODS.filter((method) =>
    method === 'HEAD' ? routed('GET') || routed('HEAD') : routed(method),
  );
}

/**
 * The answer when no route took the request: 405 METHOD_NOT_ALLOWED with `Allow` when routes
 * take the path with other methods (RFC 9110 §15.5.6), else 404. It runs after the
 * middleware the path matched, so an admin path still asks for an admin first (401) and tells
 * a caller without credentials no more than before. A route that answered "not found" itself
 * (an unknown asset) took the method, and stays a 404. No CORS: OPTIONS is no route either.
 */
function noRoute(app: Hono<AppEnv>): NotFoundHandler<AppEnv> {
  return (c) => {
    const requestId = c.get('requestId') ?? 'unknown';
    const allowed = allowedMethods(app, c.req.path);
    const method = c.req.method === 'HEAD' ? 'GET' : c.req.method;
    if (allowed.length > 0 && !allowed.includes(method)) {
      c.header('Allow', allowed.join(', '));
      const refusal = new AppError(
        'METHOD_NOT_ALLOWED',
        `${c.req.method} is not allowed on ${c.req.path}; it takes ${allowed.join(', ')}`,
      );
      return c.json(errorBody(refusal, requestId), statusFor(refusal.code));
    }
    return c.json(errorBody(new AppError('NOT_FOUND', 'no such route'), requestId), 404);
  };
}

/** Creates the backend application. */
export function createApp(services: Services) {
  const { deps } = services;
  const app = new Hono<AppEnv>();
  const hsts = sendsHsts(deps.mode, deps.publicUrl);

  app.use('*', requestContext(deps.logger, hsts));

  // Local mode: DNS rebinding (auth/host-guard.ts). Before every route, so none can answer first.
  const hostCheck = hostCheckFor(deps.mode, deps.publicUrl);
  if (hostCheck) app.use('*', requireLocalHost(hostCheck));
  // Text answers (JSON, the pages and their assets) compressed for clients that accept it.
  app.use('*', compression());
  for (const area of ['/api/admin/*', '/api/images/*']) app.use(area, noStore);

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
    if (status >= 500 || appError.code === 'CLIENT_CLOSED_REQUEST') {
      logFailure(logger, 'request failed', appError);
    } else {
      logger.info('request refused', { code: appError.code, reason: appError.message });
    }
    const retryAfter = retryAfterFor(appError);
    if (retryAfter !== undefined) c.header('Retry-After', String(retryAfter));
    c.header('X-Request-Id', c.get('requestId'));
    c.header('X-Content-Type-Options', 'nosniff');
    if (hsts) c.header('Strict-Transport-Security', HSTS);
    return c.json(errorBody(appError, c.get('requestId') ?? 'unknown'), status);
  });

  app.notFound(noRoute(app));

  app.route('/', opsRoutes(services));
  // Public: login, logout, session. Mounted before the admin area, whose auth middleware
  // matches every path under /api/admin: a session route mounted after it would answer 401
  // (it fails closed, and test/route-auth.test.ts would say so).
  app.route('/api/admin', adminSessionRoutes(services));
  app.route('/api/admin', adminArea(services));
  app.route('/api/images', imagesArea(services));
  // Callbacks are authorised by their own verifier (routes/processing.ts), the local
  // upload-session route by its unguessable token (routes/upload-sessions.ts).
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
