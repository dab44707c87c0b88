/**
 * The protected areas: every route that needs an admin — a bearer admin
 * token, or the session cookie with same-origin and `X-CSRF-Token` checks on
 * writes (auth/admin-auth.ts) — lives in one of the two sub-apps built here,
 * and `requireAdmin` is the first middleware *inside* each. So a route added
 * to any module mounted here is protected by construction, whatever order
 * createApp mounts things in; there is no list of exempt paths. The only
 * public routes under /api/admin are the session routes (admin-session.ts),
 * which createApp mounts beside the area, not in it.
 * test/route-auth.test.ts walks every registered route and proves it.
 */
import { Hono } from 'hono';
import { requireAdmin } from '../auth/admin-auth.ts';
import type { AppEnv, Services } from '../context.ts';
import { failedTaskRoutes } from './admin-failed-tasks.ts';
import { adminImageRoutes, imageDetailRoutes } from './admin-images.ts';
import { endSessionsRoutes } from './admin-session.ts';
import { libraryRoutes } from './library.ts';
import { queueRoutes } from './queues.ts';
import { reconcileRoutes } from './reconcile.ts';
import { regenerateRoutes } from './regenerate.ts';
import { adminUploadSessionRoutes } from './upload-sessions.ts';
import { uploadRoutes } from './uploads.ts';

/** A sub-app whose every route first requires an admin. */
function protectedArea(services: Services): Hono<AppEnv> {
  const area = new Hono<AppEnv>();
  area.use('*', requireAdmin(services));
  return area;
}

/** Everything under /api/admin but the session routes: uploads, sessions, ingest, library, queues, regeneration, failed tasks, ending every admin session. */
export function adminArea(services: Services): Hono<AppEnv> {
  return protectedArea(services)
    .route('/', libraryRoutes(services))
    .route('/', queueRoutes(services))
    .route('/', regenerateRoutes(services))
    .route('/', reconcileRoutes(services))
    .route('/', uploadRoutes(services))
    .route('/', adminImageRoutes(services))
    .route('/', failedTaskRoutes(services))
    .route('/', adminUploadSessionRoutes(services))
    .route('/', endSessionsRoutes(services));
}

/** `/api/images/:id`: the admin detail of one image. */
export function imagesArea(services: Services): Hono<AppEnv> {
  return protectedArea(services).route('/', imageDetailRoutes(services));
}
