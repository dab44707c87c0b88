/**
 * The filesystem store's reads (fs.ts assembles them): `get` (optionally a
 * byte range), `stat` and `list`. Every path is checked to stay inside the
 * root's real path; symlinks are never followed.
 */
import { constants } from 'node:fs';
import { open, readdir } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { AppError } from '@slideshow/runtime';
import type { FsStoreContext } from './fs-context.ts';
import { assertRealPathInside, hasCode, keyToPath, mapFsError, RESERVED_DIR } from './fs-paths.ts';
import {
  assertValidPrefix,
  assertValidRange,
  type GetOptions,
  isValidKey,
  type ObjectInfo,
} from './object-store.ts';

/** The read half of the filesystem store (ObjectStore's get, stat and list). */
export interface FsReader {
  /** ObjectStore.get. */
  get(key: string, range?: GetOptions): Promise<Readable>;
  /** ObjectStore.stat. */
  stat(key: string): Promise<ObjectInfo | undefined>;
  /** ObjectStore.list: keys in plain string order, as GCS lists them. */
  list(prefix: string): AsyncGenerator<ObjectInfo>;
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

  return { get, stat: statKey, list };
}

function readdirEntries(dir: string) {
  return readdir(dir, { withFileTypes: true });
}
