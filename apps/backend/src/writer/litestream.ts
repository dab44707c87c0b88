/**
 * Runs Litestream (0.3.x, deploy/litestream.yml) as the backend's child, so
 * the backend decides when it restores and when it replicates — only while it
 * holds the database lease:
 *
 * Every lease epoch replicates to its own path in the bucket,
 * `slideshow.db/epochs/<epoch>` (`replicaPathFor`): a writer that lost the
 * lease but whose Litestream still runs for a moment (seen in the tests: a
 * frozen process group resumed, and Litestream's ticker started a snapshot
 * before the backend could kill it) writes only where no successor restores
 * from. The successor restores from the previous epoch's path.
 *
 * - `restore(path)`: `litestream restore -if-replica-exists -o <temp>` then the
 *   temp file replaces the local database (and its -wal/-shm and Litestream's
 *   shadow folder), so a file left on disk by an earlier writer is never
 *   trusted over the replica. With no replica yet (the very first start) the
 *   local file, if any, is kept.
 * - `replicate(path)`: `litestream replicate -config …` (no `-exec`: the backend
 *   is the parent). `firstSync` resolves once Litestream wrote this writer's
 *   first snapshot: Litestream 0.3.13 does not sync on SIGTERM before its
 *   first snapshot (seen in the tests), so the backend is not ready before it. `stop('final-sync')` sends SIGTERM, on which Litestream
 *   syncs once more before exiting; `stop('kill')` sends SIGKILL — for a
 *   process that lost the lease, whose changes must not reach the replica.
 *
 * Litestream's own output is forwarded as JSON log lines.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { AppError, type Logger } from '@slideshow/runtime';

/** Options for {@link createLitestream}. */
export interface LitestreamOptions {
  /** The litestream executable (a name on PATH or a path). */
  bin: string;
  /** deploy/litestream.yml (it reads DATABASE_PATH and LITESTREAM_BUCKET from the environment). */
  configPath: string;
  databasePath: string;
  /** Environment of the child (credentials, STORAGE_EMULATOR_HOST in tests). */
  env: Record<string, string | undefined>;
  logger: Logger;
}

/** The replica path of one lease epoch (`slideshow.db/epochs/0000000042`). */
export function replicaPathFor(epoch: number): string {
  return `${REPLICA_BASE}/epochs/${String(epoch).padStart(10, '0')}`;
}

/** Where replicas live in the bucket; also the single path used before the lease existed. */
export const REPLICA_BASE = 'slideshow.db';

/** A running `litestream replicate`. */
export interface Replication {
  /** Resolves when Litestream reports its first snapshot written (the replica exists). */
  firstSync: Promise<void>;
  /** Resolves when the process ends, for whatever reason. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM (Litestream syncs a last time) bounded by `timeoutMs`, then SIGKILL; or SIGKILL at once. */
  stop(mode: 'final-sync' | 'kill', timeoutMs?: number): Promise<'synced' | 'killed'>;
}

/** The Litestream runner. */
export interface Litestream {
  /** Restores the replica at `path` (in the bucket) over the local database. */
  restore(path: string): Promise<'restored' | 'no-replica'>;
  /** Replicates the local database to `path`. */
  replicate(path: string): Replication;
}

function forwardOutput(child: ChildProcess, logger: Logger, onLine?: (line: string) => void): void {
  for (const stream of [child.stdout, child.stderr]) {
    let buffered = '';
    stream?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        if (!line.trim()) continue;
        logger.info('litestream', { line });
        onLine?.(line);
      }
    });
  }
}

/** Creates the runner. */
export function createLitestream(options: LitestreamOptions): Litestream {
  const { bin, configPath, databasePath, logger } = options;
  const env = { ...options.env, DATABASE_PATH: databasePath };
  const start = (args: string[], path: string, onLine?: (line: string) => void) => {
    // Its own process group: a signal to the backend's group (Ctrl-C in a terminal, a
    // supervisor) must not stop Litestream before the backend finished writing — seen in
    // the tests: Litestream shut down first and the last acknowledged writes were lost.
    // The backend alone stops it, and kills it if the backend itself exits.
    const child = spawn(bin, args, {
      env: { ...env, LITESTREAM_PATH: path },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const killOnExit = () => child.kill('SIGKILL');
    process.once('exit', killOnExit);
    child.once('exit', () => process.off('exit', killOnExit));
    forwardOutput(child, logger, onLine);
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>(
      (resolve) => {
        child.once('error', (error) => {
          logger.error('litestream could not be started', { bin, error });
          resolve({ code: 127, signal: null });
        });
        child.once('exit', (code, signal) => resolve({ code, signal }));
      },
    );
    return { child, exited };
  };

  return {
    async restore(path) {
      const temp = join(dirname(databasePath), `.${basename(databasePath)}.restoring`);
      await rm(temp, { force: true });
      const { exited } = start(
        ['restore', '-config', configPath, '-if-replica-exists', '-o', temp, databasePath],
        path,
      );
      const { code, signal } = await exited;
      if (code !== 0) {
        throw new AppError(
          'STORAGE_UNAVAILABLE',
          `litestream restore failed (exit ${code ?? signal}); not starting on a database that may be stale`,
          { retryable: true, context: { databasePath } },
        );
      }
      if (!existsSync(temp)) return 'no-replica';
      const shadow = join(dirname(databasePath), `.${basename(databasePath)}-litestream`);
      for (const stale of [`${databasePath}-wal`, `${databasePath}-shm`, shadow]) {
        await rm(stale, { recursive: true, force: true });
      }
      await rename(temp, databasePath);
      return 'restored';
    },

    replicate(path) {
      let synced = () => {};
      const firstSync = new Promise<void>((resolve) => {
        synced = resolve;
      });
      // Litestream 0.3.13's log line once a generation's snapshot is in the bucket.
      const { child, exited } = start(['replicate', '-config', configPath], path, (line) => {
        if (line.includes('msg="snapshot written"')) synced();
      });
      return {
        firstSync,
        exited,
        async stop(mode, timeoutMs = 2_000) {
          if (child.exitCode !== null || child.signalCode !== null) return 'synced';
          if (mode === 'kill') {
            child.kill('SIGKILL');
            await exited;
            return 'killed';
          }
          child.kill('SIGTERM');
          let timer: ReturnType<typeof setTimeout> | undefined;
          const outcome = await Promise.race([
            exited.then(() => 'synced' as const),
            new Promise<'timeout'>((resolve) => {
              timer = setTimeout(() => resolve('timeout'), timeoutMs);
            }),
          ]);
          clearTimeout(timer);
          if (outcome === 'synced') return 'synced';
          logger.error('litestream did not finish its final sync in time; killed', { timeoutMs });
          child.kill('SIGKILL');
          await exited;
          return 'killed';
        },
      };
    },
  };
}
