/**
 * Streams a multipart upload into the object store without holding a file in
 * memory: per file, the first 256 KiB are kept for `probeHeader` (refused
 * types never reach storage), then the rest flows through a sha256 hasher into
 * `store.put('originals/<id>')` with backpressure. busboy enforces the size
 * limit while streaming; an over-limit, refused or aborted file leaves nothing
 * behind. The image row and its outbox row are written only once the object
 * is fully stored.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { DEFAULT_PRESET, HEAD_BYTES, probeHeader } from '@slideshow/imaging';
import { AppError, coerceError, type Logger } from '@slideshow/runtime';
import type { ObjectStore } from '@slideshow/storage';
import busboy from 'busboy';
import { newImageId } from '../ids.ts';
import type { Lifecycle } from '../lifecycle.ts';
import { sanitizeName } from './sanitize-name.ts';

/** What happened to one file of an upload or ingest. */
export type FileOutcome =
  | { originalName: string; id: string; status: string; duplicate: boolean }
  | { originalName: string; error: AppError };

/** What receiving needs. */
export interface ReceiveContext {
  store: ObjectStore;
  lifecycle: Lifecycle;
  logger: Logger;
  maxBytes: number;
  now: () => number;
  preset?: string;
  /** Longest silence from the client while a body is being read (default 30 s). */
  idleTimeoutMs?: number;
}

/** Default longest silence from an uploading client. */
export const DEFAULT_IDLE_TIMEOUT_MS = 30_000;

/** Most files in one request. */
export const MAX_FILES_PER_UPLOAD = 50;

function readHead(stream: Readable, limit: number): Promise<{ head: Buffer; ended: boolean }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;
    const cleanup = () => {
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', onError);
    };
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      length += chunk.length;
      if (length >= limit) {
        stream.pause();
        cleanup();
        resolve({ head: Buffer.concat(chunks), ended: false });
      }
    };
    const onEnd = () => {
      cleanup();
      resolve({ head: Buffer.concat(chunks), ended: true });
    };
    const onError = (error: unknown) => {
      cleanup();
      reject(error);
    };
    stream.on('data', onData);
    stream.once('end', onEnd);
    stream.once('error', onError);
  });
}

function drain(stream: Readable): Promise<void> {
  if (stream.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    stream.once('close', resolve);
    stream.once('end', resolve);
    stream.once('error', () => resolve());
    stream.resume();
  });
}

function tooLarge(maxBytes: number): AppError {
  return new AppError('PAYLOAD_TOO_LARGE', `file is larger than the limit of ${maxBytes} bytes`, {
    context: { maxBytes },
  });
}

async function storeOne(
  file: Readable,
  filename: string | undefined,
  ctx: ReceiveContext,
): Promise<FileOutcome> {
  const originalName = sanitizeName(filename);
  const id = newImageId();
  const key = `originals/${id}`;
  const log = ctx.logger.child({ imageId: id });
  let truncated = false;
  let streamError: AppError | undefined;
  // A request-level abort destroys this stream with the reason; keep it (and
  // never leave an 'error' without a listener while probing).
  file.on('error', (error: unknown) => {
    streamError ??= coerceError(error);
  });
  file.on('limit', () => {
    truncated = true;
  });
  const hash = createHash('sha256');
  let bytes = 0;
  let written = false;
  try {
    const { head, ended } = await readHead(file, HEAD_BYTES);
    if (truncated) throw tooLarge(ctx.maxBytes);
    const probe = await probeHeader(head, ended ? head.length : undefined, {
      maxBytes: ctx.maxBytes,
    });
    hash.update(head);
    bytes = head.length;
    async function* body() {
      yield head;
      for await (const chunk of file as AsyncIterable<Buffer>) {
        hash.update(chunk);
        bytes += chunk.length;
        yield chunk;
      }
      if (truncated) throw tooLarge(ctx.maxBytes);
    }
    const controller = new AbortController();
    written = true;
    await ctx.store.put(key, Readable.from(body(), { objectMode: false }), {
      contentType: probe.mime ?? 'application/octet-stream',
      signal: controller.signal,
    });
    const sha256 = hash.digest('hex');
    const { row, duplicate } = ctx.lifecycle.accept({
      id,
      original_name: originalName,
      content_type: probe.mime ?? 'application/octet-stream',
      bytes,
      sha256,
      source_key: key,
      priority: 'interactive',
      preset: ctx.preset ?? DEFAULT_PRESET,
      width: probe.width ?? null,
      height: probe.height ?? null,
      format: probe.format,
      created_at: new Date(ctx.now()).toISOString(),
    });
    if (duplicate) {
      await ctx.store.delete(key);
      log.info('duplicate upload', { existing: row.id, bytes });
    } else {
      log.info('image accepted', { bytes, format: probe.format });
    }
    return { originalName, id: row.id, status: row.status, duplicate };
  } catch (error) {
    const appError = streamError ?? coerceError(error);
    if (!file.readableEnded) await drain(file);
    if (written) {
      await ctx.store.delete(key).catch((cleanupError: unknown) => {
        log.error('could not delete a partial original', { error: coerceError(cleanupError), key });
      });
    }
    log.info('upload refused', { code: appError.code, message: appError.message });
    return { originalName, error: appError };
  }
}

