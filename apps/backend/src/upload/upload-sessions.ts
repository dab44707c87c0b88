/**
 * Uploads of any size through resumable sessions (docs/operations.md,
 * "Uploads"): Cloud Run refuses HTTP/1 requests over 32 MiB and cuts requests
 * at its request timeout, so a large file goes from the browser straight to
 * the store, in chunks, through a session the backend opens, and becomes an
 * image only once the backend has checked the stored object.
 *
 * 1. `open`: a new image id and key `originals/<id>`, recorded in
 *    `pending_originals` before the session exists; the store opens a session
 *    for exactly `size` bytes that can only create that key; the session row
 *    (`upload_sessions`) expires after `ttlMs`.
 * 2. The browser sends the bytes to the session URL (Cloud Storage, or the
 *    backend's own route locally), resuming after a network drop. The expiry
 *    slides while bytes arrive ({@link renewIfReceiving}); a session past it
 *    is gone (404) even before the sweeper deletes it.
 * 3. `complete`: the stored object must have exactly the declared size; it is
 *    read once like a streamed upload — magic-byte sniff, header probe, size
 *    limit, sha256 for duplicates — and becomes an image (same answer as
 *    `POST /api/admin/upload`), or is deleted with its refusal. What it became
 *    is kept until the session's expiry (`upload_session_outcomes`), so a
 *    `complete` sent again after a lost answer gets the same answer.
 * 4. `cancel` (or expiry, through the orphan sweeper): the session is
 *    cancelled and whatever it stored deleted.
 */
import type { UploadSessionStatusAnswer } from '@slideshow/contracts';
import { AppError, coerceError, type Logger } from '@slideshow/runtime';
import type { ObjectStore, ResumableUploads } from '@slideshow/storage';
import type { Db } from '../db/open-database.ts';
import type { UploadSessionRow } from '../db/upload-sessions-repository.ts';
import { statusFor } from '../http-errors.ts';
import { newImageId } from '../ids.ts';
import { originalKey } from '../keys.ts';
import type { Lifecycle, Repositories } from '../lifecycle.ts';
import { acceptedImage } from './accepted-image.ts';
import { readStoredImage } from './read-stored.ts';
import type { FileOutcome } from './receive-upload.ts';
import { sanitizeName } from './sanitize-name.ts';

/** Session defaults in one place. */
export const UPLOAD_SESSION_DEFAULTS = {
  /**
   * How long a session lives without receiving a byte (as the backend sees it) before the
   * sweeper cancels it and deletes what it stored.
   */
  ttlMs: 24 * 3600_000,
  /**
   * The longest a session lives however busy it stays: a Cloud Storage session URI expires a
   * week after it was created (https://cloud.google.com/storage/docs/resumable-uploads), and
   * the store then refuses its bytes anyway (the folder store keeps the same week).
   */
  maxLifetimeMs: 7 * 24 * 3600_000,
  /** A verification keeps its session at least this long (a crash mid-check is swept after it). */
  verifyGraceMs: 3600_000,
  /** Chunk size for a Cloud Storage session: Google's recommended minimum (8 MiB, a 256 KiB multiple). */
  directChunkBytes: 8 * 1024 * 1024,
} as const;

/** What the upload-session operations need. */
export interface UploadSessionContext {
  db: Db;
  repos: Repositories;
  lifecycle: Lifecycle;
  store: ObjectStore;
  logger: Logger;
  maxBytes: number;
  ttlMs: number;
  /** The preset new images get (the backend's current preset). */
  preset: string;
  now: () => number;
}

/** What `open` answers: where to send the bytes, and in what chunks. */
export interface OpenedSession {
  id: string;
  sessionUrl: string;
  chunkBytes: number;
  size: number;
  expiresAt: string;
}

function uploadsOf(store: ObjectStore): ResumableUploads {
  if (!store.uploads) {
    throw new AppError('INTERNAL', 'this object store offers no resumable upload sessions');
  }
  return store.uploads;
}

/** Opens a session for one file of `size` bytes. */
export async function openUploadSession(
  request: { name: string; size: number; origin: string | undefined; chunkBytes: number },
  ctx: UploadSessionContext,
): Promise<OpenedSession> {
  if (request.size === 0) throw new AppError('EMPTY_FILE', 'the file is empty');
  if (request.size > ctx.maxBytes) {
    throw new AppError(
      'PAYLOAD_TOO_LARGE',
      `file is larger than the limit of ${ctx.maxBytes} bytes`,
      { context: { maxBytes: ctx.maxBytes } },
    );
  }
  const uploads = uploadsOf(ctx.store);
  const id = newImageId();
  const key = originalKey(id);
  // Reserved before the session exists: whatever it ever stores is provably ours to delete.
  ctx.lifecycle.reserveOriginal(key);
  let url: string;
  try {
    // The stored type is decided by the sniff at `complete`; until then the bytes are opaque.
    ({ url } = await uploads.openUpload(key, {
      contentType: 'application/octet-stream',
      size: request.size,
      ...(request.origin ? { origin: request.origin } : {}),
    }));
  } catch (error) {
    ctx.lifecycle.releaseOriginal(key);
    throw error;
  }
  const now = ctx.now();
  const expiresAt = now + ctx.ttlMs;
  const originalName = sanitizeName(request.name);
  ctx.repos.uploadSessions.add({
    id,
    key,
    session_url: url,
    original_name: originalName,
    bytes: request.size,
    created_at: now,
    expires_at: expiresAt,
  });
  // Not `imageId`: the id becomes an image's only if `complete` accepts the object. Not
  // `sessionId` either: the logger redacts every field named like a session (a cookie's).
  ctx.logger.info('upload session opened', {
    resumableUploadId: id,
    fileName: originalName,
    bytes: request.size,
  });
  return {
    id,
    sessionUrl: url,
    chunkBytes: request.chunkBytes,
    size: request.size,
    expiresAt: new Date(expiresAt).toISOString(),
  };
}

