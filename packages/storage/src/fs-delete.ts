/**
 * The filesystem store's deletes (fs.ts assembles them). GCS has no folders,
 * so folders a delete empties are removed too, keeping both adapters'
 * listings alike. A folder prefix (`…/`) also removes the empty folders left
 * under it by a delete that was cut short (a crash between a file's unlink and
 * its folder's removal), which no listing shows: repeating the delete, as the
 * backend's deferred deletions do after a restart, completes it.
 */
import type { Dirent } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';
import { AppError } from '@slideshow/runtime';
import type { FsStoreContext } from './fs-context.ts';
import {
  assertRealPathInside,
  hasCode,
  keyToPath,
  mapFsError,
  removeEmptyParents,
  removeIfEmptyFolder,
  unlinkIfPresent,
} from './fs-paths.ts';
import type { ObjectReader, ObjectWriter } from './object-store.ts';

/** ObjectStore's delete and deletePrefix for the filesystem store. */
export type FsDeleter = Pick<ObjectWriter, 'delete' | 'deletePrefix'>;

/** Builds the deletes of the store described by `ctx`; `list` finds the keys under a prefix. */
export function createFsDeleter(ctx: FsStoreContext, list: ObjectReader['list']): FsDeleter {
  const { root, metaDir, realRoot, metaPathFor } = ctx;

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
    const folder = prefix.endsWith('/') ? prefix.slice(0, -1) : '';
    const dir = folder === '' ? undefined : folderPath(folder);
    if (dir !== undefined) {
      for (const [at, stopAt] of [
        [dir, root],
        [metaPathFor(folder), metaDir],
      ] as const) {
        if (await isFolderInside(at, prefix)) await removeEmptyFolders(at, stopAt);
      }
    }
    return count;
  }

  /** Whether `dir` exists and its real path is inside the store (VALIDATION_FAILED through a symlink out). */
  async function isFolderInside(dir: string, prefix: string): Promise<boolean> {
    try {
      await assertRealPathInside(await realRoot(false), dir, prefix);
      return true;
    } catch (error) {
      if (hasCode(error, 'ENOENT', 'ENOTDIR')) return false;
      throw error;
    }
  }

  /** The folder of a prefix's key, or undefined for one no key can name (`a//`, the store's own). */
  function folderPath(folder: string): string | undefined {
    try {
      return keyToPath(root, folder);
    } catch (error) {
      if (error instanceof AppError && error.code === 'VALIDATION_FAILED') return undefined;
      throw error;
    }
  }

  return { delete: deleteKey, deletePrefix };
}

/** Removes `dir` and every folder under it that holds no file (deepest first), then its emptied parents up to `stopAt`. */
async function removeEmptyFolders(dir: string, stopAt: string): Promise<void> {
  // removeEmptyParents starts at the folder holding its argument: here dir's parent.
  if (await removeEmptyTree(dir)) await removeEmptyParents(dir, stopAt);
}

/**
 * Removes the folders under `dir` that hold no file, deepest first, then
 * `dir` itself; true when `dir` is gone. Only real folders are entered (a
 * symlink is never followed), and a folder a concurrent put has just filled
 * stays.
 */
async function removeEmptyTree(dir: string): Promise<boolean> {
  let entries: Dirent[];
  try {
    if (!(await lstat(dir)).isDirectory()) return false;
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    if (hasCode(error, 'ENOENT', 'ENOTDIR')) return false;
    throw error;
  }
  for (const entry of entries) {
    if (entry.isDirectory()) await removeEmptyTree(path.join(dir, entry.name));
  }
  return await removeIfEmptyFolder(dir);
}
