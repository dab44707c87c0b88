/**
 * Path safety and error mapping for the filesystem adapter: a key maps to one
 * path under the root, and neither `..` nor a symlink can take it outside.
 */
import { constants } from 'node:fs';
import { mkdir, open, realpath, rmdir, unlink } from 'node:fs/promises';
import path from 'node:path';
import { AppError, coerceError } from '@slideshow/runtime';
import { assertValidKey, isNoSpaceErrno } from './object-store.ts';

/** The adapter's own folder under the root (metadata sidecars, temp files); no key may start with it. */
export const RESERVED_DIR = '.objectstore';

/** Node's system errors carry an errno code and the failed syscall. */
function systemErrorCode(error: unknown): string | undefined {
  if (error instanceof Error && 'code' in error && typeof error.code === 'string')
    return error.code;
  return undefined;
}

/** True when `error` is a Node system error with one of `codes`. */
export function hasCode(error: unknown, ...codes: string[]): boolean {
  const code = systemErrorCode(error);
  return code !== undefined && codes.includes(code);
}

/** True when `inner` is `outer` or below it (both absolute, normalised). */
export function isInside(outer: string, inner: string): boolean {
  return inner === outer || inner.startsWith(outer.endsWith(path.sep) ? outer : outer + path.sep);
}

/** The absolute path for `key` under `root`, after validating the key (no I/O). */
export function keyToPath(root: string, key: string): string {
  assertValidKey(key);
  const segments = key.split('/');
  if (segments[0] === RESERVED_DIR) {
    throw new AppError(
      'VALIDATION_FAILED',
      `Expected a key outside "${RESERVED_DIR}/" but received ${JSON.stringify(key)}: that folder belongs to the filesystem store`,
      {
        context: { key },
      },
    );
  }
  const resolved = path.resolve(root, ...segments);
  // Belt and braces: assertValidKey already refuses "..", absolute keys and backslashes.
  if (!isInside(root, resolved) || resolved === root) {
    throw new AppError(
      'VALIDATION_FAILED',
      `Expected a key inside the store but ${JSON.stringify(key)} resolves outside it`,
      {
        context: { key },
      },
    );
  }
  return resolved;
}

/** Throws unless the real (symlink-resolved) `dir` lies inside `realRoot`. */
export async function assertRealPathInside(
  realRoot: string,
  dir: string,
  key: string,
): Promise<void> {
  const real = await realpath(dir);
  if (!isInside(realRoot, real)) {
    throw new AppError(
      'VALIDATION_FAILED',
      `Expected a key inside the store but ${JSON.stringify(key)} resolves outside it through a symlink`,
      {
        context: { key },
      },
    );
  }
}

/**
 * Creates the folders from `root` down to `dir` one level at a time, checking
 * after each level that its real path is still inside the root, so a symlinked
 * folder pointing elsewhere is refused before anything is created through it.
 */
export async function ensureDirInside(
  root: string,
  realRoot: string,
  dir: string,
  key: string,
): Promise<void> {
  const relative = path.relative(root, dir);
  if (relative === '') return;
  let current = root;
  for (const segment of relative.split(path.sep)) {
    current = path.join(current, segment);
    try {
      await mkdir(current);
    } catch (error) {
      if (!hasCode(error, 'EEXIST')) throw error;
    }
    await assertRealPathInside(realRoot, current, key);
  }
}

/**
 * Maps a filesystem error to the port's errors: a missing file is NOT_FOUND,
 * a key that collides with a folder (or the reverse) is CONFLICT, a name the
 * filesystem cannot hold is VALIDATION_FAILED, no room left (ENOSPC, EDQUOT,
 * EFBIG) is a retryable STORAGE_FULL, and every other I/O failure is a
 * retryable STORAGE_UNAVAILABLE.
 */
export function mapFsError(error: unknown, key: string, operation: string): AppError {
  if (error instanceof AppError) return error;
  const code = systemErrorCode(error);
  const context = { key, operation, errno: code };
  if (isNoSpaceErrno(code)) {
    return new AppError(
      'STORAGE_FULL',
      `Filesystem ${operation} of ${JSON.stringify(key)} failed: no space left (${code})`,
      { retryable: true, cause: error, context },
    );
  }
  switch (code) {
    case 'ENOENT':
      return new AppError('NOT_FOUND', `No object at ${JSON.stringify(key)}`, {
        cause: error,
        context,
      });
    case 'ENOTDIR':
    case 'EISDIR':
    case 'ENOTEMPTY':
      return new AppError(
        'CONFLICT',
        `Key ${JSON.stringify(key)} collides with another key used as a folder (a folder cannot hold both "a" and "a/b")`,
        {
          cause: error,
          context,
        },
      );
    case 'ENAMETOOLONG':
    case 'ELOOP':
      return new AppError(
        'VALIDATION_FAILED',
        `The filesystem cannot hold key ${JSON.stringify(key)} (${code})`,
        {
          cause: error,
          context,
        },
      );
    case undefined:
      return coerceError(error);
    default:
      return new AppError(
        'STORAGE_UNAVAILABLE',
        `Filesystem ${operation} of ${JSON.stringify(key)} failed: ${code}`,
        {
          retryable: true,
          cause: error,
          context,
        },
      );
  }
}

/** fsyncs a folder, so a rename into it survives a crash (rename(2) is atomic, not durable). */
export async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, constants.O_RDONLY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Unlinks `file`; a file that is already gone is fine. Returns whether it removed one. */
export async function unlinkIfPresent(file: string): Promise<boolean> {
  try {
    await unlink(file);
    return true;
  } catch (error) {
    if (hasCode(error, 'ENOENT')) return false;
    throw error;
  }
}

/** Removes `dir` if it is an empty folder; false when it is not (not empty, gone, not a folder, busy). */
export async function removeIfEmptyFolder(dir: string): Promise<boolean> {
  try {
    await rmdir(dir);
    return true;
  } catch (error) {
    if (hasCode(error, 'ENOTEMPTY', 'EEXIST', 'ENOENT', 'ENOTDIR', 'EBUSY')) return false;
    throw error;
  }
}

/** Removes the empty folders above `file`, up to (not including) `stopAt`; stops at the first non-empty one. */
export async function removeEmptyParents(file: string, stopAt: string): Promise<void> {
  let dir = path.dirname(file);
  // Bounded by the depth of `file` below `stopAt`.
  while (dir !== stopAt && dir.startsWith(stopAt + path.sep)) {
    if (!(await removeIfEmptyFolder(dir))) return;
    dir = path.dirname(dir);
  }
}
