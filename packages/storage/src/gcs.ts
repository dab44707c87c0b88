/**
 * The Google Cloud Storage adapter of the ObjectStore port, on the official
 * `@google-cloud/storage` client (JSON API). Bodies are streamed both ways;
 * uploads above `resumableThreshold` use a resumable session, smaller ones a
 * single multipart request (Google recommends single requests for small
 * objects: https://cloud.google.com/storage/docs/uploads-downloads#size).
 *
 * Emulators: pass `apiEndpoint`. The client then treats the endpoint as custom
 * and sends no credentials (see `customEndpoint` in the client's storage.js and
 * resumable-upload.js), so no key file and no metadata server are needed.
 * `STORAGE_EMULATOR_HOST` is deliberately not used: the client reads it at
 * construction and, when set, takes it as the base URL even if `apiEndpoint`
 * is given.
 */
import { PassThrough, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type Bucket, type File, type FileMetadata, Storage } from '@google-cloud/storage';
import { AppError, coerceError } from '@slideshow/runtime';
import { isNotFound, mapGcsError } from './gcs-errors.ts';
import { compareKeys, inKeyOrder, listPages, toInfo } from './gcs-list.ts';
import {
  assertValidKey,
  assertValidListOptions,
  assertValidRange,
  type FlatListOptions,
  type GetOptions,
  type ListEntry,
  type ListOptions,
  type ObjectInfo,
  type ObjectStore,
  type OpenUploadOptions,
  type PutOptions,
  type ResumableUploads,
  type UploadStatus,
} from './object-store.ts';
import { guardSource, sourceErrorOf } from './put-source.ts';

/** Options for {@link createGcsObjectStore}. */
export interface GcsObjectStoreOptions {
  bucket: string;
  /** A configured client; otherwise one is built from `apiEndpoint` / `projectId` (ADC in production). */
  storage?: Storage;
  /** e.g. the emulator's `http://127.0.0.1:PORT`; requests then carry no credentials. */
  apiEndpoint?: string;
  projectId?: string;
  /** Uploads larger than this many bytes are resumable (default 8 MiB). */
  resumableThreshold?: number;
  /** Objects per list request (default 1000, the API's maximum). */
  listPageSize?: number;
  /** Parallel deletes in deletePrefix (default 16). */
  deleteConcurrency?: number;
}

const DEFAULT_RESUMABLE_THRESHOLD = 8 * 1024 * 1024;

/**
 * Reads up to `limit + 1` bytes of `body` to learn whether it is small enough
 * for a single-request upload, then hands back a stream of the whole body.
 * Holds at most one threshold's worth of bytes.
 */
async function sizeUp(
  body: Readable,
  limit: number,
): Promise<{ source: Readable; fitsInOneRequest: boolean }> {
  const iterator: AsyncIterator<unknown> = body[Symbol.asyncIterator]();
  const head: Buffer[] = [];
  let headBytes = 0;
  let ended = false;
  while (headBytes <= limit) {
    const next = await iterator.next();
    if (next.done) {
      ended = true;
      break;
    }
    const chunk = Buffer.isBuffer(next.value) ? next.value : Buffer.from(String(next.value));
    head.push(chunk);
    headBytes += chunk.length;
  }
  async function* rest(): AsyncGenerator<Buffer> {
    yield* head;
    head.length = 0;
    if (ended) return;
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
      yield Buffer.isBuffer(next.value) ? next.value : Buffer.from(String(next.value));
    }
  }
  return { source: Readable.from(rest(), { objectMode: false }), fitsInOneRequest: ended };
}

async function mapLimit<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/**
 * Writes one object: a Buffer or a stream of known size straight, a stream of
 * unknown size read ahead up to `threshold` to choose between one request and
 * a resumable upload; CRC32C-validated. A failed or aborted put leaves no object.
 */
