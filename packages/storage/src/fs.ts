/**
 * The filesystem adapter of the ObjectStore port: the local default. Object
 * `a/b.webp` is the plain file `<root>/a/b.webp`, so the folder stays readable
 * with ordinary tools and a folder of photos can be ingested as it is.
 *
 * Writes are atomic: bytes go to a temp file under `<root>/.objectstore/tmp`
 * (the same filesystem as the target, which is what rename(2) needs to be
 * atomic), are fsynced, then renamed over the target; the parent folder is
 * fsynced so the rename survives a crash. Content type and cache control live
 * in a JSON sidecar under `<root>/.objectstore/meta/<key>`.
 */
import { randomUUID } from 'node:crypto';
import { constants, createWriteStream } from 'node:fs';
import { lstat, mkdir, open, readdir, realpath, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AppError, coerceError } from '@slideshow/runtime';
import {
  assertRealPathInside,
  ensureDirInside,
  fsyncDir,
  hasCode,
  keyToPath,
  mapFsError,
  RESERVED_DIR,
  removeEmptyParents,
  unlinkIfPresent,
} from './fs-paths.ts';
import { DEFAULT_CONTENT_TYPE, readSidecar, serializeSidecar } from './fs-sidecar.ts';
import { createFsUploadSessions, type FsUploadSessions } from './fs-uploads.ts';

export type { ChunkAnswer, FsUploadSessions } from './fs-uploads.ts';

import {
  assertValidPrefix,
  assertValidRange,
  type GetOptions,
  isValidKey,
  type ObjectInfo,
  type ObjectStore,
  type PutOptions,
} from './object-store.ts';
import { guardSource, sourceErrorOf } from './put-source.ts';

/** Options for {@link createFsObjectStore}. */
export interface FsObjectStoreOptions {
  /** The folder that holds the objects; created on first write. */
  root: string;
  /** Temp files older than this are crash leftovers and are removed on the first write (default 1 hour). */
  staleTempAgeMs?: number;
  /**
   * The URL path under which the app serves resumable upload sessions (e.g.
   * `/api/upload-sessions/`); with it the store offers `uploads` (fs-uploads.ts).
   */
  uploadSessionPath?: string;
}

/** The filesystem store: the port plus housekeeping only this adapter needs. */
export interface FsObjectStore extends ObjectStore {
  /** The absolute root folder. */
  readonly root: string;
  /** Removes temp files older than `olderThanMs` (left by a crash mid-write); returns how many. */
  sweepTempFiles(olderThanMs?: number): Promise<number>;
  /** Resumable upload sessions served by the app at `uploadSessionPath` (when that option is given). */
  readonly uploads?: FsUploadSessions;
}

/** A concurrent delete may remove an empty parent folder between our mkdir and rename. */
const RENAME_ATTEMPTS = 3;