/** Reads the next chunk, failing with REQUEST_TIMEOUT when the client sends nothing for `idleMs`. */
function readWithin(
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
        reject(coerceError(error));
      },
    );
  });
}

/**
 * Feeds the request body into busboy with backpressure until the body ends or
 * `aborted()` says to stop. On a stop the rest of the body is deliberately
 * left unread (never cancelled: cancelling the body destroys the socket before
 * the error response is written); @hono/node-server then drains it for at
 * most 500 ms and closes the connection.
 */
async function pump(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  parser: busboy.Busboy,
  idleMs: number,
  aborted: () => boolean,
): Promise<void> {
  const stopped = () => {
    if (aborted()) return true;
    if (parser.errored) throw coerceError(parser.errored, 'VALIDATION_FAILED');
    return parser.destroyed;
  };
  for (;;) {
    const { done, value } = await readWithin(reader, idleMs);
    if (stopped()) return;
    if (done) {
      parser.end();
      await finished(parser);
      return;
    }
    if (!parser.write(value)) await writable(parser);
    if (stopped()) return;
  }
}

/** Resolves when `parser` wants more data or is gone (an error surfaces through `parser.errored`). */
function writable(parser: busboy.Busboy): Promise<void> {
  if (parser.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      parser.off('drain', done);
      parser.off('close', done);
      resolve();
    };
    parser.once('drain', done);
    parser.once('close', done);
  });
}

/** Parses `request` as multipart and stores every `file` part; one outcome per file, in order. */
export async function receiveUpload(request: Request, ctx: ReceiveContext): Promise<FileOutcome[]> {
  const contentType = request.headers.get('content-type') ?? '';
  if (!/^multipart\/form-data\s*;/i.test(contentType)) {
    throw new AppError('UNSUPPORTED_MEDIA_TYPE', 'expected a multipart/form-data body');
  }
  if (!request.body) throw new AppError('VALIDATION_FAILED', 'the request has no body');
  let parser: busboy.Busboy;
  try {
    parser = busboy({
      headers: { 'content-type': contentType },
      defParamCharset: 'utf8',
      limits: {
        fileSize: ctx.maxBytes,
        files: MAX_FILES_PER_UPLOAD,
        fields: 20,
        parts: MAX_FILES_PER_UPLOAD + 20,
        fieldSize: 64 * 1024,
        headerPairs: 20,
      },
    });
  } catch (error) {
    throw coerceError(error, 'VALIDATION_FAILED');
  }
  const outcomes: Promise<FileOutcome>[] = [];
  // The first request-level refusal: reading stops at once, the file being
  // received is destroyed (storeOne deletes its partial object) and the whole
  // request answers this error. Files completed before it stay accepted; a
  // re-upload finds them as duplicates.
  let abortError: AppError | undefined;
  const abort = (error: AppError) => {
    if (abortError) return;
    abortError = error;
    // Destroyed after busboy's current write returns (it may be emitting 'limit' from inside it).
    queueMicrotask(() => parser.destroy(error));
  };
  parser.on('file', (name, stream, info) => {
    if (name !== 'file') {
      stream.resume();
      return;
    }
    stream.once('limit', () => abort(tooLarge(ctx.maxBytes)));
    outcomes.push(storeOne(stream, info.filename, ctx));
  });
  parser.on('filesLimit', () => {
    abort(new AppError('PAYLOAD_TOO_LARGE', `at most ${MAX_FILES_PER_UPLOAD} files per upload`));
  });
  parser.on('partsLimit', () => {
    abort(new AppError('PAYLOAD_TOO_LARGE', 'too many parts in the multipart body'));
  });
  parser.on('fieldsLimit', () => {
    abort(new AppError('PAYLOAD_TOO_LARGE', 'too many fields in the multipart body'));
  });
  let parseError: AppError | undefined;
  parser.on('error', (error: unknown) => {
    // Also seen by pump() through parser.errored; recorded here so an error
    // emitted while nothing awaits the parser is never an unhandled 'error'.
    if (!abortError) parseError ??= coerceError(error, 'VALIDATION_FAILED');
  });
  const reader = (request.body as ReadableStream<Uint8Array>).getReader();
  try {
    await pump(reader, parser, ctx.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS, () => !!abortError);
  } catch (error) {
    const e = coerceError(error, 'VALIDATION_FAILED');
    if (e.code === 'REQUEST_TIMEOUT') abort(e);
    else if (!abortError) parseError = e;
    if (!parser.destroyed) parser.destroy(abortError ?? e);
  }
  const settled = await Promise.all(outcomes);
  const failure =
    abortError ??
    (parseError &&
      new AppError('VALIDATION_FAILED', `malformed multipart body: ${parseError.message}`, {
        cause: parseError,
      }));
  if (failure) {
    if (!settled.some((o) => !('error' in o))) throw failure;
    // Files completed before the failure are stored and recorded: report them
    // (202, per-file results) instead of hiding them behind an error status.
    const last = settled.at(-1);
    if (!(last && 'error' in last && last.error === failure)) {
      settled.push({ originalName: '(rest of the request)', error: failure });
    }
    return settled;
  }
  if (settled.length === 0) {
    throw new AppError('VALIDATION_FAILED', 'expected at least one multipart part named "file"');
  }
  return settled;
}
