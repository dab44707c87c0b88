/**
 * Streams a multipart upload into the object store without holding a file in
 * memory: per file, the first 256 KiB are kept for `probeHeader` (refused
 * types never reach storage), then the rest flows through a sha256 hasher into
 * `store.put('originals/<id>')` with backpressure. busboy enforces the size
 * limit while streaming; everything that is not the content of a `file` part
 * (other parts, fields, preamble, epilogue) is counted against
 * `BODY_LIMITS.multipartOverhead`. An over-limit, refused or aborted file
 * leaves nothing behind. A storage failure (a full disk, an unavailable
 * bucket) stops the whole request at once: 507 STORAGE_FULL or 503
 * STORAGE_UNAVAILABLE, logged at ERROR. The image row and its outbox row are
 * written only once the object is fully stored; until then a
 * `pending_originals` row says the object is ours (for the orphan sweeper).
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { ImageStatus } from '@slideshow/contracts';
import { DEFAULT_PRESET, HEAD_BYTES, probeHeader } from '@slideshow/imaging/header';
import { AppError, coerceError, type Logger } from '@slideshow/runtime';
import type { ObjectStore } from '@slideshow/storage';
import busboy from 'busboy';
import { logClientClosed, logFailure, statusFor, toAppError } from '../http-errors.ts';
import { newImageId } from '../ids.ts';
import { originalKey } from '../keys.ts';
import type { Lifecycle } from '../lifecycle.ts';
import {
  BODY_LIMITS,
  DEFAULT_IDLE_TIMEOUT_MS,
  declaredLength,
  payloadTooLarge,
  readWithin,
} from '../request-body.ts';
import { type AcceptedOriginal, acceptedImage } from './accepted-image.ts';
import { sanitizeName } from './sanitize-name.ts';

/** What happened to one file of an upload or ingest. */
export type FileOutcome =
  | { originalName: string; id: string; status: ImageStatus; duplicate: boolean }
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

/** Most files in one request. */
export const MAX_FILES_PER_UPLOAD = 50;

