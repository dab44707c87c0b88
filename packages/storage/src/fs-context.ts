/**
 * What the filesystem store's parts share (fs.ts assembles them): the root and
 * bookkeeping folders, the cached real path of the root, and how an object's
 * sidecar and metadata are found. Read, write and delete (fs-read.ts,
 * fs-write.ts, fs-delete.ts) each take this one small object.
 */
import { lstat, mkdir, realpath } from 'node:fs/promises';
import path from 'node:path';
import { hasCode, RESERVED_DIR } from './fs-paths.ts';
import { DEFAULT_CONTENT_TYPE, readSidecar } from './fs-sidecar.ts';
import type { ObjectInfo } from './object-store.ts';

/** The state and lookups the filesystem store's read, write and delete parts share. */
export interface FsStoreContext {
  /** The absolute root folder. */
  readonly root: string;
  /** Where temp files are written before their rename (same filesystem as the root). */
  readonly tmpDir: string;
  /** Where the JSON sidecars (content type, cache control) live. */
  readonly metaDir: string;
  /** The root's real path; with `create`, the root and the bookkeeping folders are made first. */
  realRoot(create: boolean): Promise<string>;
  /** The sidecar file of `key`. */
  metaPathFor(key: string): string;
  /** Metadata for the regular file at `file`, or undefined when there is none. */
  infoAt(key: string, file: string): Promise<ObjectInfo | undefined>;
}

/** Builds the shared context for a store rooted at `rootOption`. Does no I/O. */
export function createFsStoreContext(rootOption: string): FsStoreContext {
  const root = path.resolve(rootOption);
  const reservedDir = path.join(root, RESERVED_DIR);
  const tmpDir = path.join(reservedDir, 'tmp');
  const metaDir = path.join(reservedDir, 'meta');
  let realRootCache: string | undefined;

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

  return { root, tmpDir, metaDir, realRoot, metaPathFor, infoAt };
}
