/**
 * `startLocalCloud`: local-cloud on a loopback port with its SQLite file in
 * `dataDir`, for the composition root, the ops scripts and end-to-end tests.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { coerceError, type Logger, silentLogger } from '@slideshow/runtime';
import { createLocalCloud, type LocalCloud } from './app.ts';
import { hostEnvironment } from './config.ts';
import { openDatabase } from './db.ts';

/** Options for {@link startLocalCloud}. */
export interface StartLocalCloudOptions {
  /** TCP port on 127.0.0.1; 0 (the default) lets the OS choose. */
  port?: number;
  /** Directory of `local-cloud.db`; created if missing. */
  dataDir: string;
  /** Default project for tools that need one (informational). */
  projectId?: string;
  /** Default location (informational). */
  location?: string;
  /** Local stand-in for Google OAuth access tokens; random when omitted. */
  oauthToken?: string;
  /** Local stand-in for Google OIDC ID tokens (the stack's callback secret); random when omitted. */
  oidcToken?: string;
  logger?: Logger;
  /** Delay between SIGTERM and SIGKILL for a timed-out job task (Cloud Run: 10 s). */
  killGraceMs?: number;
  /** Most job task processes at once (default: no limit). */
  maxRunningTasks?: number;
  /** Working directory of job task processes (default: the current directory). */
  workdir?: string;
  /** How long deleted/finished task names stay reserved (default one hour). */
  taskTombstoneMs?: number;
  /** Environment job children inherit PATH/HOME/TMPDIR/LANG/TZ from. */
  hostEnv?: Record<string, string | undefined>;
}

/** A running local-cloud. */
export interface RunningLocalCloud {
  /** Base URL, e.g. `http://127.0.0.1:8123`. */
  url: string;
  port: number;
  projectId: string;
  location: string;
  /** `projects/P/locations/L`. */
  parent: string;
  oauthToken: string;
  oidcToken: string;
  /** Resolves when a workflow execution run by this process has finished. */
  executionFinished(name: string): Promise<void>;
  /** Stops accepting requests, stops background work and closes the database. */
  stop(): Promise<void>;
}

/**
 * Hands one node:http request to local-cloud: the body is read as text and
 * the JSON answer written back, without web Request/Response objects (they
 * cost more CPU than the emulator itself on the task-creation hot path).
 */
function serveRequest(
  cloud: LocalCloud,
  logger: Logger,
  req: IncomingMessage,
  res: ServerResponse,
): void {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    cloud
      .handleRaw({
        method: req.method ?? 'GET',
        url: req.url ?? '/',
        headers: {
          get(name) {
            const value = req.headers[name.toLowerCase()];
            if (value === undefined) return null;
            return Array.isArray(value) ? value.join(', ') : value;
          },
        },
        body: Buffer.concat(chunks).toString('utf8'),
      })
      .then(
        (answer) => {
          res.writeHead(answer.status, {
            'content-type': 'application/json; charset=UTF-8',
            'content-length': Buffer.byteLength(answer.body),
          });
          res.end(answer.body);
        },
        (error: unknown) => {
          logger.error('request failed', { error: coerceError(error) });
          res.writeHead(500, { 'content-type': 'application/json; charset=UTF-8' });
          res.end(
            JSON.stringify({ error: { code: 500, message: 'internal error', status: 'INTERNAL' } }),
          );
        },
      );
  });
}

/** Starts local-cloud listening on 127.0.0.1. */
export async function startLocalCloud(options: StartLocalCloudOptions): Promise<RunningLocalCloud> {
  const logger = options.logger ?? silentLogger;
  const projectId = options.projectId ?? 'local-project';
  const location = options.location ?? 'us-central1';
  const oauthToken = options.oauthToken ?? randomBytes(24).toString('base64url');
  const oidcToken = options.oidcToken ?? randomBytes(24).toString('base64url');
  const db = openDatabase(join(options.dataDir, 'local-cloud.db'));
  const cloud = createLocalCloud({
    db,
    logger,
    oauthToken,
    oidcToken,
    workdir: options.workdir ?? process.cwd(),
    killGraceMs: options.killGraceMs ?? 10_000,
    maxRunningTasks: options.maxRunningTasks ?? 0,
    hostEnv: options.hostEnv ?? hostEnvironment(),
    ...(options.taskTombstoneMs === undefined ? {} : { taskTombstoneMs: options.taskTombstoneMs }),
  });
  const server = createServer((req, res) => serveRequest(cloud, logger, req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  cloud.start();
  logger.info('local-cloud listening', {
    url: `http://127.0.0.1:${port}`,
    dataDir: options.dataDir,
  });
  let stopping: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    projectId,
    location,
    parent: `projects/${projectId}/locations/${location}`,
    oauthToken,
    oidcToken,
    executionFinished: (name) => cloud.executionFinished(name),
    stop() {
      stopping ??= (async () => {
        const closed = new Promise<void>((resolve) => {
          server.close((error) => {
            if (error) logger.warn('server close', { error: coerceError(error) });
            resolve();
          });
        });
        server.closeAllConnections();
        await cloud.stop();
        await closed;
        db.close();
      })();
      return stopping;
    },
  };
}