function mustSession(ctx: UploadSessionContext, id: string): UploadSessionRow {
  const row = ctx.repos.uploadSessions.get(id, ctx.now());
  if (!row) throw new AppError('NOT_FOUND', `no upload session ${id}`);
  return row;
}

/** What moving a session's expiry needs. */
export interface SessionRenewal {
  sessions: Pick<Repositories['uploadSessions'], 'progressed'>;
  uploads: ResumableUploads;
  ttlMs: number;
  now: () => number;
}

/**
 * The sliding expiry: the session holds `received` bytes, and when that is more than at the
 * last look its expiry moves to `ttlMs` from now, never past `maxLifetimeMs` after it opened.
 * True when it moved.
 */
function recordReceived(row: UploadSessionRow, received: number, renewal: SessionRenewal) {
  if (received <= row.received_bytes) return false;
  const now = renewal.now();
  const expiresAt = Math.min(
    now + renewal.ttlMs,
    row.created_at + UPLOAD_SESSION_DEFAULTS.maxLifetimeMs,
  );
  return renewal.sessions.progressed(row.id, received, expiresAt, now);
}

/**
 * Asks the store how much the session holds and slides its expiry when bytes arrived since the
 * last look. The chunks go to the store, not through the backend (to Cloud Storage in
 * production), so this look is how the backend learns an upload is still alive: at every
 * `GET` of the session, and at each sweep for the sessions close to their expiry
 * (orphan-sweeper.ts). True when the expiry moved.
 */
export async function renewIfReceiving(
  row: UploadSessionRow,
  renewal: SessionRenewal,
): Promise<boolean> {
  const status = await renewal.uploads.uploadStatus(row.session_url, row.bytes);
  return recordReceived(row, status.received, renewal);
}

/**
 * How many bytes the session holds (asked by the server: a browser may not read Cloud Storage's
 * `Range`), and its expiry as this look left it.
 */
export async function uploadSessionStatus(
  id: string,
  ctx: UploadSessionContext,
): Promise<UploadSessionStatusAnswer> {
  const row = mustSession(ctx, id);
  const uploads = uploadsOf(ctx.store);
  const status = await uploads.uploadStatus(row.session_url, row.bytes);
  const moved = recordReceived(row, status.received, {
    sessions: ctx.repos.uploadSessions,
    uploads,
    ttlMs: ctx.ttlMs,
    now: ctx.now,
  });
  // Read back when it moved: `progressed` never moves an expiry earlier than the row's.
  const expiresAt = moved
    ? (ctx.repos.uploadSessions.get(id, ctx.now())?.expires_at ?? row.expires_at)
    : row.expires_at;
  return {
    id,
    size: row.bytes,
    received: status.received,
    complete: status.complete,
    expiresAt: new Date(expiresAt).toISOString(),
  };
}

/** Cancels the session, deletes what it stored, forgets it. Throws only for storage failures. */
async function discard(row: UploadSessionRow, ctx: UploadSessionContext): Promise<void> {
  await uploadsOf(ctx.store).cancelUpload(row.session_url);
  if (!ctx.repos.images.usesSource(row.key)) await ctx.store.delete(row.key);
  ctx.db.transaction(() => {
    ctx.repos.uploadSessions.remove(row.id);
    ctx.repos.pendingOriginals.remove(row.key);
  })();
}

/** `DELETE`: cancels an open session (idempotent: an unknown id is already gone). */
export async function cancelUploadSession(
  id: string,
  ctx: UploadSessionContext,
): Promise<{ cancelled: boolean }> {
  const row = ctx.repos.uploadSessions.get(id, ctx.now());
  // Expired: gone for the client too; the sweeper cancels it and deletes what it stored.
  if (!row) return { cancelled: false };
  if (row.state === 'verifying') {
    throw new AppError('CONFLICT', `upload ${id} is being completed`);
  }
  await discard(row, ctx);
  ctx.logger.info('upload session cancelled', {
    resumableUploadId: id,
    fileName: row.original_name,
  });
  return { cancelled: true };
}

