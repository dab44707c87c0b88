/**
 * Composition root: reads the config, builds the lease, Litestream and the
 * adapters named by the config (each imported only when chosen, so a local run
 * never loads a cloud SDK it does not use), and hands them to the single-writer
 * sequence (writer/single-writer.ts): acquire the database lease, restore,
 * open SQLite, replicate, serve — and on SIGTERM/SIGINT stop, sync a last
 * time and release (Cloud Run sends SIGTERM and waits 10 s). Started with no
 * hooks; only the fault suite's entry (main-with-faults.ts) passes any.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CallbackVerifier } from '@slideshow/callback-auth';
import type { TaskDispatcher } from '@slideshow/dispatch';
import type { QueueAdmin } from '@slideshow/dispatch/queue-admin';
import { createLease, leaseTimingFor } from '@slideshow/lease';
import type { LeaseStore } from '@slideshow/lease/store';
import { coerceError, createLogger, type Logger } from '@slideshow/runtime';
import type { ObjectStore } from '@slideshow/storage';
import { type AppDeps, createApp } from './app.ts';
import { hashPassword } from './auth/password.ts';
import { type BackendConfig, loadConfig } from './config.ts';
import type { Db } from './db/open-database.ts';
import { randomToken, sha256Hex } from './ids.ts';
import { createLifecycle, createRepositories } from './lifecycle.ts';
import { createOrphanSweeper } from './orphan-sweeper.ts';
import { createOutboxRelay } from './outbox-relay.ts';
import { createReaper } from './reaper.ts';
import { UPLOAD_SESSION_PATH } from './routes/upload-sessions.ts';
import type { Gate } from './writer/gate.ts';
import { createLitestream } from './writer/litestream.ts';
import { runSingleWriter, type ServingApp } from './writer/single-writer.ts';

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

/**
 * The store; the server side of its upload sessions when this app serves them
 * (a folder); and where the page sends upload chunks when it does not (the
 * Cloud Storage endpoint, for the Content-Security-Policy's connect-src).
 */
async function openStore(config: BackendConfig): Promise<{
  store: ObjectStore;
  uploadReceiver?: AppDeps['uploadReceiver'];
  uploadOrigins: string[];
}> {
  const url = new URL(config.storageUrl);
  if (url.protocol === 'file:') {
    const { createFsObjectStore } = await import('@slideshow/storage/fs');
    const store = createFsObjectStore({
      root: fileURLToPath(url),
      uploadSessionPath: UPLOAD_SESSION_PATH,
    });
    return store.uploads
      ? { store, uploadReceiver: store.uploads, uploadOrigins: [] }
      : { store, uploadOrigins: [] };
  }
  // A variable specifier: the GCS adapter (and its SDK) loads only in production.
  const gcsModule = '@slideshow/storage/gcs';
  const { createGcsObjectStore } = (await import(gcsModule)) as {
    createGcsObjectStore(options: { bucket: string; apiEndpoint?: string }): ObjectStore;
  };
  return {
    store: createGcsObjectStore({
      bucket: url.hostname,
      ...(config.gcsApiEndpoint ? { apiEndpoint: config.gcsApiEndpoint } : {}),
    }),
    // Session URIs are on the JSON API's host (https://storage.googleapis.com/upload/storage/v1/…).
    uploadOrigins: [new URL(config.gcsApiEndpoint ?? 'https://storage.googleapis.com').origin],
  };
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
        ...(config.localCloudTokenFile ? { accessTokenFile: config.localCloudTokenFile } : {}),
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
        ...(config.localCloudTokenFile ? { accessTokenFile: config.localCloudTokenFile } : {}),
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
    ...(config.localCloudTokenFile ? { accessTokenFile: config.localCloudTokenFile } : {}),
  });
}

async function openVerifier(config: BackendConfig): Promise<CallbackVerifier> {
  if (config.callbackAuth === 'google') {
    const { createGoogleIdTokenVerifier } = await import('@slideshow/callback-auth/google');
    return createGoogleIdTokenVerifier({
      audience: config.publicUrl ?? '',
      allowedEmails: config.callbackAllowedEmails,
      allowedSubjects: config.callbackAllowedSubjects,
    });
  }
  const secret = config.callbackSecret ?? localSecret(config.dataDir, 'callback-secret', 32);
  const { createSharedSecretVerifier } = await import('@slideshow/callback-auth/shared-secret');
  return createSharedSecretVerifier(secret);
}

/** The lease store named by LEASE_URL; the Cloud Storage SDK loads only for gs:// URLs. */
async function openLeaseStore(config: BackendConfig): Promise<LeaseStore> {
  const url = new URL(config.lease.url);
  if (url.protocol === 'file:') {
    const { createFsLeaseStore } = await import('@slideshow/lease/fs');
    return createFsLeaseStore({ path: fileURLToPath(url) });
  }
  const gcsModule = '@slideshow/lease/gcs';
  const { createGcsLeaseStore } = (await import(gcsModule)) as {
    createGcsLeaseStore(options: {
      bucket: string;
      object: string;
      apiEndpoint?: string;
    }): LeaseStore;
  };
  return createGcsLeaseStore({
    bucket: url.hostname,
    object: decodeURIComponent(url.pathname.slice(1)),
    ...(config.gcsApiEndpoint ? { apiEndpoint: config.gcsApiEndpoint } : {}),
  });
}

