/**
 * Composition root: config → adapters (adapters.ts: each imported only when
 * the config names it) → the single-writer sequence (writer/single-writer.ts:
 * acquire the database lease, restore, open SQLite, replicate) → once it holds
 * the lease, `createBackend` (backend.ts) on the opened database → serve —
 * and on SIGTERM/SIGINT/SIGHUP stop, sync a last time and release (Cloud Run sends
 * SIGTERM and waits 10 s). Started with no hooks; only the fault suite's entry
 * (main-with-faults.ts) passes any.
 */
import { hostname } from 'node:os';
import { join } from 'node:path';
import { createLease, leaseTimingFor } from '@slideshow/lease';
import { coerceError, createLogger, type Logger } from '@slideshow/runtime';
import type { ObjectStore } from '@slideshow/storage';
import {
  localSecret,
  openDispatcher,
  openLeaseStore,
  openQueueAdmin,
  openReplicaStore,
  openStore,
  openTaskCancellation,
  openVerifier,
} from './adapters.ts';
import { hashPassword } from './auth/password.ts';
import { type BackendDeps, createBackend } from './backend.ts';
import { type BackendConfig, loadConfig } from './config.ts';
import { randomToken, sha256Hex } from './ids.ts';
import { createLitestream, type Litestream } from './writer/litestream.ts';
import { runSingleWriter } from './writer/single-writer.ts';

/**
 * The scrypt hash of the admin password: configured, or hashed from a plain or generated one.
 * Sessions are bound to the hash (auth/admin-auth.ts), so in local mode a plain password is
 * hashed with a salt kept in the data folder: the same password gives the same hash at every
 * start, and a restart with it keeps the admin logged in. (Production is meant to be given
 * ADMIN_PASSWORD_HASH; a plain ADMIN_PASSWORD there gets a new salt, so its sessions end with
 * the instance.)
 */
async function adminPasswordHash(config: BackendConfig): Promise<string> {
  if (config.adminPasswordHash) return config.adminPasswordHash;
  const password =
    config.adminPassword ??
    (config.mode === 'local' ? localSecret(config.dataDir, 'admin-password', 12) : undefined);
  if (!password) throw new Error('no admin password configured');
  if (config.mode === 'local' && !config.adminPassword) {
    // Printed on purpose (local only): the generated password is how the admin logs in.
    process.stdout.write(
      `Admin password: ${password}  (from ${join(config.dataDir, 'admin-password')})\n`,
    );
  }
  if (config.mode !== 'local') return hashPassword(password);
  const salt = Buffer.from(localSecret(config.dataDir, 'admin-password-salt', 16), 'base64url');
  return hashPassword(password, salt);
}

/** Everything `createBackend` takes but the database and the write fence. */
async function openBackendDeps(
  config: BackendConfig,
  logger: Logger,
  hooks: BackendHooks,
): Promise<Omit<BackendDeps, 'db' | 'writeFence'>> {
  const opened = await openStore(config);
  const queueAdmin = await openQueueAdmin(config);
  const dispatchLogger = logger.child({ component: 'dispatch' });
  const taskCancellation = await openTaskCancellation(config, dispatchLogger);
  return {
    store: hooks.wrapStore ? await hooks.wrapStore(opened.store) : opened.store,
    dispatcher: await openDispatcher(config, dispatchLogger),
    ...(queueAdmin ? { queueAdmin } : {}),
    ...(taskCancellation ? { taskCancellation } : {}),
    callbackVerifier: await openVerifier(config),
    logger,
    mode: config.mode,
    trustedProxyHops: config.trustedProxyHops,
    adminPasswordHash: await adminPasswordHash(config),
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
    relay: {
      imagesPerExecution: { ingest: config.ingestBatchSize },
      batchWindowMs: config.ingestBatchWindowMs,
    },
    reaper: { intervalMs: config.reaperIntervalMs, stuckAfterMs: config.stuckAfterMs },
    sweeper: { graceMs: config.orphanGraceMs, intervalMs: config.orphanSweepIntervalMs },
    presets: config.presets,
    regen: config.regen,
  };
}

/**
 * Litestream when the database is replicated (LITESTREAM_BUCKET), else undefined. Without it
 * the backend warns in production mode or when its images live in Cloud Storage (a deployment
 * whose database dies with its instance); in local mode with a folder store it only says so.
 */
function openLitestream(config: BackendConfig, logger: Logger): Litestream | undefined {
  if (!config.litestream) {
    const deployed = config.mode === 'production' || config.storageUrl.startsWith('gs://');
    logger[deployed ? 'warn' : 'info'](
      'LITESTREAM_BUCKET is not set: the database is not replicated',
      {
        lease: config.lease.url,
      },
    );
    return undefined;
  }
  return createLitestream({
    bin: config.litestream.bin,
    configPath: config.litestream.configPath,
    databasePath: config.databasePath,
    // The child needs the platform's credentials and settings; LITESTREAM_BUCKET feeds litestream.yml.
    env: { ...process.env, LITESTREAM_BUCKET: config.litestream.bucket },
    logger: logger.child({ component: 'litestream' }),
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
  const deps = await openBackendDeps(config, logger, hooks);
  // Unique per process: a restarted instance is a new owner, never mistaken for the old one.
  const owner = `${config.lease.revision ?? hostname()}/${process.pid}/${randomToken(6)}`;
  const lease = createLease({
    store: await openLeaseStore(config),
    owner,
    revision: config.lease.revision,
    timing: leaseTimingFor(config.lease.ttlMs),
    logger: logger.child({ component: 'lease' }),
  });
  const replicaBucket = config.litestream?.bucket;
  await runSingleWriter({
    config,
    logger,
    lease,
    owner,
    litestream: openLitestream(config, logger),
    ...(replicaBucket ? { replicaStore: () => openReplicaStore(config, replicaBucket) } : {}),
    exit: (code) => process.exit(code),
    createBackend: async (db, gate) => createBackend({ ...deps, db, writeFence: gate }),
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
