/**
 * Runs Litestream (0.3.x, deploy/litestream.yml) as the backend's child, so
 * the backend decides when it restores and when it replicates — only while it
 * holds the database lease:
 *
 * - `restore()`: `litestream restore -if-replica-exists -o <temp>` then the
 *   temp file replaces the local database (and its -wal/-shm and Litestream's
 *   shadow folder), so a file left on disk by an earlier writer is never
 *   trusted over the replica. With no replica yet (the very first start) the
 *   local file, if any, is kept.
 * - `replicate()`: `litestream replicate -config …` (no `-exec`: the backend
 *   is the parent). `stop('final-sync')` sends SIGTERM, on which Litestream
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

/** A running `litestream replicate`. */
export interface Replication {
  /** Resolves when the process ends, for whatever reason. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM (Litestream syncs a last time) bounded by `timeoutMs`, then SIGKILL; or SIGKILL at once. */
  stop(mode: 'final-sync' | 'kill', timeoutMs?: number): Promise<'synced' | 'killed'>;
}

/** The Litestream runner. */
export interface Litestream {
  restore(): Promise<'restored' | 'no-replica'>;
  replicate(): Replication;
}

function forwardOutput(child: ChildProcess, logger: Logger): void {
  for (const stream of [child.stdout, child.stderr]) {
    let buffered = '';
    stream?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) if (line.trim()) logger.info('litestream', { line });
    });
  }
}

/** Creates the runner. */
export function createLitestream(options: LitestreamOptions): Litestream {
  const { bin, configPath, databasePath, logger } = options;
  const env = { ...options.env, DATABASE_PATH: databasePath };
  const start = (args: string[]) => {
    const child = spawn(bin, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    forwardOutput(child, logger);
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
    async restore() {
      const temp = join(dirname(databasePath), `.${basename(databasePath)}.restoring`);
      await rm(temp, { force: true });
      const { exited } = start([
        'restore',
        '-config',
        configPath,
        '-if-replica-exists',
        '-o',
        temp,
        databasePath,
      ]);
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

    replicate() {
      const { child, exited } = start(['replicate', '-config', configPath]);
      return {
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
