/**
 * local-cloud's files in its data directory are private to the user: the
 * token file (the credential every API call needs) and the SQLite database
 * (it holds task bodies and job definitions) are created 0600, and an
 * existing one that is readable by others is narrowed to 0600 at start.
 */
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { coerceError, type Logger } from '@slideshow/runtime';

/** Name of the token file in the data directory. */
export const TOKEN_FILE = 'local-cloud.token';

const PRIVATE = 0o600;

/** Narrows `path` to 0600 when it exists and others may read or write it. */
export function restrictFile(path: string, logger: Logger): void {
  if (!existsSync(path)) return;
  const mode = statSync(path).mode & 0o777;
  if ((mode & 0o077) === 0) return;
  chmodSync(path, PRIVATE);
  logger.warn('narrowed the permissions of a local-cloud data file to 0600', {
    path,
    was: mode.toString(8),
  });
}

/**
 * Makes sure the SQLite file and its WAL/SHM companions are 0600. The
 * database file is created empty with mode 0600 before SQLite opens it:
 * SQLite creates `-wal` and `-shm` with the permissions of the database file
 * (os_unix.c `findCreateFileMode`).
 */
export function prepareDatabaseFile(path: string, logger: Logger): void {
  if (!existsSync(path)) closeSync(openSync(path, 'a', PRIVATE));
  for (const file of [path, `${path}-wal`, `${path}-shm`]) restrictFile(file, logger);
}

/**
 * Reads local-cloud's token from `<dataDir>/local-cloud.token`, creating it
 * (32 random bytes, base64url, mode 0600) at first start. The file is
 * written under a temporary name and linked into place, so a concurrent
 * start never reads a half-written token.
 */
export function readOrCreateToken(
  dataDir: string,
  logger: Logger,
): { token: string; path: string } {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const path = join(dataDir, TOKEN_FILE);
  if (!existsSync(path)) {
    const temporary = `${path}.${process.pid}.${randomBytes(4).toString('hex')}`;
    writeFileSync(temporary, randomBytes(32).toString('base64url'), { mode: PRIVATE, flag: 'wx' });
    try {
      linkSync(temporary, path);
      logger.info('created local-cloud token file', { path });
    } catch (error) {
      // Another local-cloud created it first: use that one.
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw coerceError(error);
    } finally {
      unlinkSync(temporary);
    }
  }
  // Another user who could write the data directory could plant a token they know.
  const stat = lstatSync(path);
  if (!stat.isFile() || (process.getuid !== undefined && stat.uid !== process.getuid())) {
    throw new Error(
      `local-cloud's token file ${path} is not a regular file owned by this user; remove it and start again`,
    );
  }
  restrictFile(path, logger);
  const token = readFileSync(path, 'utf8').trim();
  if (!/^[A-Za-z0-9._~+/=-]{16,}$/.test(token)) {
    throw new Error(
      `local-cloud's token file ${path} does not hold a token (16 or more URL-safe characters); delete it to have a new one generated`,
    );
  }
  return { token, path };
}
