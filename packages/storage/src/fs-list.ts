/**
 * The filesystem store's listings (fs-read.ts `list`): the whole tree under a
 * prefix in key order, or one level of it (a listing with a delimiter).
 * Symlinks are never followed, the store's own folder is never listed, and
 * names no key can be are skipped.
 */
import type { Dirent } from 'node:fs';
import { opendir, readdir } from 'node:fs/promises';
import path from 'node:path';
import type { FsStoreContext } from './fs-context.ts';
import { hasCode, mapFsError, RESERVED_DIR } from './fs-paths.ts';
import { isValidKey, type ListEntry, type ObjectInfo } from './object-store.ts';

/** The entries of `dir` whose names start with `namePrefix`, as they sort in keys (a folder as `name/`). */
function keyOrdered(entries: Dirent[], dirKey: string, namePrefix: string) {
  return (
    entries
      .filter((entry) => entry.name.startsWith(namePrefix))
      .filter((entry) => !(dirKey === '' && entry.name === RESERVED_DIR))
      // Symlinks are skipped, not followed: they could lead outside the root or into a loop.
      .filter((entry) => entry.isFile() || entry.isDirectory())
      // Sorting "name/" for folders yields the keys in plain string order, as GCS lists them.
      .map((entry) => ({ entry, sortKey: entry.isDirectory() ? `${entry.name}/` : entry.name }))
      .sort((a, b) => (a.sortKey < b.sortKey ? -1 : a.sortKey > b.sortKey ? 1 : 0))
  );
}

/**
 * True when the folder `dir` (key `dirKey`) holds an object somewhere below it:
 * a folder left empty (by hand, or by a put racing a delete) is no common
 * prefix, as Cloud Storage has none without an object. Stops at the first
 * object; `opendir` reads entries in batches, so a folder of many files costs
 * one batch.
 */
async function holdsAnObject(dir: string, dirKey: string): Promise<boolean> {
  const folders: string[] = [];
  try {
    for await (const entry of await opendir(dir)) {
      const key = `${dirKey}/${entry.name}`;
      if (entry.isFile() && isValidKey(key)) return true;
      if (entry.isDirectory()) folders.push(entry.name);
    }
  } catch (error) {
    if (hasCode(error, 'ENOENT', 'ENOTDIR')) return false;
    throw error;
  }
  // Deeper only when this level has no object of its own; bounded by the tree's depth.
  for (const name of folders) {
    if (await holdsAnObject(path.join(dir, name), `${dirKey}/${name}`)) return true;
  }
  return false;
}

/** The entries of the folder `dir` (key `dirKey`); none when it is missing or not a folder. */
async function readFolder(dir: string, dirKey: string): Promise<Dirent[]> {
  try {
    return await readdir(dir, { withFileTypes: true });
  } catch (error) {
    if (hasCode(error, 'ENOENT', 'ENOTDIR')) return [];
    throw mapFsError(error, dirKey, 'list');
  }
}

/** ObjectStore.list under the folder `dir` (key `dirKey`): every object below it whose name starts with `namePrefix`, in key order. */
export async function* listTree(
  infoAt: FsStoreContext['infoAt'],
  dir: string,
  dirKey: string,
  namePrefix: string,
): AsyncGenerator<ObjectInfo> {
  const entries = await readFolder(dir, dirKey);
  for (const { entry } of keyOrdered(entries, dirKey, namePrefix)) {
    const key = dirKey === '' ? entry.name : `${dirKey}/${entry.name}`;
    const abs = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      yield* listTree(infoAt, abs, key, '');
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

/**
 * ObjectStore.list with a delimiter under the folder `dir` (key `dirKey`): the
 * folder's files whose names start with `namePrefix` are the objects, and its
 * folders that hold an object the common prefixes. One read of the folder,
 * and for each subfolder a descent only as far as its first object.
 */
export async function* listLevel(
  infoAt: FsStoreContext['infoAt'],
  dir: string,
  dirKey: string,
  namePrefix: string,
): AsyncGenerator<ListEntry> {
  const entries = await readFolder(dir, dirKey);
  for (const { entry, sortKey } of keyOrdered(entries, dirKey, namePrefix)) {
    const key = dirKey === '' ? entry.name : `${dirKey}/${entry.name}`;
    const abs = path.join(dir, entry.name);
    try {
      if (entry.isDirectory()) {
        if (await holdsAnObject(abs, key)) {
          yield { kind: 'prefix', prefix: dirKey === '' ? sortKey : `${dirKey}/${sortKey}` };
        }
        continue;
      }
      if (!isValidKey(key)) continue;
      const info = await infoAt(key, abs);
      if (info) yield { ...info, kind: 'object' };
    } catch (error) {
      throw mapFsError(error, key, 'list');
    }
  }
}