async function putObject(
  bucket: Bucket,
  threshold: number,
  key: string,
  body: Readable | Buffer,
  putOptions: PutOptions,
): Promise<ObjectInfo> {
  assertValidKey(key);
  const signal = putOptions.signal;
  const file: File = bucket.file(key);
  try {
    signal?.throwIfAborted();
    let source: Readable;
    let resumable: boolean;
    if (Buffer.isBuffer(body)) {
      source = Readable.from([body], { objectMode: false });
      resumable = body.length > threshold;
    } else if (putOptions.size !== undefined) {
      source = guardSource(body);
      resumable = putOptions.size > threshold;
    } else {
      const sized = await sizeUp(guardSource(body), threshold);
      source = sized.source;
      resumable = !sized.fitsInOneRequest;
    }
    const metadata: FileMetadata = { contentType: putOptions.contentType };
    if (putOptions.cacheControl !== undefined) metadata.cacheControl = putOptions.cacheControl;
    const upload = file.createWriteStream({
      resumable,
      metadata,
      contentType: putOptions.contentType,
      validation: 'crc32c',
    });
    await pipeline(source, upload, signal ? { signal } : {});
    return toInfo(key, file.metadata);
  } catch (error) {
    if (!Buffer.isBuffer(body)) body.destroy();
    if (signal?.aborted) throw coerceError(signal.reason);
    throw sourceErrorOf(error) ?? mapGcsError(error, key, 'put');
  }
}

/** Opens a read stream, resolving once Cloud Storage has answered (a missing object rejects here). */
async function getObject(bucket: Bucket, key: string, range?: GetOptions): Promise<Readable> {
  assertValidKey(key);
  assertValidRange(key, range);
  const source = bucket.file(key).createReadStream({
    ...(range?.start !== undefined ? { start: range.start } : {}),
    ...(range?.end !== undefined ? { end: range.end } : {}),
  });
  const out = new PassThrough();
  // The client only sends the request once someone reads; piping starts it, and we wait
  // for the response status so a missing object rejects here instead of failing the stream later.
  await new Promise<void>((resolve, reject) => {
    let responded = false;
    source.once('response', (response: { statusCode?: number }) => {
      if ((response.statusCode ?? 500) < 300) {
        responded = true;
        resolve();
      }
    });
    source.on('error', (error: unknown) => {
      const mapped = mapGcsError(error, key, 'get');
      if (responded) out.destroy(mapped);
      else reject(mapped);
    });
    out.on('close', () => {
      if (!source.destroyed) source.destroy();
    });
    source.pipe(out);
  });
  return out;
}

/** Resumable upload sessions a browser sends the bytes to directly, over the session URI. */
function createGcsResumableUploads(bucket: Bucket): ResumableUploads {
  return {
    async openUpload(key: string, open: OpenUploadOptions): Promise<{ url: string }> {
      assertValidKey(key);
      if (!Number.isSafeInteger(open.size) || open.size < 0) {
        throw new TypeError(
          `Expected a non-negative integer for size but received ${String(open.size)} of type ${typeof open.size}`,
        );
      }
      try {
        // `contentLength` becomes X-Upload-Content-Length, so the session takes no more bytes
        // than declared; ifGenerationMatch=0 means it can only create the object, never replace
        // one; `origin` is the page allowed to send the bytes cross-origin.
        const metadata = { contentType: open.contentType, contentLength: open.size };
        const [url] = await bucket.file(key).createResumableUpload({
          metadata: metadata as FileMetadata,
          preconditionOpts: { ifGenerationMatch: 0 },
          ...(open.origin ? { origin: open.origin } : {}),
        });
        return { url };
      } catch (error) {
        throw mapGcsError(error, key, 'put');
      }
    },

    async uploadStatus(url: string, size: number): Promise<UploadStatus> {
      // "Check the status of a resumable upload": an empty PUT with `bytes */SIZE` answers 308
      // with the bytes persisted, or 200/201 once the object exists. The session URI is the
      // credential (https://cloud.google.com/storage/docs/performing-resumable-uploads#status-check).
      const response = await sessionRequest(url, 'PUT', {
        'Content-Range': `bytes */${size}`,
      });
      if (response.status === 308) {
        const range = /^bytes=0-(\d+)$/.exec(response.headers.get('range') ?? '');
        return { received: range?.[1] ? Number(range[1]) + 1 : 0, complete: false };
      }
      if (response.status === 200 || response.status === 201) {
        return { received: size, complete: true };
      }
      throw sessionError(response.status, url, 'uploadStatus');
    },

    async cancelUpload(url: string): Promise<void> {
      // "Cancel an upload": DELETE on the session URI answers 499; an unknown or expired session
      // (404/410) is already gone (https://cloud.google.com/storage/docs/performing-resumable-uploads#cancel-upload).
      const response = await sessionRequest(url, 'DELETE', {});
      if ([499, 404, 410, 200, 204].includes(response.status)) return;
      throw sessionError(response.status, url, 'cancelUpload');
    },
  };
}

