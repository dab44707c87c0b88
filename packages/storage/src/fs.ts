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
import { createFsStoreContext } from './fs-context.ts';
import { createFsDeleter } from './fs-delete.ts';
import { createFsReader } from './fs-read.ts';
import { createFsUploadSessions, type FsUploadSessions } from './fs-uploads.ts';
import { createFsWriter } from './fs-write.ts';

export type { ChunkAnswer, FsUploadSessions } from './fs-uploads.ts';

import type { ObjectStore } from './object-store.ts';

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

/**
 * Creates the filesystem ObjectStore rooted at `options.root`. Does no I/O until first used.
 * Reads, writes and deletes live in fs-read.ts, fs-write.ts and fs-delete.ts and share one
 * context (fs-context.ts).
 */
export function createFsObjectStore(options: FsObjectStoreOptions): FsObjectStore {
  const ctx = createFsStoreContext(options.root);
  const { put, sweepTempFiles } = createFsWriter(ctx, {
    staleTempAgeMs: options.staleTempAgeMs ?? 60 * 60 * 1000,
  });
  const { get, stat, list } = createFsReader(ctx);
  const { delete: deleteKey, deletePrefix } = createFsDeleter(ctx, list);
  const root = ctx.root;
  const store = {
    root,
    put,
    get,
    stat,
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
      store: { put, stat },
      sessionPath: options.uploadSessionPath,
    }),
  };
}
