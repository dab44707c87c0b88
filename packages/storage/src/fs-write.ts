/**
 * The filesystem store's writes (fs.ts assembles them): an atomic `put` —
 * temp file under `<root>/.objectstore/tmp`, fsync, rename over the target,
 * fsync of the parent folder — and the sweep of temp files a crash left.
 */
// node:crypto is taken when first needed, not imported: an ESM import of it builds its whole
// facade, which the processor would pay on its start-up path (apps/processor/README.md).
import { createWriteStream } from 'node:fs';
import { readdir, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AppError, coerceError } from '@slideshow/runtime';
import type { FsStoreContext } from './fs-context.ts';
import {
  ensureDirInside,
  fsyncDir,
  hasCode,
  keyToPath,
  mapFsError,
  RESERVED_DIR,
  unlinkIfPresent,
} from './fs-paths.ts';
import { serializeSidecar } from './fs-sidecar.ts';
import { isNoSpaceErrno, type ObjectInfo, type PutOptions } from './object-store.ts';
import { guardSource, sourceErrorOf } from './put-source.ts';

/**
 * How often a put makes its folder again. A concurrent delete removes a folder it emptied
 * (as GCS has no folders), and that can land between our mkdir and rename; each such miss
 * means a delete removed the last object of the folder, so the misses are as many as the
 * deletes in flight, not endless. Three was too few: in fs-put-delete-race.test.ts (four puts
 * racing two deletes of their folder, 60 rounds) one attempt fails every run, two fail some
 * runs, and three failed once in a CI run on a loaded machine (2026-12-06); the bound only
 * stops a pathological livelock.
 */
const RENAME_ATTEMPTS = 32;

/** The write half of the filesystem store. */
export interface FsWriter {
  /** Writes `body` atomically to `key` (ObjectStore.put). */
  put(key: string, body: Readable | Buffer, putOptions: PutOptions): Promise<ObjectInfo>;
  /** Removes temp files older than `olderThanMs` (default: the store's stale age); returns how many. */
  sweepTempFiles(olderThanMs?: number): Promise<number>;
}

