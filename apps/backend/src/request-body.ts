/**
 * The one way a route reads a request body: `limitBody(name)` bounds it before
 * a byte is buffered, and `jsonBody(c)` / `formBody(c)` parse what it read.
 *
 * - A declared `Content-Length` over the route's limit answers 413
 *   PAYLOAD_TOO_LARGE at once, without reading the body.
 * - A body without one (chunked) is counted while it streams and refused the
 *   moment it passes the limit; the rest is left unread.
 * - Either refusal says `Connection: close` (closing-response.ts): @hono/node-server
 *   drains the unread body for at most 500 ms, then closes the connection.
 * - A client that stops sending for the idle timeout (the same one uploads
 *   use) answers 408 REQUEST_TIMEOUT, so a slow-loris body holds nothing for
 *   longer than that; one that closes its connection mid-body is
 *   CLIENT_CLOSED_REQUEST (499, logged at INFO, never as a server failure).
 * - Malformed JSON answers 400 VALIDATION_FAILED, never 500.
 *
 * A handler reading a body without the middleware gets an INTERNAL error, so
 * forgetting the limit fails loudly (and the routes-table test in
 * test/body-limits.test.ts sends an oversized body to every route).
 */
import { AppError, coerceError } from '@slideshow/runtime';
import type { Context, MiddlewareHandler } from 'hono';
import type { AppEnv } from './context.ts';

/**
 * Largest body, in bytes, each kind of route reads: the one owner of these
 * limits. Production runs one instance with 1 GiB, so each is tiny next to it.
 */
export const BODY_LIMITS = {
  /** `POST /api/admin/login`: a password of at most 1,024 characters, JSON or urlencoded (`%XX` triples it). */
  login: 8 * 1024,
  /**
   * Admin routes that take a small filter or nothing (`failed-tasks/retry`, image retry,
   * delete, logout, upload sessions, queue pause/resume, upload cancel).
   */
  adminSmall: 16 * 1024,
  /**
   * The media library's JSON routes (library.ts): a lookup of 500 ids and 500
   * sha256 digests (~50 KB), a bulk action on 500 ids (~17 KB), a description
   * of 3,200 characters each escaped as `\uXXXX` (~20 KB; astral ones twice that).
   */
  library: 64 * 1024,
  /** `PUT /api/admin/slideshow/order`: 5,000 image ids of 30 characters, quoted (~165 KB). */
  slideshowOrder: 256 * 1024,
  /** `POST /api/admin/regenerate`: a filter naming up to 10,000 image ids of ~30 characters (~330 KB). */
  regenerate: 512 * 1024,
  /** `POST /api/admin/ingest`: up to 1,000 keys of up to 1,024 bytes, escaped. */
  ingest: 2 * 1024 * 1024,
  /** `/api/processing/*`: a `complete` with its variants is a few KB; failure messages ≤ 2,000 characters. */
  callback: 64 * 1024,
  /**
   * `POST /api/admin/upload`: every byte that is not the content of a `file`
   * part (part headers, text fields, parts with another name, preamble and
   * epilogue). File contents have their own limit, MAX_UPLOAD_BYTES per file.
   */
  multipartOverhead: 2 * 1024 * 1024,
  /**
   * `PUT /api/upload-sessions/:token` (local stack): one chunk of a resumable
   * upload, eight times the protocol's 256 KiB unit. In production the browser
   * sends its chunks to Cloud Storage, not here.
   */
  uploadChunk: 2 * 1024 * 1024,
} as const satisfies Record<string, number>;

/** The name of a body limit. */
export type BodyLimitName = keyof typeof BODY_LIMITS;

/** Default longest silence from a client while its body is read (uploads included). */
export const DEFAULT_IDLE_TIMEOUT_MS = 30_000;

/** The 413 for a body over `limit` bytes. */
export function payloadTooLarge(limit: number, what = 'the request body'): AppError {
  return new AppError('PAYLOAD_TOO_LARGE', `${what} is larger than the limit of ${limit} bytes`, {
    context: { limit },
  });
}

/**
 * The declared body size, or undefined when the request streams without one.
 * Node's parser has already refused a malformed or conflicting Content-Length.
 */
