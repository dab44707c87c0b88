/**
 * Ingest of objects already in the bucket (`POST /api/admin/ingest`): each
 * object is read once, hashed and its header probed; accepted objects become
 * images at batch priority (queue `ingest`). The object stays where it is and
 * is the image's source key. Keys under `variants/` are refused.
 */
import { DEFAULT_PRESET } from '@slideshow/imaging/header';
import { AppError, coerceError } from '@slideshow/runtime';
import { assertValidKey } from '@slideshow/storage';
import { newImageId } from '../ids.ts';
import { isUnderVariants } from '../keys.ts';
import { acceptedImage } from './accepted-image.ts';
import { readStoredImage } from './read-stored.ts';
import type { FileOutcome, ReceiveContext } from './receive-upload.ts';
import { sanitizeName } from './sanitize-name.ts';

/** Most objects one ingest request takes (a prefix listing stops there). */
export const MAX_INGEST_KEYS = 1000;

async function ingestOne(key: string, ctx: ReceiveContext): Promise<FileOutcome> {
  const originalName = sanitizeName(key);
  try {
    assertValidKey(key);
    if (isUnderVariants(key)) {
      throw new AppError('VALIDATION_FAILED', `refusing to ingest generated variant ${key}`);
    }
    const info = await ctx.store.stat(key);
    if (!info) throw new AppError('NOT_FOUND', `no object ${key}`, { context: { key } });
    const { bytes, sha256, probe } = await readStoredImage(ctx.store, key, ctx.maxBytes);
    const { row, duplicate } = ctx.lifecycle.accept(
      acceptedImage({
        id: newImageId(),
        originalName,
        key,
        bytes,
        sha256,
        probe,
        priority: 'batch',
        preset: ctx.preset ?? DEFAULT_PRESET,
        now: ctx.now(),
      }),
    );
    // As an upload's lines (store-file-part.ts): the image the object became, or repeats.
    ctx.logger.info(duplicate ? 'duplicate upload' : 'image accepted', {
      imageId: row.id,
      key,
      bytes,
      via: 'ingest',
    });
    return { originalName, id: row.id, status: row.status, duplicate };
  } catch (error) {
    const appError = coerceError(error);
    ctx.logger.info('ingest refused', { key, code: appError.code, reason: appError.message });
    return { originalName, error: appError };
  }
}

/** Ingests the given keys, or every object under `prefix` (at most {@link MAX_INGEST_KEYS}). */
export async function ingest(
  request: { keys?: string[]; prefix?: string },
  ctx: ReceiveContext,
): Promise<{ outcomes: FileOutcome[]; truncated: boolean }> {
  const keys = [...(request.keys ?? [])];
  let truncated = false;
  if (request.prefix !== undefined) {
    for await (const info of ctx.store.list(request.prefix)) {
      if (isUnderVariants(info.key)) continue;
      if (keys.length >= MAX_INGEST_KEYS) {
        truncated = true;
        break;
      }
      keys.push(info.key);
    }
  }
  const outcomes: FileOutcome[] = [];
  for (const key of keys.slice(0, MAX_INGEST_KEYS)) outcomes.push(await ingestOne(key, ctx));
  return { outcomes, truncated: truncated || keys.length > MAX_INGEST_KEYS };
}
