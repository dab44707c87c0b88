/**
 * Public routes: `GET /api/slideshow` (published processed images in the
 * admin's order, with their title, caption and alt text, variant URLs grouped
 * per format for `<picture>`/`srcset`), and in local mode `GET /media/*`
 * serving generated variants from the filesystem store. Only keys under
 * `variants/` are served (never originals), with the stored content type,
 * `X-Content-Type-Options: nosniff` and, as Cloud Storage serves a public
 * object, the `Cache-Control` its writer stored with it (the processor's
 * year-long immutable cache: keys include the generation, so a reprocessed
 * image gets new URLs), else Cloud Storage's default for public objects.
 */
import { Readable } from 'node:stream';
import type { SlideshowAnswer } from '@slideshow/contracts';
import { AppError } from '@slideshow/runtime';
import { assertValidKey } from '@slideshow/storage';
import { Hono } from 'hono';
import type { AppEnv, Services } from '../context.ts';
import { SLIDESHOW_LENGTH } from '../db/library-repository.ts';
import { entityTag, namesExactly, notModified } from '../entity-tag.ts';
import { slideshowEntry } from '../image-view.ts';
import { isUnderVariants } from '../keys.ts';

const SAFE_TYPES = new Set(['image/avif', 'image/webp', 'image/jpeg', 'image/png']);

/**
 * What Cloud Storage sends for a public object stored without `Cache-Control`
 * (the JSON API's `Object.cacheControl`: "If omitted, and the object is
 * accessible to all anonymous users, the default will be public, max-age=3600").
 */
const PUBLIC_OBJECT_DEFAULT_CACHE = 'public, max-age=3600';

/** `/api/slideshow`. */
export function slideshowRoutes(services: Services) {
  const app = new Hono<AppEnv>();
  app.get('/', (c) => {
    const rows = services.library.slideshow(SLIDESHOW_LENGTH);
    const answer: SlideshowAnswer = {
      images: rows.map((r) => slideshowEntry(r, services.deps.publicMediaBaseUrl)),
    };
    const body = JSON.stringify(answer);
    // Revalidated on every load (an edit or a hide shows at once) but cheap: an
    // unchanged list answers 304 with no body.
    const etag = entityTag(body);
    c.header('Cache-Control', 'public, no-cache');
    c.header('ETag', etag);
    if (namesExactly(c.req.header('If-None-Match'), etag)) return notModified(c);
    c.header('Content-Type', 'application/json; charset=utf-8');
    return c.body(body);
  });
  return app;
}

/** `/media/*` (local mode only). */
export function mediaRoutes(services: Services) {
  const app = new Hono<AppEnv>();
  app.on(['GET', 'HEAD'], '/*', async (c) => {
    const path = new URL(c.req.url).pathname;
    let key: string;
    try {
      key = decodeURIComponent(path.replace(/^\/media\//, ''));
      assertValidKey(key);
    } catch (error) {
      throw new AppError('NOT_FOUND', 'no such media', { cause: error });
    }
    if (!isUnderVariants(key)) throw new AppError('NOT_FOUND', 'no such media');
    const info = await services.deps.store.stat(key);
    if (!info) throw new AppError('NOT_FOUND', 'no such media');
    const headers = {
      'Content-Type': SAFE_TYPES.has(info.contentType)
        ? info.contentType
        : 'application/octet-stream',
      'Content-Length': String(info.bytes),
      'Cache-Control': info.cacheControl ?? PUBLIC_OBJECT_DEFAULT_CACHE,
      'X-Content-Type-Options': 'nosniff',
      'Content-Security-Policy': "default-src 'none'",
    };
    if (c.req.method === 'HEAD') return new Response(null, { status: 200, headers });
    const stream = await services.deps.store.get(key);
    return new Response(Readable.toWeb(stream) as ReadableStream, { status: 200, headers });
  });
  return app;
}
