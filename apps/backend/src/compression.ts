/**
 * Compression of the backend's text answers — JSON, JavaScript, CSS, HTML —
 * for a client that accepts it (`Accept-Encoding`: Brotli, else gzip). The
 * slideshow's list is about 1.2 KB per image before compression, most of a
 * first view's bytes. Never the image variants under /media (already
 * compressed), a body that already has a `Content-Encoding`, a HEAD, a range,
 * or an answer marked `Cache-Control: no-transform`.
 *
 * Hono's `compress()` (hono/compress) is not used: it offers no Brotli, and it
 * weakens the ETag of a compressed answer without comparing the `W/` ETag the
 * client then sends back, so `/api/slideshow` would never answer 304 again.
 * Here a compressed answer's ETag is weak (RFC 9110 §8.8.3.3: the encodings
 * are not byte-identical, so they must not share a strong validator), and an
 * `If-None-Match` is compared weakly (RFC 9110 §13.1.2), which turns the
 * route's 200 into a 304 when the client holds the list already.
 */
import { promisify } from 'node:util';
import { brotliCompress, constants, gzip } from 'node:zlib';
import type { MiddlewareHandler } from 'hono';
import { weaklyMatches } from './entity-tag.ts';

/** The content types worth compressing: the pages, their assets and the API's JSON. */
const TEXT_TYPE = /^(?:application\/json|text\/(?:html|css|javascript))\s*(?:;|$)/i;
/** Below this many bytes a compressed body saves less than its headers cost. */
export const COMPRESSION_THRESHOLD = 1024;
const NO_TRANSFORM = /(?:^|,)\s*no-transform\s*(?:,|$)/i;
/** Statuses that carry no body (or a partial one). */
const NO_BODY = new Set([204, 206, 304]);

const brotliAsync = promisify(brotliCompress);
const gzipAsync = promisify(gzip);

/**
 * The encoders, in the order preferred when the client accepts both. Brotli at
 * quality 5 costs about what gzip's default does and is ~15 % smaller on JSON.
 */
const ENCODERS = {
  br: (body: Uint8Array) =>
    brotliAsync(body, {
      params: {
        [constants.BROTLI_PARAM_QUALITY]: 5,
        [constants.BROTLI_PARAM_SIZE_HINT]: body.byteLength,
      },
    }),
  gzip: (body: Uint8Array) => gzipAsync(body),
} as const;
type Encoding = keyof typeof ENCODERS;

/** The encoding to use for an `Accept-Encoding` value, or null (identity). */
export function chooseEncoding(accept: string | undefined): Encoding | null {
  if (!accept) return null;
  const q = new Map<string, number>();
  for (const part of accept.split(',')) {
    const [token = '', ...params] = part.split(';').map((s) => s.trim().toLowerCase());
    const weight = params.find((p) => p.startsWith('q='));
    q.set(token, weight ? Number(weight.slice(2)) : 1);
  }
  let best: Encoding | null = null;
  for (const encoding of Object.keys(ENCODERS) as Encoding[]) {
    const weight = q.get(encoding) ?? q.get('*') ?? 0;
    if (weight > 0 && (best === null || weight > (q.get(best) ?? q.get('*') ?? 0))) best = encoding;
  }
  return best;
}

/** Most bytes of compressed bodies kept for answers with a strong ETag. */
export const ENCODED_CACHE_BYTES = 8 * 1024 * 1024;

/**
 * Compressed bodies by encoding and strong ETag, oldest first: the pages,
 * their assets and an unchanged slideshow list are compressed once, not on
 * every request. A strong ETag names one byte sequence (RFC 9110 §8.8.1), so
 * its compressed copy can be reused for as long as the route sends that tag.
 */
class EncodedCache {
  readonly #entries = new Map<string, Uint8Array>();
  readonly #maxBytes: number;
  #bytes = 0;
  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  get(key: string): Uint8Array | undefined {
    return this.#entries.get(key);
  }

  set(key: string, body: Uint8Array): void {
    if (body.byteLength > this.#maxBytes || this.#entries.has(key)) return;
    this.#entries.set(key, body);
    this.#bytes += body.byteLength;
    for (const [oldest, old] of this.#entries) {
      if (this.#bytes <= this.#maxBytes) break;
      this.#entries.delete(oldest);
      this.#bytes -= old.byteLength;
    }
  }
}

/** Options of {@link compression}. */
export interface CompressionOptions {
  /** Bytes of compressed bodies kept (default {@link ENCODED_CACHE_BYTES}; 0 keeps none). */
  cacheBytes?: number;
  /** Called with each body actually compressed (tests count them). */
  onEncode?: (encoding: string, bytes: number) => void;
}

/** The middleware; mounted once, around every route (app.ts). */
export function compression(options: CompressionOptions = {}): MiddlewareHandler {
  const cache = new EncodedCache(options.cacheBytes ?? ENCODED_CACHE_BYTES);
  async function encode(encoding: Encoding, body: Uint8Array, etag: string | null) {
    const key = etag && !etag.startsWith('W/') ? `${encoding} ${etag}` : undefined;
    const hit = key === undefined ? undefined : cache.get(key);
    if (hit) return hit;
    options.onEncode?.(encoding, body.byteLength);
    const encoded = new Uint8Array(await ENCODERS[encoding](body));
    if (key !== undefined) cache.set(key, encoded);
    return encoded;
  }
  return async function compress(c, next) {
    await next();
    const res = c.res;
    const type = res.headers.get('Content-Type') ?? '';
    if (!TEXT_TYPE.test(type) || c.req.method === 'HEAD' || NO_BODY.has(res.status)) return;
    if (res.headers.has('Content-Encoding') || !res.body) return;
    if (NO_TRANSFORM.test(res.headers.get('Cache-Control') ?? '')) return;
    const vary = res.headers.get('Vary');
    if (!vary) res.headers.set('Vary', 'Accept-Encoding');
    else if (vary !== '*' && !/accept-encoding/i.test(vary)) {
      res.headers.set('Vary', `${vary}, Accept-Encoding`);
    }
    const encoding = chooseEncoding(c.req.header('Accept-Encoding'));
    const body = new Uint8Array(await res.arrayBuffer());
    const compress = encoding !== null && body.byteLength >= COMPRESSION_THRESHOLD;
    const etag = res.headers.get('ETag');
    // The client holds this answer already as a compressed (weak) copy, whose tag the route
    // did not recognise: it compares strong tags only.
    const unchanged = res.status === 200 && weaklyMatches(c.req.header('If-None-Match'), etag);
    // Setting c.res keeps the old answer's headers (Hono's Context); they are changed after.
    c.res = unchanged
      ? new Response(null, { status: 304, headers: res.headers })
      : new Response(compress ? await encode(encoding, body, etag) : body, res);
    const headers = c.res.headers;
    if (compress && etag && !etag.startsWith('W/')) headers.set('ETag', `W/${etag}`);
    if (unchanged) {
      for (const name of ['Content-Type', 'Content-Length']) headers.delete(name);
    } else if (compress) {
      headers.set('Content-Encoding', encoding);
      headers.delete('Content-Length');
    } else headers.set('Content-Length', String(body.byteLength));
  };
}
