/**
 * The filesystem store's reads (fs.ts assembles them): `get` (optionally a
 * byte range), `stat` and `list` (whose walks are in fs-list.ts). Every path
 * is checked to stay inside the root's real path; symlinks are never followed.
 */
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { AppError } from '@slideshow/runtime';
import type { FsStoreContext } from './fs-context.ts';
import { listLevel, listTree } from './fs-list.ts';
import { assertRealPathInside, hasCode, keyToPath, mapFsError } from './fs-paths.ts';
import {
  assertValidListOptions,
  assertValidPrefix,
  assertValidRange,
  type FlatListOptions,
  type GetOptions,
  type ListEntry,
  type ListOptions,
  type ObjectInfo,
  type ObjectReader,
} from './object-store.ts';

/** The read half of the filesystem store (its {@link ObjectReader}: get, stat and list). */
export interface FsReader extends ObjectReader {
  /** ObjectReader.get. */
  get(key: string, range?: GetOptions): Promise<Readable>;
  /** ObjectReader.stat. */
  stat(key: string): Promise<ObjectInfo | undefined>;
  /** ObjectReader.list: keys in plain string order, as GCS lists them; from `startAfter`, a seek. */
  list(prefix: string, options?: FlatListOptions): AsyncGenerator<ObjectInfo>;
  /** ObjectReader.list with a delimiter: one folder read (each subfolder read only to its first object), not a walk of the tree. */
  list(prefix: string, options: ListOptions): AsyncGenerator<ListEntry>;
}

/** Builds the reads of the store described by `ctx`. */
export function createFsReader(ctx: FsStoreContext): FsReader {
  const { root, realRoot, infoAt } = ctx;

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

  function list(prefix: string, options?: FlatListOptions): AsyncGenerator<ObjectInfo>;
  function list(prefix: string, options: ListOptions): AsyncGenerator<ListEntry>;
  async function* list(
    prefix: string,
    options?: FlatListOptions | ListOptions,
  ): AsyncGenerator<ObjectInfo | ListEntry> {
    assertValidPrefix(prefix);
    assertValidListOptions(options);
    const slash = prefix.lastIndexOf('/');
    const dirKey = slash >= 0 ? prefix.slice(0, slash) : '';
    const dir = dirKey === '' ? root : keyToPath(root, dirKey);
    try {
      await assertRealPathInside(await realRoot(false), dir, prefix);
    } catch (error) {
      if (hasCode(error, 'ENOENT', 'ENOTDIR')) return;
      throw mapFsError(error, prefix, 'list');
    }
    const namePrefix = prefix.slice(slash + 1);
    const startAfter = options?.startAfter ?? '';
    yield* options?.delimiter
      ? listLevel(infoAt, dir, dirKey, namePrefix, startAfter)
      : listTree(infoAt, dir, dirKey, namePrefix, startAfter);
  }

  return { get, stat: statKey, list };
}
