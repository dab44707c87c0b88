/**
 * Composition root: reads the config, opens SQLite, builds the adapters named
 * by the config (each imported only when chosen, so a local run never loads a
 * cloud SDK it does not use), starts the HTTP server, the outbox relay and the
 * reaper, and stops them all on SIGTERM/SIGINT (Cloud Run sends SIGTERM and
 * waits 10 s).
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ServerType, serve } from '@hono/node-server';
import type { CallbackVerifier } from '@slideshow/callback-auth';
import type { TaskDispatcher } from '@slideshow/dispatch';
import type { QueueAdmin } from '@slideshow/dispatch/queue-admin';
import { coerceError, createLogger, type Logger } from '@slideshow/runtime';
import type { ObjectStore } from '@slideshow/storage';
import { createApp } from './app.ts';
import { hashPassword } from './auth/password.ts';
import { type BackendConfig, loadConfig } from './config.ts';
import { openDatabase } from './db/open-database.ts';
import { randomToken, sha256Hex } from './ids.ts';
import { createLifecycle, createRepositories } from './lifecycle.ts';
import { createOrphanSweeper } from './orphan-sweeper.ts';
import { createOutboxRelay } from './outbox-relay.ts';
import { createReaper } from './reaper.ts';
import { serverOptions } from './server-options.ts';

/** Reads a persisted local secret, creating it (mode 0600) on first start. */
function localSecret(dataDir: string, name: string, bytes: number): string {
  const file = join(dataDir, name);
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dataDir, { recursive: true });
  const value = randomToken(bytes);
  writeFileSync(file, `${value}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return value;
}

async function openStore(config: BackendConfig): Promise<ObjectStore> {
  const url = new URL(config.storageUrl);
  if (url.protocol === 'file:') {
    const { createFsObjectStore } = await import('@slideshow/storage/fs');
    return createFsObjectStore({ root: fileURLToPath(url) });
  }
  // A variable specifier: the GCS adapter (and its SDK) loads only in production.
  const gcsModule = '@slideshow/storage/gcs';
  const { createGcsObjectStore } = (await import(gcsModule)) as {
    createGcsObjectStore(options: { bucket: string; apiEndpoint?: string }): ObjectStore;
  };
  return createGcsObjectStore({
    bucket: url.hostname,
    ...(config.gcsApiEndpoint ? { apiEndpoint: config.gcsApiEndpoint } : {}),
  });
}

/** Test-only (e2e/faults): wraps the store with seeded injected faults when STORAGE_FAULTS is set. */
async function withStorageFaults(
  store: ObjectStore,
  spec: string | undefined,
): Promise<ObjectStore> {
  if (!spec) return store;
  const { createFaultyObjectStore, parseStorageFaults } = await import('@slideshow/storage/faulty');
  return createFaultyObjectStore(store, parseStorageFaults(spec, 'backend'));
}

async function openDispatcher(config: BackendConfig, logger: Logger): Promise<TaskDispatcher> {
  switch (config.dispatch) {
    case 'dry-run': {
      const { createDryRunDispatcher } = await import('@slideshow/dispatch/dry-run');
      return createDryRunDispatcher({ logger });
    }
    case 'workflows': {
      const { createWorkflowsDispatcher } = await import('@slideshow/dispatch/workflows');
      return createWorkflowsDispatcher({
        project: config.project,
        location: config.location,
        workflow: config.workflow,
        logger,
        ...(config.workflowsEndpoint ? { apiEndpoint: config.workflowsEndpoint } : {}),
      });
    }
    case 'cloud-tasks': {
      const { createCloudTasksDispatcher } = await import('@slideshow/dispatch/cloud-tasks');
      return createCloudTasksDispatcher({
        project: config.project,
        location: config.location,
        queues: config.queues,
        workflow: config.workflow,
        serviceAccountEmail: config.tasksServiceAccount,
        logger,
        ...(config.executionsBaseUrl ? { executionsBaseUrl: config.executionsBaseUrl } : {}),
        ...(config.cloudTasksEndpoint ? { apiEndpoint: config.cloudTasksEndpoint } : {}),
      });
    }
  }
}

/** The jobs page's view of the queues: only the Cloud Tasks dispatcher has any. */
async function openQueueAdmin(config: BackendConfig): Promise<QueueAdmin | undefined> {
  if (config.dispatch === 'dry-run') {
    const { createDryRunQueueAdmin } = await import('@slideshow/dispatch/queue-admin/dry-run');
    return createDryRunQueueAdmin();
  }
  if (config.dispatch !== 'cloud-tasks') return undefined;
  const { createCloudTasksQueueAdmin } = await import(
    '@slideshow/dispatch/queue-admin/cloud-tasks'
  );
  return createCloudTasksQueueAdmin({
    project: config.project,
    location: config.location,
    queues: config.queues,
    ...(config.cloudTasksEndpoint ? { apiEndpoint: config.cloudTasksEndpoint } : {}),
  });
}

async function openVerifier(config: BackendConfig): Promise<CallbackVerifier> {
  if (config.callbackAuth === 'google') {
    const { createGoogleIdTokenVerifier } = await import('@slideshow/callback-auth/google');
    return createGoogleIdTokenVerifier({
      audience: config.publicUrl ?? '',
      allowedEmails: config.callbackAllowedEmails,
    });
  }
  const secret = config.callbackSecret ?? localSecret(config.dataDir, 'callback-secret', 32);
  const { createSharedSecretVerifier } = await import('@slideshow/callback-auth/shared-secret');
  return createSharedSecretVerifier(secret);
}

/**
 * Stops accepting connections, closes idle keep-alive ones, lets in-flight
 * requests finish, and after `graceMs` (Cloud Run sends SIGKILL 10 s after
 * SIGTERM) closes whatever is still open so the relay and the database can
 * still be closed in time.
 */
async function closeServer(server: ServerType, graceMs: number, logger: Logger): Promise<void> {
  const http = server as Server;
  const closed = new Promise<void>((resolve) => {
    http.close((error) => {
      if (error) logger.warn('server close', { error: coerceError(error) });
      resolve();
    });
  });
  http.closeIdleConnections();
  // Connections that finish a request while closing become idle: close them too.
  const idle = setInterval(() => http.closeIdleConnections(), 100);
  const timer = setTimeout(() => {
    logger.warn('shutdown grace period over; closing open connections', { graceMs });
    http.closeAllConnections();
  }, graceMs);
  await closed;
  clearInterval(idle);
  clearTimeout(timer);
}

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger({ level: config.logLevel, fields: { service: 'backend' } });
  const db = openDatabase(config.databasePath);
  let adminPasswordHash = config.adminPasswordHash;
  if (!adminPasswordHash) {
    const password =
      config.adminPassword ??
      (config.mode === 'local' ? localSecret(config.dataDir, 'admin-password', 12) : undefined);
    if (!password) throw new Error('no admin password configured');
    adminPasswordHash = await hashPassword(password);
    if (config.mode === 'local' && !config.adminPassword) {
      // Printed on purpose (local only): the generated password is how the admin logs in.
      process.stdout.write(
        `Admin password: ${password}  (from ${join(config.dataDir, 'admin-password')})\n`,
      );
    }
  }
  const store = await withStorageFaults(await openStore(config), process.env.STORAGE_FAULTS);
  const dispatcher = await openDispatcher(config, logger.child({ component: 'dispatch' }));
  const queueAdmin = await openQueueAdmin(config);
  const callbackVerifier = await openVerifier(config);
  const repos = createRepositories(db);
  const relay = createOutboxRelay({
    db,
    repos,
    dispatcher,
    logger: logger.child({ component: 'outbox-relay' }),
  });
  const reaper = createReaper({
    lifecycle: createLifecycle({ db, repos, now: Date.now, onEnqueued: () => relay.notify() }),
    logger: logger.child({ component: 'reaper' }),
    intervalMs: config.reaperIntervalMs,
    stuckAfterMs: config.stuckAfterMs,
  });
  const sweeper = createOrphanSweeper({
    store,
    imageExists: (id) => repos.images.get(id) !== undefined,
    logger: logger.child({ component: 'orphan-sweeper' }),
    graceMs: config.orphanGraceMs,
    intervalMs: config.orphanSweepIntervalMs,
  });
  const app = createApp({
    db,
    store,
    dispatcher,
    ...(queueAdmin ? { queueAdmin } : {}),
    callbackVerifier,
    logger,
    mode: config.mode,
    adminPasswordHash,
    adminTokenHashes: config.adminTokens.map(sha256Hex),
    ...(config.publicUrl ? { publicUrl: config.publicUrl } : {}),
    publicMediaBaseUrl: config.publicMediaBaseUrl,
    imageOrigins: /^https?:/.test(config.publicMediaBaseUrl)
      ? [new URL(config.publicMediaBaseUrl).origin]
      : [],
    maxUploadBytes: config.maxUploadBytes,
    uploadIdleTimeoutMs: config.uploadIdleTimeoutMs,
    onEnqueued: () => relay.notify(),
  });
  const server = serve(
    {
      fetch: app.fetch,
      hostname: config.host,
      port: config.port,
      serverOptions: serverOptions(config),
    },
    (info) => {
      logger.info('backend listening', {
        url: `http://${config.host}:${info.port}`,
        mode: config.mode,
        dispatch: config.dispatch,
        callbackAuth: config.callbackAuth,
        database: config.databasePath,
      });
    },
  );
  relay.start();
  reaper.start();
  sweeper.start();

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info('shutting down', { signal });
    reaper.stop();
    await sweeper.stop();
    await closeServer(server, config.shutdownGraceMs, logger);
    // A dispatch hung on the network must not outlive Cloud Run's 10 s: its row
    // stays in the outbox and the next start re-sends it (ALREADY_EXISTS is success).
    const relayStopped = await Promise.race([
      relay.stop().then(() => true),
      new Promise<false>((resolve) => setTimeout(() => resolve(false), 1_500).unref()),
    ]);
    if (!relayStopped)
      logger.warn('outbox relay still dispatching at exit; rows stay in the outbox');
    await dispatcher.close?.();
    await queueAdmin?.close?.();
    db.close();
    logger.info('stopped', { signal });
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((error: unknown) => {
  const e = coerceError(error);
  process.stderr.write(
    `${JSON.stringify({ severity: 'ERROR', message: `backend failed to start: ${e.message}`, code: e.code })}\n`,
  );
  process.exit(1);
});
