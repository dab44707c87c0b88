/**
 * The image a request is about, so that its log lines — the `request` line
 * included — name it under `imageId` like every other line on the image's way
 * (docs/operations.md, "Monitoring": a Cloud Logging filter on
 * `jsonPayload.imageId`, the local grep recipe). It is the `:id` of a route
 * whose segment before it is `images` or `processing` (`/api/processing/:id/…`,
 * `/api/admin/images/:id/…`, `/api/images/:id`), read from every route Hono
 * matched for the request — matched before any middleware runs, so a callback
 * or an admin request refused by its auth names its image too. An `:id` after
 * another segment names something else: an upload session's
 * (`/api/admin/upload-sessions/:id`) becomes an image's only if its upload is
 * accepted (upload/upload-sessions.ts).
 */
import type { Context } from 'hono';
import { matchedRoutes } from 'hono/route';
import { IMAGE_ID_PATTERN } from './ids.ts';

/** The path segments whose `:id` child is an image's id. */
const IMAGE_ID_PARENTS = new Set(['images', 'processing']);

/** Where a route pattern's image-id parameter sits among its `/`-separated parts, or -1. */
function imageIdIndex(pattern: string): number {
  const parts = pattern.split('/');
  return parts.findIndex((part, i) => part === ':id' && IMAGE_ID_PARENTS.has(parts[i - 1] ?? ''));
}

/**
 * The image id a request's route names, or undefined. Only an id of the shape this backend
 * makes (`IMAGE_ID_PATTERN`): `/api/admin/images/bulk` matches `/images/:id` for no image.
 */
export function requestImageId(c: Context): string | undefined {
  const segments = c.req.path.split('/');
  for (const route of matchedRoutes(c)) {
    const at = imageIdIndex(route.path);
    const value = at < 0 ? undefined : segments[at];
    if (value !== undefined && IMAGE_ID_PATTERN.test(value)) return value;
  }
  return undefined;
}
