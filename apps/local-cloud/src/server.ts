/**
 * `startLocalCloud`: local-cloud on a loopback port with its SQLite file in
 * `dataDir`, for the composition root, the ops scripts and end-to-end tests.
 * At first start it creates its token (`<dataDir>/local-cloud.token`, 0600);
 * every request must carry it. A request is screened from its headers before
 * its body is read, and a body over LIMITS.requestBodyBytes is not read at all.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { coerceError, type Logger, silentLogger } from '@slideshow/runtime';
import { createLocalCloud, type LocalCloud } from './app.ts';
import { hostEnvironment } from './config.ts';
import { prepareDatabaseFile, readOrCreateToken, restrictFile } from './data-files.ts';
import { openDatabase } from './db.ts';
import { ApiError } from './google-error.ts';
import { LIMITS } from './limits.ts';
import { type GuardOptions, logRefusal, refusal } from './request-guard.ts';
import type { HeaderReader } from './router.ts';
import type { PinnedValue } from './run/job-policy.ts';
import type { TasksRules } from './tasks/model.ts';

/** Options for {@link startLocalCloud}. */
export interface StartLocalCloudOptions {
  /** TCP port on 127.0.0.1; 0 (the default) lets the OS choose. */
  port?: number;
  /** Directory of `local-cloud.db` and `local-cloud.token`; created if missing. */
  dataDir: string;
  /** Default project for tools that need one (informational). */
  projectId?: string;
  /** Default location (informational). */
  location?: string;
  /** Local stand-in for Google OIDC ID tokens (the stack's callback secret); random when omitted. */
  oidcToken?: string;
  logger?: Logger;
  /** Delay between SIGTERM and SIGKILL for a timed-out job task (Cloud Run: 10 s). */
  killGraceMs?: number;
  /** Most job task processes at once (default: no limit). */
  maxRunningTasks?: number;
  /** Working directory of job task processes (default: the current directory). */
  workdir?: string;
  /**
   * Cloud Tasks periods, Google's by default: task names reserved for an hour
   * after a task ends, deleted queue names for 7 days, dispatch deadlines of
   * at least 15 s. Tests shorten them.
   */
  tasksRules?: Partial<TasksRules>;
  /** Environment job children inherit PATH/HOME/TMPDIR/LANG/TZ from. */
  hostEnv?: Record<string, string | undefined>;
  /** Command lines (command followed by args) jobs may run; a leading `node` is this Node binary. */
  jobCommands?: readonly (readonly string[])[];
  /** Secret name → file holding its value (env `valueSource.secretKeyRef` of jobs). */
  secretFiles?: Readonly<Record<string, string>>;
  /** Variables every job must set to these values (a literal or a registered secret). */
  jobPinnedEnv?: Readonly<Record<string, PinnedValue>>;
  /** Hosts tasks and workflow calls may reach besides loopback (no token is ever sent to them). */
  outboundHosts?: readonly string[];
  /** Finished executions older than this are pruned (default 7 days; 0 keeps everything). */
  historyRetentionMs?: number;
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
  /** The token every request must carry (`Authorization: Bearer …`); the local OAuth stand-in. */
  oauthToken: string;
  /** The file holding it (for CLOUDSDK_AUTH_ACCESS_TOKEN_FILE). */
  tokenFile: string;
  oidcToken: string;
  /** Resolves when a workflow execution run by this process has finished. */
  executionFinished(name: string): Promise<void>;
  /** Stops accepting requests, stops background work and closes the database. */
  stop(): Promise<void>;
}

function headerReader(req: IncomingMessage): HeaderReader {
  return {
    get(name) {
      const value = req.headers[name.toLowerCase()];
      if (value === undefined) return null;
      return Array.isArray(value) ? value.join(', ') : value;
    },
  };
}

/** Answers with Google's error JSON and closes the connection (its body is left unread). */
function refuse(res: ServerResponse, error: ApiError): void {
  const body = JSON.stringify(error.toBody());
  res.writeHead(error.httpCode, {
    'content-type': 'application/json; charset=UTF-8',
    'content-length': Buffer.byteLength(body),
    connection: 'close',
  });
  res.end(body);
}

function tooLarge(): ApiError {
  // Google's front end words it this way for any API.
  return new ApiError(
    'INVALID_ARGUMENT',
    `Request payload size exceeds the limit: ${LIMITS.requestBodyBytes} bytes.`,
  );
}

/**
 * Hands one node:http request to local-cloud: the headers are screened
 * first, the body is read as text up to the size limit, and the JSON answer
 * written back, without web Request/Response objects (they cost more CPU
 * than the emulator itself on the task-creation hot path).
 */
