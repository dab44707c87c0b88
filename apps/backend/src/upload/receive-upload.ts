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
 * One file part's way into storage is store-file-part.ts.
 */
import { finished } from 'node:stream/promises';
import type { ImageStatus } from '@slideshow/contracts';
import { AppError, coerceError, type Logger } from '@slideshow/runtime';
import type { ObjectStore } from '@slideshow/storage';
import busboy from 'busboy';
import { logClientClosed } from '../http-errors.ts';
import type { Lifecycle } from '../lifecycle.ts';
import {
  BODY_LIMITS,
  DEFAULT_IDLE_TIMEOUT_MS,
  declaredLength,
  payloadTooLarge,
  readWithin,
} from '../request-body.ts';
import { recordTurns, type StoreHooks, storeOne, tooLarge } from './store-file-part.ts';

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
