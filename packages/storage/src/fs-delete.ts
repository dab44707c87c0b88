/**
 * The filesystem store's deletes (fs.ts assembles them). GCS has no folders,
 * so folders a delete empties are removed too, keeping both adapters'
 * listings alike.
 */
import { lstat } from 'node:fs/promises';
import path from 'node:path';
import type { FsStoreContext } from './fs-context.ts';
import {
  assertRealPathInside,
  hasCode,
  keyToPath,
  mapFsError,
  removeEmptyParents,
  unlinkIfPresent,
} from './fs-paths.ts';
import type { ObjectStore } from './object-store.ts';

/** ObjectStore's delete and deletePrefix for the filesystem store. */
export type FsDeleter = Pick<ObjectStore, 'delete' | 'deletePrefix'>;

/** Builds the deletes of the store described by `ctx`; `list` finds the keys under a prefix. */
export function createFsDeleter(ctx: FsStoreContext, list: ObjectStore['list']): FsDeleter {
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
    return count;
  }

  return { delete: deleteKey, deletePrefix };
}
