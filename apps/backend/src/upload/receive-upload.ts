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
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
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
}

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
  return new Promise((resolve) => {
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
    const appError = coerceError(error);
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
  let overLimit: AppError | undefined;
  parser.on('file', (name, stream, info) => {
    if (name !== 'file') {
      stream.resume();
      return;
    }
    outcomes.push(storeOne(stream, info.filename, ctx));
  });
  parser.on('filesLimit', () => {
    overLimit = new AppError(
      'PAYLOAD_TOO_LARGE',
      `at most ${MAX_FILES_PER_UPLOAD} files per upload`,
    );
  });
  parser.on('partsLimit', () => {
    overLimit = new AppError('PAYLOAD_TOO_LARGE', 'too many parts in the multipart body');
  });
  let parseError: AppError | undefined;
  try {
    await pipeline(Readable.fromWeb(request.body as WebReadableStream<Uint8Array>), parser);
  } catch (error) {
    parseError = coerceError(error, 'VALIDATION_FAILED');
  }
  const settled = await Promise.all(outcomes);
  if (parseError) {
    throw new AppError('VALIDATION_FAILED', `malformed multipart body: ${parseError.message}`, {
      cause: parseError,
    });
  }
  if (overLimit) throw overLimit;
  if (settled.length === 0) {
    throw new AppError('VALIDATION_FAILED', 'expected at least one multipart part named "file"');
  }
  return settled;
}