/** Builds the writes of the store described by `ctx`; the first put sweeps stale temp files. */
export function createFsWriter(ctx: FsStoreContext, options: { staleTempAgeMs: number }): FsWriter {
  const { root, tmpDir, realRoot, metaPathFor } = ctx;
  let sweptOnce = false;

  async function sweepTempFiles(olderThanMs: number = options.staleTempAgeMs): Promise<number> {
    let names: string[];
    try {
      names = await readdir(tmpDir);
    } catch (error) {
      if (hasCode(error, 'ENOENT')) return 0;
      throw mapFsError(error, RESERVED_DIR, 'sweep');
    }
    const cutoff = Date.now() - olderThanMs;
    let removed = 0;
    for (const name of names) {
      const file = path.join(tmpDir, name);
      try {
        const stats = await stat(file);
        if (stats.mtimeMs <= cutoff && (await unlinkIfPresent(file))) removed++;
      } catch (error) {
        if (!hasCode(error, 'ENOENT')) throw mapFsError(error, RESERVED_DIR, 'sweep');
      }
    }
    return removed;
  }

  async function put(
    key: string,
    body: Readable | Buffer,
    putOptions: PutOptions,
  ): Promise<ObjectInfo> {
    const target = keyToPath(root, key);
    const signal = putOptions.signal;
    const id = process.getBuiltinModule('node:crypto').randomUUID();
    const tempData = path.join(tmpDir, `${id}.data`);
    const tempMeta = path.join(tmpDir, `${id}.meta`);
    try {
      signal?.throwIfAborted();
      const rootReal = await realRoot(true).catch((error: unknown) => {
        const errno = (error as { code?: unknown }).code;
        throw new AppError(
          isNoSpaceErrno(errno) ? 'STORAGE_FULL' : 'STORAGE_UNAVAILABLE',
          `Cannot prepare the store folder ${root}: ${coerceError(error).message}`,
          {
            retryable: true,
            cause: error,
            context: { key, root, ...(typeof errno === 'string' ? { errno } : {}) },
          },
        );
      });
      if (!sweptOnce) {
        sweptOnce = true;
        await sweepTempFiles();
      }
      await writeTemp(tempData, body, signal);
      await writeFile(tempMeta, serializeSidecar(putOptions), { flag: 'wx', flush: true });
      signal?.throwIfAborted();
      // What this put wrote, read before the renames: once the bytes are in place the put has
      // succeeded, and a delete landing right after it (an image deleted while its variants
      // are written) must not turn it into a failure — a GCS insert answers with the object
      // it created whatever happens next.
      const written = await stat(tempData);
      // Sidecar first: a crash between the two renames leaves an orphan sidecar, which is
      // invisible (objects are found by their data file), rather than bytes without a type.
      const metaTarget = metaPathFor(key);
      // Check (and create) the data folder first, so a refused key leaves no orphan sidecar.
      await ensureDir(root, path.dirname(target), key, rootReal);
      await moveIntoPlace(root, tempMeta, metaTarget, key, rootReal);
      await moveIntoPlace(root, tempData, target, key, rootReal);
      await fsyncDirAfterRename(path.dirname(target));
      await fsyncDirAfterRename(path.dirname(metaTarget));
      const info: ObjectInfo = {
        key,
        bytes: written.size,
        contentType: putOptions.contentType,
        updated: written.mtime,
      };
      if (putOptions.cacheControl !== undefined) info.cacheControl = putOptions.cacheControl;
      return info;
    } catch (error) {
      await Promise.allSettled([unlinkIfPresent(tempData), unlinkIfPresent(tempMeta)]);
      if (!Buffer.isBuffer(body)) body.destroy();
      if (signal?.aborted) throw coerceError(signal.reason);
      throw sourceErrorOf(error) ?? mapFsError(error, key, 'put');
    }
  }

  return { put, sweepTempFiles };
}

/** Writes `body` to a new temp file, fsynced before close. */
async function writeTemp(
  tempFile: string,
  body: Readable | Buffer,
  signal: AbortSignal | undefined,
): Promise<void> {
  if (Buffer.isBuffer(body)) {
    await writeFile(tempFile, body, { flag: 'wx', flush: true, ...(signal ? { signal } : {}) });
    return;
  }
  // `flush: true` fsyncs before close, so the rename never exposes unwritten blocks.
  await pipeline(
    guardSource(body),
    createWriteStream(tempFile, { flags: 'wx', flush: true }),
    signal ? { signal } : {},
  );
}

/**
 * Creates `dir` inside the root; again when a concurrent delete removes a
 * folder this just made before its real path is checked (ENOENT).
 */
async function ensureDir(root: string, dir: string, key: string, rootReal: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await ensureDirInside(root, rootReal, dir, key);
      return;
    } catch (error) {
      if (!hasCode(error, 'ENOENT') || attempt >= RENAME_ATTEMPTS) throw error;
    }
  }
}

async function moveIntoPlace(
  root: string,
  tempFile: string,
  target: string,
  key: string,
  rootReal: string,
): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    await ensureDir(root, path.dirname(target), key, rootReal);
    try {
      await rename(tempFile, target);
      return;
    } catch (error) {
      if (!hasCode(error, 'ENOENT') || attempt >= RENAME_ATTEMPTS) throw error;
    }
  }
}

/**
 * fsyncs the folder a rename went into. A folder already gone was removed
 * by a delete that came after the rename: nothing of this put is left to
 * make durable, and the put itself has succeeded.
 */
async function fsyncDirAfterRename(dir: string): Promise<void> {
  try {
    await fsyncDir(dir);
  } catch (error) {
    if (!hasCode(error, 'ENOENT')) throw error;
  }
}