function readHead(
  stream: Readable,
  limit: number,
  counted: (bytes: number) => void,
): Promise<{ head: Buffer; ended: boolean }> {
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
      counted(chunk.length);
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

/** Called by {@link storeOne} while the request is being read. */
interface StoreHooks {
  /** Bytes of this file's content taken from the parser (the rest of the body is overhead). */
  counted(bytes: number): void;
  /** The store failed: nothing more of this request can be stored. */
  storageFailed(error: AppError): void;
}

/**
 * A file's turn to be recorded. Files are stored concurrently (a slow write
 * does not hold the next file's bytes) but recorded in the request's order,
 * so of two identical files the first is the image and the second its
 * duplicate, whichever write finishes first.
 */
interface RecordTurn {
  /** Resolves once every earlier file of the request has been recorded or has failed. */
  earlier: Promise<void>;
  /** This file is recorded or has failed (called once, always). */
  done(): void;
}

/** Hands out {@link RecordTurn}s in the order the request's files arrive. */
function recordTurns(): () => RecordTurn {
  let last: Promise<void> = Promise.resolve();
  return () => {
    const earlier = last;
    let done = () => {};
    const mine = new Promise<void>((resolve) => {
      done = resolve;
    });
    // A later file waits for this one and, through it, for every earlier one.
    last = Promise.all([earlier, mine]).then(() => undefined);
    return { earlier, done };
  };
}

/** A failure of the store itself (not of the client's bytes): it ends the whole request. */
function isStorageFailure(error: AppError): boolean {
  return error.code === 'STORAGE_UNAVAILABLE' || error.code === 'STORAGE_FULL';
}

/** What {@link recordStored} records of a stored original. */
type StoredOriginal = Omit<AcceptedOriginal, 'priority' | 'preset' | 'now'>;

/**
 * Records a stored original as an accepted image (row + outbox row), or, when
 * its sha256 is already known, deletes the new object and answers the
 * existing image as a duplicate.
 */
async function recordStored(ctx: ReceiveContext, log: Logger, stored: StoredOriginal) {
  const { key, probe, bytes } = stored;
  const { row, duplicate } = ctx.lifecycle.accept(
    acceptedImage({
      ...stored,
      priority: 'interactive',
      preset: ctx.preset ?? DEFAULT_PRESET,
      now: ctx.now(),
    }),
  );
  if (duplicate) {
    await ctx.store.delete(key);
    ctx.lifecycle.releaseOriginal(key);
    log.info('duplicate upload', { existing: row.id, bytes });
  } else {
    log.info('image accepted', { bytes, format: probe.format });
  }
  return { row, duplicate };
}

/** Deletes the partial original of a failed file; when that fails too, the orphan sweeper will. */
async function removePartial(ctx: ReceiveContext, log: Logger, key: string): Promise<void> {
  try {
    await ctx.store.delete(key);
    ctx.lifecycle.releaseOriginal(key);
  } catch (cleanupError) {
    // The pending_originals row stays, so the orphan sweeper deletes the object later.
    log.error('could not delete a partial original; the orphan sweeper will', {
      error: toAppError(cleanupError),
      key,
    });
  }
}

/**
 * A multipart filename as the client's file system had it. Browsers and fetch's FormData
 * write `"`, CR and LF in a part's `filename` as `%22`, `%0D` and `%0A` and escape nothing
 * else (WHATWG HTML, "multipart/form-data encoding algorithm"); busboy hands the escapes
 * over as sent. Decoding exactly those three makes `a "b".png` the same name here as through
 * an upload session (JSON); CR and LF are then removed by {@link sanitizeName} as before. A
 * name that really held `%22` arrives unescaped and is read as `"` — the encoding cannot
 * tell them apart.
 */
function multipartFilename(raw: string | undefined): string | undefined {
  return raw?.replace(/%(22|0D|0A)/g, (_, hex: string) =>
    String.fromCharCode(Number.parseInt(hex, 16)),
  );
}

async function storeOne(
  file: Readable,
  filename: string | undefined,
  ctx: ReceiveContext,
  hooks: StoreHooks,
  turn: RecordTurn,
): Promise<FileOutcome> {
  const originalName = sanitizeName(multipartFilename(filename));
  const id = newImageId();
  const key = originalKey(id);
  const log = ctx.logger.child({ imageId: id });
  let truncated = false;
  let streamError: AppError | undefined;
  let storageError: AppError | undefined;
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
  let reserved = false;
  let committed = false;
  try {
    const { head, ended } = await readHead(file, HEAD_BYTES, hooks.counted);
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
        hooks.counted(chunk.length);
        yield chunk;
      }
      if (truncated) throw tooLarge(ctx.maxBytes);
    }
    ctx.lifecycle.reserveOriginal(key);
    reserved = true;
    try {
      await ctx.store.put(key, Readable.from(body(), { objectMode: false }), {
        contentType: probe.mime ?? 'application/octet-stream',
      });
    } catch (error) {
      const e = toAppError(error);
      if (isStorageFailure(e)) {
        // The store's own error, not the AbortError our body stream gets when the store
        // destroys it: that one would hide a full disk behind "The operation was aborted".
        storageError = e;
        hooks.storageFailed(e);
      }
      throw e;
    }
    await turn.earlier;
    const { row, duplicate } = await recordStored(ctx, log, {
      id,
      key,
      originalName,
      probe,
      bytes,
      sha256: hash.digest('hex'),
    });
    committed = !duplicate;
    return { originalName, id: row.id, status: row.status, duplicate };
  } catch (error) {
    const appError = storageError ?? streamError ?? toAppError(error);
    if (!file.readableEnded) await drain(file);
    if (reserved && !committed) await removePartial(ctx, log, key);
    // `reason`, not `message`: a `message` field would replace the log line's own message.
    const fields = { code: appError.code, reason: appError.message };
    // A client gone mid-file is logged once for the whole request (receiveUpload, or the app's error handler).
    if (appError.code === 'CLIENT_CLOSED_REQUEST') {
      log.debug('upload stopped', fields);
    } else if (statusFor(appError.code) >= 500) {
      logFailure(log, 'upload failed', appError);
    } else {
      log.info('upload refused', fields);
    }
    return { originalName, error: appError };
  } finally {
    turn.done();
  }
}