function serveRequest(
  cloud: LocalCloud,
  guard: GuardOptions,
  logger: Logger,
  req: IncomingMessage,
  res: ServerResponse,
): void {
  const headers = headerReader(req);
  const refused = refusal(headers, guard, req.url ?? '/');
  if (refused !== undefined) {
    // The router would refuse it too; answering here spares reading the body.
    logRefusal(logger.child({ component: 'api' }), req.method ?? 'GET', refused);
    refuse(res, refused);
    return;
  }
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > LIMITS.requestBodyBytes) {
    refuse(res, tooLarge());
    return;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  let over = false;
  req.on('data', (chunk: Buffer) => {
    if (over) return;
    size += chunk.length;
    if (size > LIMITS.requestBodyBytes) {
      over = true;
      chunks.length = 0;
      // The answer says `Connection: close`: Node closes the socket once it is sent,
      // and what still arrives until then is dropped here.
      refuse(res, tooLarge());
      return;
    }
    chunks.push(chunk);
  });
  req.on('end', () => {
    if (over) return;
    cloud
      .handleRaw({
        method: req.method ?? 'GET',
        url: req.url ?? '/',
        headers,
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

/** How long Google's front ends keep an idle HTTP/1.1 client connection (their documented default). */
const GOOGLE_FRONT_END_KEEP_ALIVE_MS = 610_000;

/** Starts local-cloud listening on 127.0.0.1. */
export async function startLocalCloud(options: StartLocalCloudOptions): Promise<RunningLocalCloud> {
  const logger = options.logger ?? silentLogger;
  const projectId = options.projectId ?? 'local-project';
  const location = options.location ?? 'us-central1';
  const { token: oauthToken, path: tokenFile } = readOrCreateToken(options.dataDir, logger);
  const oidcToken = options.oidcToken ?? randomBytes(24).toString('base64url');
  const dbPath = join(options.dataDir, 'local-cloud.db');
  prepareDatabaseFile(dbPath, logger);
  const db = openDatabase(dbPath);
  for (const file of [`${dbPath}-wal`, `${dbPath}-shm`]) restrictFile(file, logger);
  const guard: GuardOptions = { token: oauthToken, hint: `local-cloud's token is in ${tokenFile}` };
  let cloud: LocalCloud | undefined;
  const server = createServer((req, res) => {
    if (cloud === undefined) {
      refuse(res, new ApiError('UNAVAILABLE', 'local-cloud is starting.'));
      return;
    }
    serveRequest(cloud, guard, logger, req, res);
  });
  // Google's API front ends keep an idle client connection for 610 s; Node's server closes it after
  // 5 s (+1 s), and the client libraries pool sockets with no idle limit, so a call that reused
  // one in the event-loop turn of that close met EPIPE/ECONNRESET, which Google never gives.
  server.keepAliveTimeout = GOOGLE_FRONT_END_KEEP_ALIVE_MS;
  // gcloud configured with local-cloud as its proxy (README, "Pointing gcloud at it") sends
  // plain-HTTP calls in proxy form; anything it would tunnel (HTTPS to Google) is refused here.
  server.on('connect', (req, socket) => {
    logger.warn('refused a CONNECT: local-cloud is no proxy to other hosts', { target: req.url });
    socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const started = createLocalCloud({
    db,
    logger,
    oauthToken,
    tokenHint: guard.hint ?? '',
    oidcToken,
    workdir: options.workdir ?? process.cwd(),
    killGraceMs: options.killGraceMs ?? 10_000,
    maxRunningTasks: options.maxRunningTasks ?? 0,
    hostEnv: options.hostEnv ?? hostEnvironment(),
    jobCommands: options.jobCommands ?? [],
    secretFiles: options.secretFiles ?? {},
    jobPinnedEnv: options.jobPinnedEnv ?? {},
    outboundHosts: options.outboundHosts ?? [],
    selfPort: port,
    ...(options.tasksRules === undefined ? {} : { tasksRules: options.tasksRules }),
    ...(options.historyRetentionMs === undefined
      ? {}
      : { historyRetentionMs: options.historyRetentionMs }),
  });
  cloud = started;
  started.start();
  logger.info('local-cloud listening', {
    url: `http://127.0.0.1:${port}`,
    dataDir: options.dataDir,
    credentialFile: tokenFile,
  });
  let stopping: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    projectId,
    location,
    parent: `projects/${projectId}/locations/${location}`,
    oauthToken,
    tokenFile,
    oidcToken,
    executionFinished: (name) => started.executionFinished(name),
    stop() {
      stopping ??= (async () => {
        const closed = new Promise<void>((resolve) => {
          server.close((error) => {
            if (error) logger.warn('server close', { error: coerceError(error) });
            resolve();
          });
        });
        server.closeAllConnections();
        await started.stop();
        await closed;
        db.close();
      })();
      return stopping;
    },
  };
}
