/**
 * The web pages (`/`, `/admin`) and their assets (`/assets/*`) with a strict
 * Content-Security-Policy. Assets are the files of ./assets (flat, named
 * `[a-z0-9-]+.js|css`) plus the ThumbHash decoder from its npm package.
 */
import { readdir, readFile } from 'node:fs/promises';
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
  const cache = new Map<string, Buffer>();
  let assets: Promise<Map<string, { url: URL; type: string }>> | undefined;
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
    assets ??= listAssets();
    const asset = (await assets).get(name);
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