/**
 * Feeds the request body into busboy with backpressure until the body ends or
 * `aborted()` says to stop. On a stop the rest of the body is deliberately
 * left unread (never cancelled: cancelling the body destroys the socket before
 * the error response is written); the answer says `Connection: close`
 * (closing-response.ts) and @hono/node-server drains the body for at most
 * 500 ms, then closes the connection.
 */
async function pump(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  parser: busboy.Busboy,
  idleMs: number,
  aborted: () => boolean,
  received: (bytes: number) => void,
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
    received(value.byteLength);
    if (aborted()) return;
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
  const overheadLimit = BODY_LIMITS.multipartOverhead;
  const declared = declaredLength(request);
  if (declared !== undefined && declared > MAX_FILES_PER_UPLOAD * ctx.maxBytes + overheadLimit) {
    throw payloadTooLarge(MAX_FILES_PER_UPLOAD * ctx.maxBytes + overheadLimit, 'the upload');
  }
  const parser = createParser(contentType, ctx.maxBytes);
  const outcomes: Promise<FileOutcome>[] = [];
  const nextTurn = recordTurns();
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
  // Body bytes read, and the part of them that was the content of `file` parts: the
  // difference (headers, fields, other parts, preamble, epilogue — all of which busboy
  // would otherwise read and discard without end) is bounded by the overhead limit.
  let received = 0;
  let fileBytes = 0;
  const hooks: StoreHooks = {
    counted: (bytes) => {
      fileBytes += bytes;
    },
    storageFailed: (error) => abort(error),
  };
  const onReceived = (bytes: number) => {
    received += bytes;
    if (received - fileBytes > overheadLimit) {
      abort(payloadTooLarge(overheadLimit, 'the multipart content outside "file" parts'));
    }
  };
  parser.on('file', (name, stream, info) => {
    // After a refusal the parser is destroyed only once busboy's current write returns
    // (abort), and a file later in the same chunk still arrives here: discarded, not stored.
    if (name !== 'file' || abortError) {
      // Ignored, but bounded (onReceived counts it) and never an unhandled 'error':
      // busboy destroys it with "Unexpected end of form" when the body is cut short.
      stream.on('error', (error: unknown) => {
        ctx.logger.debug('ignored part ended with an error', {
          part: name,
          error: coerceError(error),
        });
      });
      stream.resume();
      return;
    }
    stream.once('limit', () => abort(tooLarge(ctx.maxBytes)));
    outcomes.push(storeOne(stream, info.filename, ctx, hooks, nextTurn()));
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
    await pump(
      reader,
      parser,
      ctx.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS,
      () => !!abortError,
      onReceived,
    );
  } catch (error) {
    const e = coerceError(error, 'VALIDATION_FAILED');
    // The client's silence or departure ends the request; anything else is a malformed body.
    if (e.code === 'REQUEST_TIMEOUT' || e.code === 'CLIENT_CLOSED_REQUEST') abort(e);
    else if (!abortError) parseError = e;
    if (!parser.destroyed) parser.destroy(abortError ?? e);
  }
  const settled = await Promise.all(outcomes);
  const answer = settleOutcomes(settled, abortError, parseError);
  // Thrown, it is logged by the app's error handler; answered with the files before it, here.
  if (abortError?.code === 'CLIENT_CLOSED_REQUEST') logClientClosed(ctx.logger, abortError);
  return answer;
}

/** The multipart parser for one upload, within the per-request limits. */
function createParser(contentType: string, maxBytes: number): busboy.Busboy {
  try {
    return busboy({
      headers: { 'content-type': contentType },
      defParamCharset: 'utf8',
      limits: {
        // busboy emits 'limit' when a file's count *reaches* fileSize, so `maxBytes` would
        // refuse a file of exactly MAX_UPLOAD_BYTES, which the resumable path and the
        // processor take: one more byte makes 'limit' mean "over the limit".
        fileSize: maxBytes + 1,
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
}

/**
 * The request's answer from its files' outcomes and the request-level error,
 * if any: files completed before a failure are reported with it (202,
 * per-file results), never hidden behind an error status.
 */
function settleOutcomes(
  settled: FileOutcome[],
  abortError: AppError | undefined,
  parseError: AppError | undefined,
): FileOutcome[] {
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