/** Creates the filesystem ObjectStore rooted at `options.root`. Does no I/O until first used. */
export function createFsObjectStore(options: FsObjectStoreOptions): FsObjectStore {
  const root = path.resolve(options.root);
  const reservedDir = path.join(root, RESERVED_DIR);
  const tmpDir = path.join(reservedDir, 'tmp');
  const metaDir = path.join(reservedDir, 'meta');
  const staleTempAgeMs = options.staleTempAgeMs ?? 60 * 60 * 1000;
  let realRootCache: string | undefined;
  let sweptOnce = false;

  /** The root's real path; with `create`, the root and the bookkeeping folders are made first. */
  async function realRoot(create: boolean): Promise<string> {
    if (realRootCache !== undefined) return realRootCache;
    if (!create) return realpath(root);
    await mkdir(tmpDir, { recursive: true });
    await mkdir(metaDir, { recursive: true });
    realRootCache = await realpath(root);
    return realRootCache;
  }

  function metaPathFor(key: string): string {
    return path.join(metaDir, ...key.split('/'));
  }

  /** Metadata for the regular file at `file`, or undefined when there is none. */
  async function infoAt(key: string, file: string): Promise<ObjectInfo | undefined> {
    let stats: Awaited<ReturnType<typeof lstat>>;
    try {
      stats = await lstat(file);
    } catch (error) {
      if (hasCode(error, 'ENOENT', 'ENOTDIR')) return undefined;
      throw error;
    }
    // Symlinks are never followed (they could point anywhere); folders are not objects.
    if (!stats.isFile()) return undefined;
    const sidecar = await readSidecar(metaPathFor(key));
    const info: ObjectInfo = {
      key,
      bytes: stats.size,
      contentType: sidecar?.contentType ?? DEFAULT_CONTENT_TYPE,
      updated: stats.mtime,
    };
    if (sidecar?.cacheControl !== undefined) info.cacheControl = sidecar.cacheControl;
    return info;
  }

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
  async function ensureDir(dir: string, key: string, rootReal: string): Promise<void> {
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
    tempFile: string,
    target: string,
    key: string,
    rootReal: string,
  ): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      await ensureDir(path.dirname(target), key, rootReal);
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

  async function sweepTempFiles(olderThanMs: number = staleTempAgeMs): Promise<number> {
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
    const id = randomUUID();
    const tempData = path.join(tmpDir, `${id}.data`);
    const tempMeta = path.join(tmpDir, `${id}.meta`);
    try {
      signal?.throwIfAborted();
      const rootReal = await realRoot(true).catch((error: unknown) => {
        throw new AppError(
          'STORAGE_UNAVAILABLE',
          `Cannot prepare the store folder ${root}: ${coerceError(error).message}`,
          {
            retryable: true,
            cause: error,
            context: { key, root },
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
      await ensureDir(path.dirname(target), key, rootReal);
      await moveIntoPlace(tempMeta, metaTarget, key, rootReal);
      await moveIntoPlace(tempData, target, key, rootReal);
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

  async function get(key: string, range?: GetOptions): Promise<Readable> {
    const file = keyToPath(root, key);
    assertValidRange(key, range);
    try {
      await assertRealPathInside(await realRoot(false), path.dirname(file), key);
      // O_NOFOLLOW: the object itself must not be a symlink either.
      const handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW);
      try {
        const stats = await handle.stat();
        if (!stats.isFile())
          throw new AppError('NOT_FOUND', `No object at ${JSON.stringify(key)}`, {
            context: { key },
          });
        if (range?.start !== undefined && range.start > 0 && range.start >= stats.size) {
          throw new AppError(
            'VALIDATION_FAILED',
            `Range start ${range.start} is beyond the end of ${JSON.stringify(key)} (${stats.size} bytes)`,
            {
              context: { key },
            },
          );
        }
      } catch (error) {
        await handle.close();
        throw error;
      }
      // The stream owns the handle from here and closes it at end, error or destroy.
      return handle.createReadStream({ start: range?.start, end: range?.end, autoClose: true });
    } catch (error) {
      throw mapFsError(error, key, 'get');
    }
  }

  async function statKey(key: string): Promise<ObjectInfo | undefined> {
    const file = keyToPath(root, key);
    try {
      await assertRealPathInside(await realRoot(false), path.dirname(file), key);
      return await infoAt(key, file);
    } catch (error) {
      if (hasCode(error, 'ENOENT', 'ENOTDIR')) return undefined;
      throw mapFsError(error, key, 'stat');
    }
  }

  async function* walk(
    dir: string,
    dirKey: string,
    namePrefix: string,
  ): AsyncGenerator<ObjectInfo> {
    let entries: Awaited<ReturnType<typeof readdirEntries>>;
    try {
      entries = await readdirEntries(dir);
    } catch (error) {
      if (hasCode(error, 'ENOENT', 'ENOTDIR')) return;
      throw mapFsError(error, dirKey, 'list');
    }
    const candidates = entries
      .filter((entry) => entry.name.startsWith(namePrefix))
      .filter((entry) => !(dirKey === '' && entry.name === RESERVED_DIR))
      // Symlinks are skipped, not followed: they could lead outside the root or into a loop.
      .filter((entry) => entry.isFile() || entry.isDirectory())
      // Sorting "name/" for folders yields the keys in plain string order, as GCS lists them.
      .map((entry) => ({ entry, sortKey: entry.isDirectory() ? `${entry.name}/` : entry.name }))
      .sort((a, b) => (a.sortKey < b.sortKey ? -1 : a.sortKey > b.sortKey ? 1 : 0));
    for (const { entry } of candidates) {
      const key = dirKey === '' ? entry.name : `${dirKey}/${entry.name}`;
      const abs = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        yield* walk(abs, key, '');
        continue;
      }
      if (!isValidKey(key)) continue;
      try {
        const info = await infoAt(key, abs);
        if (info) yield info;
      } catch (error) {
        throw mapFsError(error, key, 'list');
      }
    }
  }

  async function* list(prefix: string): AsyncGenerator<ObjectInfo> {
    assertValidPrefix(prefix);
    const slash = prefix.lastIndexOf('/');
    const dirKey = slash >= 0 ? prefix.slice(0, slash) : '';
    const dir = dirKey === '' ? root : keyToPath(root, dirKey);
    try {
      await assertRealPathInside(await realRoot(false), dir, prefix);
    } catch (error) {
      if (hasCode(error, 'ENOENT', 'ENOTDIR')) return;
      throw mapFsError(error, prefix, 'list');
    }
    yield* walk(dir, dirKey, prefix.slice(slash + 1));
  }

  async function deleteKey(key: string): Promise<void> {
    const file = keyToPath(root, key);
    try {
      await assertRealPathInside(await realRoot(false), path.dirname(file), key);
      const stats = await lstat(file);
      if (stats.isDirectory()) return; // "a" when only "a/b" exists: no object named "a".
      await unlinkIfPresent(file);
      const metaFile = metaPathFor(key);
      await unlinkIfPresent(metaFile).catch((error: unknown) => {
        if (!hasCode(error, 'ENOTDIR', 'EISDIR')) throw error;
      });
      // GCS has no folders; removing emptied ones keeps the two adapters' listings alike.
      await removeEmptyParents(file, root);
      await removeEmptyParents(metaFile, metaDir);
    } catch (error) {
      if (hasCode(error, 'ENOENT', 'ENOTDIR')) return;
      throw mapFsError(error, key, 'delete');
    }
  }

  async function deletePrefix(prefix: string): Promise<number> {
    let count = 0;
    for await (const info of list(prefix)) {
      await deleteKey(info.key);
      count++;
    }
    return count;
  }

  const store = {
    root,
    put,
    get,
    stat: statKey,
    list,
    delete: deleteKey,
    deletePrefix,
    sweepTempFiles,
  };
  if (options.uploadSessionPath === undefined) return store;
  return {
    ...store,
    uploads: createFsUploadSessions({
      root,
      store: { put, stat: statKey },
      sessionPath: options.uploadSessionPath,
    }),
  };
}

function readdirEntries(dir: string) {
  return readdir(dir, { withFileTypes: true });
}