export function declaredLength(request: Request): number | undefined {
  const header = request.headers.get('content-length');
  if (header === null || !/^\d+$/.test(header.trim())) return undefined;
  return Number(header);
}

/** errno values of a request body cut short because the client closed the connection. */
const CLIENT_GONE = new Set(['ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ERR_STREAM_PREMATURE_CLOSE']);

/**
 * The error for a request body that failed to arrive: CLIENT_CLOSED_REQUEST
 * when the client closed its connection (Node destroys the body with
 * `aborted`, ECONNRESET), so a cancelled upload is not logged as a server
 * failure; anything else as it is.
 */
function bodyReadError(error: unknown): AppError {
  const errno =
    typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  if (typeof errno === 'string' && CLIENT_GONE.has(errno)) {
    return new AppError(
      'CLIENT_CLOSED_REQUEST',
      'the client closed the request before sending its whole body',
      { cause: error, context: { errno } },
    );
  }
  return coerceError(error);
}

/**
 * Reads the next chunk, failing with REQUEST_TIMEOUT when the client sends
 * nothing for `idleMs`, and with CLIENT_CLOSED_REQUEST when it goes away.
 */
export function readWithin(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  idleMs: number,
): ReturnType<ReadableStreamDefaultReader<Uint8Array>['read']> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(
        new AppError('REQUEST_TIMEOUT', `the client sent nothing for ${idleMs} ms`, {
          context: { idleMs },
        }),
      );
    }, idleMs);
    reader.read().then(
      (result) => {
        clearTimeout(timer);
        resolve(result);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(bodyReadError(error));
      },
    );
  });
}

/**
 * Reads a whole body of at most `limit` bytes. Over the limit (declared or
 * counted) → PAYLOAD_TOO_LARGE; silence for `idleMs` → REQUEST_TIMEOUT. The
 * reader is never cancelled: cancelling destroys the socket before the error
 * response is written.
 */
export async function readLimited(
  request: Request,
  limit: number,
  idleMs: number,
): Promise<Buffer> {
  const declared = declaredLength(request);
  if (declared !== undefined && declared > limit) throw payloadTooLarge(limit);
  if (!request.body) return Buffer.alloc(0);
  const reader = request.body.getReader();
  const chunks: Buffer[] = [];
  let length = 0;
  for (;;) {
    const { done, value } = await readWithin(reader, idleMs);
    if (done) break;
    length += value.byteLength;
    if (length > limit) throw payloadTooLarge(limit);
    chunks.push(Buffer.from(value.buffer, value.byteOffset, value.byteLength));
  }
  return Buffer.concat(chunks, length);
}

/** Middleware that reads the body within `BODY_LIMITS[name]` and keeps it for {@link jsonBody} / {@link formBody}. */
export function limitBody(name: BodyLimitName, idleMs: number): MiddlewareHandler<AppEnv> {
  const limit = BODY_LIMITS[name];
  return async (c, next) => {
    c.set('body', await readLimited(c.req.raw, limit, idleMs));
    await next();
  };
}

function bufferedBody(c: Context<AppEnv>): Buffer {
  const body = c.get('body');
  if (body === undefined) {
    throw new AppError('INTERNAL', `${c.req.method} ${c.req.path} reads a body without limitBody`);
  }
  return body;
}

/**
 * The body parsed as JSON. With `emptyAs`, an empty (or all-whitespace) body
 * is that value; otherwise it is malformed like any other non-JSON text.
 */
export function jsonBody(c: Context<AppEnv>, options: { emptyAs?: unknown } = {}): unknown {
  const text = bufferedBody(c).toString('utf8');
  if (options.emptyAs !== undefined && text.trim() === '') return options.emptyAs;
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new AppError(
      'VALIDATION_FAILED',
      `the body is not valid JSON: ${coerceError(error).message}`,
      {
        cause: error,
      },
    );
  }
}

/** The body parsed as `application/x-www-form-urlencoded`. */
export function formBody(c: Context<AppEnv>): URLSearchParams {
  return new URLSearchParams(bufferedBody(c).toString('utf8'));
}
