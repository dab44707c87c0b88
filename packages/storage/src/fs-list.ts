/**
 * The filesystem store's listings (fs-read.ts `list`): the whole tree under a
 * prefix in key order, or one level of it (a listing with a delimiter).
 * Symlinks are never followed, the store's own folder is never listed, and
 * names no key can be are skipped. A listing from `startAfter` seeks: a folder
 * whose keys all sort before it is not entered, and a file before it is not
 * stat'ed, so a walk in pages reads each object once.
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

/** `name`'s key under the folder of key `dirKey`. */
const keyIn = (dirKey: string, name: string) => (dirKey === '' ? name : `${dirKey}/${name}`);

/**
 * Whether a tree listing from `startAfter` enters the folder whose keys all
 * start with `folderKey` (`…/name/`), and from where: not at all when every key
 * in it sorts before `startAfter` (the two differ inside `folderKey`), from
 * `startAfter` when it lies inside the folder, from its start when the whole
 * folder sorts after it.
 */
function folderStart(folderKey: string, startAfter: string): 'skip' | 'seek' | 'all' {
  if (startAfter.startsWith(folderKey)) return 'seek';
  return folderKey > startAfter ? 'all' : 'skip';
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

/**
 * ObjectReader.list under the folder `dir` (key `dirKey`): every object below
 * it whose name starts with `namePrefix` and whose key sorts after
 * `startAfter` ('' for all), in key order.
 */
export async function* listTree(
  infoAt: FsStoreContext['infoAt'],
  dir: string,
  dirKey: string,
  namePrefix: string,
  startAfter = '',
): AsyncGenerator<ObjectInfo> {
  const entries = await readFolder(dir, dirKey);
  for (const { entry, sortKey } of keyOrdered(entries, dirKey, namePrefix)) {
    const key = keyIn(dirKey, entry.name);
    const abs = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      const start = folderStart(keyIn(dirKey, sortKey), startAfter);
      if (start !== 'skip')
        yield* listTree(infoAt, abs, key, '', start === 'seek' ? startAfter : '');
      continue;
    }
    if (key <= startAfter || !isValidKey(key)) continue;
    try {
      const info = await infoAt(key, abs);
      if (info) yield info;
    } catch (error) {
      throw mapFsError(error, key, 'list');
    }
  }
}

/**
 * ObjectReader.list with a delimiter under the folder `dir` (key `dirKey`): the
 * folder's files whose names start with `namePrefix` are the objects, and its
 * folders that hold an object the common prefixes; only the entries that sort
 * after `startAfter` ('' for all). One read of the folder, and for each
 * subfolder after `startAfter` a descent only as far as its first object.
 */
export async function* listLevel(
  infoAt: FsStoreContext['infoAt'],
  dir: string,
  dirKey: string,
  namePrefix: string,
  startAfter = '',
): AsyncGenerator<ListEntry> {
  const entries = await readFolder(dir, dirKey);
  for (const { entry, sortKey } of keyOrdered(entries, dirKey, namePrefix)) {
    // A common prefix is an entry of its own, compared as its own string (`…/name/`).
    if (keyIn(dirKey, sortKey) <= startAfter) continue;
    const key = keyIn(dirKey, entry.name);
    const abs = path.join(dir, entry.name);
    try {
      if (entry.isDirectory()) {
        if (await holdsAnObject(abs, key)) yield { kind: 'prefix', prefix: keyIn(dirKey, sortKey) };
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
