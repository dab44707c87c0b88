/**
 * One `file` part of a multipart upload into the object store: its first
 * 256 KiB kept for `probeHeader` (refused types never reach storage), the
 * rest streamed through a sha256 hasher into `originals/<id>` with
 * backpressure, then recorded in the order the parts arrived; an over-limit,
 * refused or aborted file leaves nothing behind (receive-upload.ts drives it).
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { DEFAULT_PRESET, HEAD_BYTES, probeHeader } from '@slideshow/imaging/header';
import { AppError, coerceError, type Logger } from '@slideshow/runtime';
import { logFailure, statusFor, toAppError } from '../http-errors.ts';
import { newImageId } from '../ids.ts';
import { originalKey } from '../keys.ts';
import { type AcceptedOriginal, acceptedImage } from './accepted-image.ts';
import type { FileOutcome, ReceiveContext } from './receive-upload.ts';
import { sanitizeName } from './sanitize-name.ts';

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

export function tooLarge(maxBytes: number): AppError {
  return new AppError('PAYLOAD_TOO_LARGE', `file is larger than the limit of ${maxBytes} bytes`, {
    context: { maxBytes },
  });
}

/** Called by {@link storeOne} while the request is being read. */
export interface StoreHooks {
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
export function recordTurns(): () => RecordTurn {
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
 * existing image as a duplicate. Either line names the image that exists
 * (`imageId`): the new one, or the one the file repeats.
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
    log.info('duplicate upload', { imageId: row.id, bytes });
  } else {
    log.info('image accepted', { imageId: row.id, bytes, format: probe.format });
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

export async function storeOne(
  file: Readable,
  filename: string | undefined,
  ctx: ReceiveContext,
  hooks: StoreHooks,
  turn: RecordTurn,
): Promise<FileOutcome> {
  const originalName = sanitizeName(multipartFilename(filename));
  const id = newImageId();
  const key = originalKey(id);
  // Not `imageId`: until the file is accepted, `id` names no image (and a refused one never
  // will); the request's lines carry its request id, and this file's its name.
  const log = ctx.logger.child({ fileName: originalName });
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
