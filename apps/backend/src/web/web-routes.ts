/**
 * The web pages (`/`, `/admin`) and their assets (`/assets/*`) with a strict
 * Content-Security-Policy. Assets are the files of ./assets (flat, named
 * `[a-z0-9-]+.js|css`) plus the ThumbHash decoder from its npm package.
 */
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { Hono } from 'hono';
import { entityTag, namesExactly, notModified } from '../entity-tag.ts';
import { adminPage, slideshowPage } from './pages.ts';

/** Options for {@link createWebRoutes}. */
export interface WebRoutesOptions {
  /** Extra origins images may load from (e.g. the public GCS media origin in production). */
  imageOrigins?: string[];
  /** Extra origins the admin page may send to: where upload sessions live (Cloud Storage in production). */
  connectOrigins?: string[];
}

const ASSETS_DIR = new URL('./assets/', import.meta.url);
const ASSET_NAME = /^[a-z0-9-]+\.(js|css)$/;
const TYPES = { js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8' } as const;

/** The servable assets by name, read from the folder once (on the first asset request). */
async function listAssets(): Promise<Map<string, { url: URL; type: string }>> {
  const assets = new Map<string, { url: URL; type: string }>();
  for (const name of await readdir(ASSETS_DIR)) {
    const match = ASSET_NAME.exec(name);
    if (match)
      assets.set(name, { url: new URL(name, ASSETS_DIR), type: TYPES[match[1] as 'js' | 'css'] });
  }
  // The ThumbHash decoder comes from the `thumbhash` package, served by us: no CDN.
  assets.set('thumbhash.js', { url: new URL(import.meta.resolve('thumbhash')), type: TYPES.js });
  return assets;
}

/**
 * A strict Content-Security-Policy: scripts and styles only from this origin,
 * nothing inline, no plugins, no framing; images also from `data:` (ThumbHash
 * placeholders are data URLs) and the configured media origins; requests also
 * to the origin of upload sessions (Cloud Storage in production).
 */
export function contentSecurityPolicy(
  imageOrigins: string[] = [],
  connectOrigins: string[] = [],
): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    `img-src 'self' data: ${imageOrigins.join(' ')}`.trim(),
    `connect-src 'self' ${connectOrigins.join(' ')}`.trim(),
    "form-action 'self'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** The web pages (`/`, `/admin`) and their assets (`/assets/*`). */
export function createWebRoutes(options: WebRoutesOptions = {}): Hono {
  const csp = contentSecurityPolicy(options.imageOrigins, options.connectOrigins);
  const cache = new Map<string, { body: Uint8Array<ArrayBuffer>; etag: string }>();
  const pages = {
    slideshow: { html: slideshowPage, etag: entityTag(slideshowPage) },
    admin: { html: adminPage, etag: entityTag(adminPage) },
  };
  let assets: Promise<Map<string, { url: URL; type: string }>> | undefined;
  const routes = new Hono();
  routes.use('*', async (c, next) => {
    await next();
    c.header('Content-Security-Policy', csp);
    c.header('X-Content-Type-Options', 'nosniff');
    c.header('Referrer-Policy', 'same-origin');
    c.header('X-Frame-Options', 'DENY');
  });
  // Revalidated on every load (a new release shows at once), and answered 304
  // with no body while unchanged: the admin page alone loads ~20 assets.
  for (const [path, page] of [
    ['/', pages.slideshow],
    ['/admin', pages.admin],
  ] as const) {
    routes.get(path, (c) => {
      c.header('Cache-Control', 'no-cache');
      c.header('ETag', page.etag);
      if (namesExactly(c.req.header('If-None-Match'), page.etag)) return notModified(c);
      return c.html(page.html);
    });
  }
  routes.get('/assets/:file', async (c) => {
    const name = c.req.param('file');
    assets ??= listAssets();
    const asset = (await assets).get(name);
    if (!asset) return c.notFound();
    let file = cache.get(name);
    if (!file) {
      const body = new Uint8Array(await readFile(fileURLToPath(asset.url)));
      file = { body, etag: entityTag(body) };
      cache.set(name, file);
    }
    c.header('Cache-Control', 'no-cache');
    c.header('ETag', file.etag);
    if (namesExactly(c.req.header('If-None-Match'), file.etag)) return notModified(c);
    c.header('Content-Type', asset.type);
    return c.body(file.body);
  });
  return routes;
}
