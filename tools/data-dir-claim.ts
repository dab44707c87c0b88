/**
 * `npm start`'s claim on its data folder: made private to this user, and
 * held with a pid file so a second `npm start` on the same folder stops
 * instead of sharing the first one's SQLite files and secrets.
 */
import { chmodSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** A refusal to start, explained to the user (no stack trace). */
export class StartRefused extends Error {}

/** True when a process with this pid exists (EPERM: it does, as another user). */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * True when `pid` is a running npm start. A pid file outlives a launcher killed hard, and
 * after a reboot its number may belong to any other program: where /proc shows the command
 * line, only one naming this script counts; elsewhere any running process does.
 */
function isNpmStart(pid: number): boolean {
  if (!isRunning(pid)) return false;
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('start-local');
  } catch (error) {
    // Gone since the check (ENOENT: not running); no /proc here, or not ours to read: assume it is.
    return (error as NodeJS.ErrnoException).code !== 'ENOENT';
  }
}

/**
 * Makes DATA_DIR private to this user (docs/security.md, "Local stack (local-cloud)"): it
 * holds the database, the stored originals, the secrets and the logs, which other users of
 * the machine must not read. A new folder is made 0700; one this user owns that others may
 * enter is narrowed to 0700, saying so, as local-cloud narrows its own files
 * (apps/local-cloud/src/data-files.ts). Its parents keep the usual mode.
 */
function makePrivate(dataDir: string, say: (line: string) => void): void {
  mkdirSync(dirname(dataDir), { recursive: true });
  try {
    mkdirSync(dataDir, { mode: 0o700 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  const { mode, uid } = statSync(dataDir);
  if ((mode & 0o077) === 0 || uid !== process.getuid?.()) return;
  chmodSync(dataDir, 0o700);
  say(
    `Narrowed ${dataDir} to 0700 (it was ${(mode & 0o777).toString(8).padStart(4, '0')}): ` +
      'other users of this machine must not read its database, files, secrets and logs.',
  );
}

/**
 * Claims DATA_DIR for this run with `npm-start.pid`: a second `npm start` on
 * the same folder (on other ports) would share the first one's SQLite files
 * and secrets, so it stops instead. A pid file whose process is gone (a run
 * that was killed), or is another program now, is replaced. Returns the release function.
 */
export function claimDataDir(dataDir: string, say: (line: string) => void): () => void {
  makePrivate(dataDir, say);
  const file = join(dataDir, 'npm-start.pid');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(file, `${process.pid}\n`, { flag: 'wx' });
      return () => rmSync(file, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = Number(readFileSync(file, 'utf8').trim());
      if (Number.isInteger(owner) && owner > 0 && isNpmStart(owner)) {
        throw new StartRefused(
          `DATA_DIR ${dataDir} is in use by another npm start (pid ${owner}). Stop it, or give ` +
            'this one its own folder and ports, e.g. DATA_DIR=.data-2 PORT=8081 LOCAL_CLOUD_PORT=8124 npm start',
        );
      }
      // The launcher writes the servers' logs: one killed hard (or a crash, a reboot) takes the
      // servers with it (their stdin lifeline), but their last lines never reach the files.
      say(
        `The last npm start here (pid ${owner}) ended without stopping the stack (killed hard, a ` +
          'crash or a reboot): the backend and local-cloud stopped with it, but the last lines ' +
          `of their logs in ${join(dataDir, 'logs')} are missing.`,
      );
      rmSync(file, { force: true });
    }
  }
  throw new Error(`could not claim ${file}`);
}