/** Creates the GCS ObjectStore for one bucket. Does no I/O until first used. */
export function createGcsObjectStore(options: GcsObjectStoreOptions): ObjectStore {
  const storage =
    options.storage ??
    new Storage({
      ...(options.apiEndpoint ? { apiEndpoint: options.apiEndpoint } : {}),
      ...(options.projectId ? { projectId: options.projectId } : {}),
    });
  const bucket = storage.bucket(options.bucket);
  const threshold = options.resumableThreshold ?? DEFAULT_RESUMABLE_THRESHOLD;
  const pageSize = options.listPageSize ?? 1000;
  const deleteConcurrency = options.deleteConcurrency ?? 16;

  const put = (key: string, body: Readable | Buffer, putOptions: PutOptions) =>
    putObject(bucket, threshold, key, body, putOptions);
  const get = (key: string, range?: GetOptions) => getObject(bucket, key, range);

  async function stat(key: string): Promise<ObjectInfo | undefined> {
    assertValidKey(key);
    try {
      const [metadata] = await bucket.file(key).getMetadata();
      return toInfo(key, metadata);
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw mapGcsError(error, key, 'stat');
    }
  }

  function list(prefix: string, options?: FlatListOptions): AsyncGenerator<ObjectInfo>;
  function list(prefix: string, options: ListOptions): AsyncGenerator<ListEntry>;
  async function* list(
    prefix: string,
    options?: FlatListOptions | ListOptions,
  ): AsyncGenerator<ObjectInfo | ListEntry> {
    assertValidListOptions(options);
    const startAfter = options?.startAfter ?? '';
    const pages = listPages(bucket, pageSize, prefix, {
      delimiter: options?.delimiter,
      startAfter,
    });
    // `startOffset` is inclusive (and compares UTF-8 bytes, as the listing's order does), and with a delimiter Cloud Storage also answers the common
    // prefix that holds it: both sort at or before `startAfter`, and are dropped here.
    if (options?.delimiter) {
      for await (const entry of inKeyOrder(pages)) {
        if (compareKeys(entry.kind === 'prefix' ? entry.prefix : entry.key, startAfter) > 0)
          yield entry;
      }
      return;
    }
    for await (const page of pages) {
      for (const object of page.objects) if (compareKeys(object.key, startAfter) > 0) yield object;
    }
  }

  async function deleteKey(key: string): Promise<void> {
    assertValidKey(key);
    try {
      await bucket.file(key).delete({ ignoreNotFound: true });
    } catch (error) {
      throw mapGcsError(error, key, 'delete');
    }
  }

  async function deletePrefix(prefix: string): Promise<number> {
    let count = 0;
    for await (const page of listPages(bucket, pageSize, prefix)) {
      await mapLimit(page.objects, deleteConcurrency, async (info) => {
        await deleteKey(info.key);
        count++;
      });
    }
    return count;
  }

  const uploads = createGcsResumableUploads(bucket);

  return { put, get, stat, list, delete: deleteKey, deletePrefix, uploads };
}

/** Per-request timeout for session status and cancel calls. */
const SESSION_CALL_TIMEOUT_MS = 30_000;

/**
 * An empty request to a resumable session URI (no credentials: the URI is the
 * capability). Both uses (status query, cancel) are idempotent, so a request
 * that fails before any answer (a pooled connection the server had just
 * closed) is sent once more.
 */
async function sessionRequest(
  url: string,
  method: 'PUT' | 'DELETE',
  headers: Record<string, string>,
): Promise<Response> {
  let lastError: unknown;
  for (let attempt = 1; attempt <= 2; attempt++) {
    try {
      const response = await fetch(url, {
        method,
        headers: { ...headers, 'Content-Length': '0' },
        redirect: 'manual',
        signal: AbortSignal.timeout(SESSION_CALL_TIMEOUT_MS),
      });
      await response.body?.cancel();
      return response;
    } catch (error) {
      lastError = error;
    }
  }
  throw new AppError(
    'STORAGE_UNAVAILABLE',
    `upload session ${method} failed: ${coerceError(lastError).message}`,
    { retryable: true, cause: lastError },
  );
}

function sessionError(status: number, url: string, operation: string): AppError {
  const session = new URL(url).searchParams.get('upload_id') ?? 'session';
  if (status === 404 || status === 410) {
    return new AppError('NOT_FOUND', `upload session ${session} is gone (HTTP ${status})`, {
      context: { operation, status },
    });
  }
  return new AppError(
    'STORAGE_UNAVAILABLE',
    `upload session ${operation} answered HTTP ${status}`,
    {
      retryable: status >= 500 || status === 429 || status === 408,
      context: { operation, status },
    },
  );
}