/** Test seams a wrapping entry may fill (main-with-faults.ts); production passes none. */
export interface BackendHooks {
  /** Wraps the object store before anything uses it. */
  wrapStore?: (store: ObjectStore) => Promise<ObjectStore>;
}

async function main(hooks: BackendHooks): Promise<void> {
  const config = loadConfig();
  const logger = createLogger({ level: config.logLevel, fields: { service: 'backend' } });
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
  const passwordHash = adminPasswordHash;
  // Unique per process: a restarted instance is a new owner, never mistaken for the old one.
  const owner = `${config.lease.revision ?? hostname()}/${process.pid}/${randomToken(6)}`;
  const lease = createLease({
    store: await openLeaseStore(config),
    owner,
    revision: config.lease.revision,
    timing: leaseTimingFor(config.lease.ttlMs),
    logger: logger.child({ component: 'lease' }),
  });
  const litestream = config.litestream
    ? createLitestream({
        bin: config.litestream.bin,
        configPath: config.litestream.configPath,
        databasePath: config.databasePath,
        // The child needs the platform's credentials and settings; LITESTREAM_BUCKET feeds litestream.yml.
        env: { ...process.env, LITESTREAM_BUCKET: config.litestream.bucket },
        logger: logger.child({ component: 'litestream' }),
      })
    : undefined;
  if (!litestream) {
    logger.warn('LITESTREAM_BUCKET is not set: the database is not replicated', {
      lease: config.lease.url,
    });
  }

  await runSingleWriter({
    config,
    logger,
    lease,
    owner,
    litestream,
    exit: (code) => process.exit(code),
    async buildApp(db: Db, gate: Gate): Promise<ServingApp> {
      const opened = await openStore(config);
      const store = hooks.wrapStore ? await hooks.wrapStore(opened.store) : opened.store;
      const dispatcher = await openDispatcher(config, logger.child({ component: 'dispatch' }));
      const queueAdmin = await openQueueAdmin(config);
      const callbackVerifier = await openVerifier(config);
      const repos = createRepositories(db);
      const relay = createOutboxRelay({
        db,
        repos,
        dispatcher,
        logger: logger.child({ component: 'outbox-relay' }),
        imagesPerExecution: { ingest: config.ingestBatchSize },
        batchWindowMs: config.ingestBatchWindowMs,
      });
      const reaper = createReaper({
        lifecycle: createLifecycle({ db, repos, now: Date.now, onEnqueued: () => relay.notify() }),
        dispatcher,
        logger: logger.child({ component: 'reaper' }),
        intervalMs: config.reaperIntervalMs,
        stuckAfterMs: config.stuckAfterMs,
      });
      const sweeper = createOrphanSweeper({
        store,
        repos,
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
        trustedProxyHops: config.trustedProxyHops,
        adminPasswordHash: passwordHash,
        adminTokenHashes: config.adminTokens.map(sha256Hex),
        ...(config.publicUrl ? { publicUrl: config.publicUrl } : {}),
        publicMediaBaseUrl: config.publicMediaBaseUrl,
        imageOrigins: /^https?:/.test(config.publicMediaBaseUrl)
          ? [new URL(config.publicMediaBaseUrl).origin]
          : [],
        maxUploadBytes: config.maxUploadBytes,
        uploadIdleTimeoutMs: config.uploadIdleTimeoutMs,
        uploadSessionTtlMs: config.uploadSessionTtlMs,
        uploadOrigins: opened.uploadOrigins,
        ...(opened.uploadReceiver ? { uploadReceiver: opened.uploadReceiver } : {}),
        onEnqueued: () => relay.notify(),
        writeFence: gate,
      });
      return {
        fetch: (request, env) => app.fetch(request, env as object | undefined),
        start() {
          relay.start();
          reaper.start();
          sweeper.start();
        },
        async stopPeriodic() {
          await reaper.stop();
          await sweeper.stop();
        },
        async stopRelay(timeoutMs) {
          // A dispatch hung on the network must not outlive Cloud Run's 10 s: its row
          // stays in the outbox and the next writer re-sends it (ALREADY_EXISTS is success).
          let timer: ReturnType<typeof setTimeout> | undefined;
          const stopped = await Promise.race([
            relay.stop().then(() => true),
            new Promise<false>((resolve) => {
              timer = setTimeout(() => resolve(false), timeoutMs);
            }),
          ]);
          clearTimeout(timer);
          if (!stopped)
            logger.warn('outbox relay still dispatching at exit; rows stay in the outbox');
        },
        async close() {
          await dispatcher.close?.();
          await queueAdmin?.close?.();
        },
      };
    },
  });
}

/** Starts the backend; a start-up failure is logged as one JSON line and exits 1. */
export function startBackend(hooks: BackendHooks = {}): void {
  main(hooks).catch((error: unknown) => {
    const e = coerceError(error);
    process.stderr.write(
      `${JSON.stringify({ severity: 'ERROR', message: `backend failed to start: ${e.message}`, code: e.code })}\n`,
    );
    process.exit(1);
  });
}

// `node src/main.ts` (the image's entrypoint) starts it; the fault suite's entry imports it instead.
if (import.meta.main) startBackend();