/** A refusal of the object itself (not of the store): the object goes. */
function refusesObject(error: AppError): boolean {
  const status = statusFor(error.code);
  return status >= 400 && status < 500 && error.code !== 'CONFLICT' && error.code !== 'NOT_FOUND';
}

/**
 * A repeated `complete` of a session that already became an image (the client lost the
 * answer): the same outcome, while the session's expiry has not passed and the image exists.
 */
function completedBefore(ctx: UploadSessionContext, id: string): FileOutcome {
  const done = ctx.repos.uploadSessions.outcome(id, ctx.now());
  if (!done) throw new AppError('NOT_FOUND', `no upload session ${id}`);
  if (!ctx.repos.images.get(done.image_id)) {
    throw new AppError('NOT_FOUND', `upload ${id} became image ${done.image_id}, since deleted`);
  }
  ctx.logger.info('upload session completed before; same answer', {
    resumableUploadId: id,
    imageId: done.image_id,
  });
  return {
    originalName: done.original_name,
    id: done.image_id,
    status: done.status,
    duplicate: done.duplicate,
  };
}

/**
 * Checks the stored object and turns it into an image (or a refusal); one outcome, like an
 * upload's. Idempotent: once complete, the same outcome is answered again (completedBefore).
 */
export async function completeUploadSession(
  id: string,
  ctx: UploadSessionContext,
): Promise<FileOutcome> {
  const row = ctx.repos.uploadSessions.get(id, ctx.now());
  if (!row) return completedBefore(ctx, id);
  if (!ctx.repos.uploadSessions.claim(id, ctx.now() + UPLOAD_SESSION_DEFAULTS.verifyGraceMs)) {
    throw new AppError('CONFLICT', `upload ${id} is already being completed`);
  }
  // The image id only once accepted (below): a refused object never becomes an image.
  const log = ctx.logger.child({ resumableUploadId: id, fileName: row.original_name });
  try {
    const status = await uploadsOf(ctx.store).uploadStatus(row.session_url, row.bytes);
    if (!status.complete) {
      throw new AppError(
        'CONFLICT',
        `the upload holds ${status.received} of ${row.bytes} bytes; send the rest first`,
        { context: { received: status.received, size: row.bytes } },
      );
    }
    const stored = await ctx.store.stat(row.key);
    if (!stored) throw new AppError('CONFLICT', `upload ${id} stored no object`);
    if (stored.bytes !== row.bytes) {
      throw new AppError(
        'VALIDATION_FAILED',
        `the stored object has ${stored.bytes} bytes, not the ${row.bytes} declared`,
      );
    }
    const { bytes, sha256, probe } = await readStoredImage(ctx.store, row.key, ctx.maxBytes);
    const { row: image, duplicate } = ctx.db.transaction(() => {
      const accepted = ctx.lifecycle.accept(
        acceptedImage({
          id,
          originalName: row.original_name,
          key: row.key,
          bytes,
          sha256,
          probe,
          priority: 'interactive',
          preset: ctx.preset,
          now: ctx.now(),
        }),
      );
      ctx.repos.uploadSessions.remove(id);
      // Kept for a repeated complete whose first answer was lost, until the session's expiry.
      ctx.repos.uploadSessions.recordOutcome(
        {
          id,
          image_id: accepted.row.id,
          status: accepted.row.status,
          duplicate: accepted.duplicate,
          original_name: row.original_name,
          expires_at: row.expires_at,
        },
        ctx.now(),
      );
      return accepted;
    })();
    if (duplicate) {
      await ctx.store.delete(row.key);
      ctx.lifecycle.releaseOriginal(row.key);
      log.info('duplicate upload', { imageId: image.id, bytes });
    } else {
      log.info('image accepted', {
        imageId: image.id,
        bytes,
        format: probe.format,
        via: 'upload session',
      });
    }
    // The session has done its work; a leftover server-side session is only bookkeeping.
    await uploadsOf(ctx.store)
      .cancelUpload(row.session_url)
      .catch((error: unknown) => {
        log.warn('could not close a finished upload session', { error: coerceError(error) });
      });
    return { originalName: row.original_name, id: image.id, status: image.status, duplicate };
  } catch (error) {
    const e = coerceError(error);
    if (refusesObject(e)) {
      await discard(row, ctx).catch((cleanupError: unknown) => {
        // The rows stay: the sweeper deletes the object once the session expires.
        ctx.repos.uploadSessions.reopen(id, row.expires_at);
        log.error('could not delete a refused upload; the orphan sweeper will', {
          error: coerceError(cleanupError),
        });
      });
      log.info('upload refused', { code: e.code, reason: e.message });
      return { originalName: row.original_name, error: e };
    }
    // Not finished, or the store failed: the client may send the rest, or try again, within the
    // expiry the session had (the claim's grace was for the check, not for the upload).
    ctx.repos.uploadSessions.reopen(id, row.expires_at);
    throw e;
  }
}
