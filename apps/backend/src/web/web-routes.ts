import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { Hono } from 'hono';
import { adminPage, slideshowPage } from './pages.ts';

/** Options for {@link createWebRoutes}. */
export interface WebRoutesOptions {
  /** Extra origins images may load from (e.g. the public GCS media origin in production). */
  imageOrigins?: string[];
  /** Extra origins the admin page may send to: where upload sessions live (Cloud Storage in production). */
  connectOrigins?: string[];
}

const ASSETS: Record<string, { url: URL; type: string }> = {
  'app.css': { url: new URL('./assets/app.css', import.meta.url), type: 'text/css; charset=utf-8' },
  'admin.js': {
    url: new URL('./assets/admin.js', import.meta.url),
    type: 'text/javascript; charset=utf-8',
  },
  'resumable-upload.js': {
    url: new URL('./assets/resumable-upload.js', import.meta.url),
    type: 'text/javascript; charset=utf-8',
  },
  'slideshow.js': {
    url: new URL('./assets/slideshow.js', import.meta.url),
    type: 'text/javascript; charset=utf-8',
  },
  // The ThumbHash decoder comes from the `thumbhash` package, served by us: no CDN.
  'thumbhash.js': {
    url: new URL(import.meta.resolve('thumbhash')),
    type: 'text/javascript; charset=utf-8',
  },
};

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
  const cache = new Map<string, Buffer>();
  const routes = new Hono();
  routes.use('*', async (c, next) => {
    await next();
    c.header('Content-Security-Policy', csp);
    c.header('X-Content-Type-Options', 'nosniff');
    c.header('Referrer-Policy', 'same-origin');
    c.header('X-Frame-Options', 'DENY');
  });
  routes.get('/', (c) => {
    c.header('Cache-Control', 'no-cache');
    return c.html(slideshowPage);
  });
  routes.get('/admin', (c) => {
    c.header('Cache-Control', 'no-cache');
    return c.html(adminPage);
  });
  routes.get('/assets/:file', async (c) => {
    const name = c.req.param('file');
    const asset = Object.hasOwn(ASSETS, name) ? ASSETS[name] : undefined;
    if (!asset) return c.notFound();
    let body = cache.get(name);
    if (!body) {
      body = await readFile(fileURLToPath(asset.url));
      cache.set(name, body);
    }
    c.header('Content-Type', asset.type);
    c.header('Cache-Control', 'no-cache');
    return c.body(new Uint8Array(body));
  });
  return routes;
}
