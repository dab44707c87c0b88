/**
 * The backend's start and stop sequence around the single-writer lease
 * (docs/deploy.md, "One writer: the database lease"). One instance at a time
 * restores, writes and replicates the SQLite database:
 *
 *   listen (every path but /readyz answers 503 NOT_READY)
 *   → acquire the lease (bounded wait, logged every 5 s; gives up with exit 1)
 *   → restore from the replica (Litestream) → open the database, fenced
 *   → record the epoch → `litestream replicate` → serve (/readyz 200)
 *   → in the background, delete the older replicas whose data this database
 *     provably holds (replica-pruning.ts)
 *
 * and it ends one of three ways:
 *
 * - SIGTERM (deploy, scale-in), SIGINT (Ctrl-C) or SIGHUP (a closed terminal): refuse new
 *   connections, stop the reaper and sweeper while in-flight requests finish
 *   (SHUTDOWN_GRACE_MS), stop the relay (≤ 1 s),
 *   SIGTERM Litestream so it syncs a last time (≤ 2 s), release the lease
 *   (≤ 1 s), exit 0 — within Cloud Run's 10 s before SIGKILL
 *   (https://cloud.google.com/run/docs/container-contract#lifecycle).
 * - a handover request from another revision (Cloud Run starts the new
 *   revision and waits for its startup probe before it stops the old one, so
 *   the old one must let go first): refuse new writes, let admitted ones
 *   finish (≤ 3 s), final sync, release; then keep serving reads, answering
 *   writes 503 LEASE_NOT_HELD, until SIGTERM — while it watches the successor
 *   (@slideshow/lease successor-watch.ts). If the successor lets go of the
 *   lease or stops renewing before it served (a failed deploy: traffic stays
 *   here), exit 1, so that Cloud Run starts a fresh instance of this
 *   revision, which takes the lease and restores from the replica — never
 *   from this instance's file, which misses what the successor wrote.
 * - the lease is lost (renewals failed until its deadline, or another process
 *   replaced it): writes were already refused by the fence; SIGKILL Litestream
 *   (a non-holder's changes must never reach the replica), exit 1.
 *
 * This file, not main.ts, opens the database and starts listening, against the
 * house rule that only the composition root does (docs/architecture.md): the
 * order is the safety here — listen (so the startup probe gets an answer), then
 * hold the lease, then restore, then open — and main.ts cannot open a database
 * it may not write yet. main.ts still builds every adapter and passes them in. How it stops
 * (a signal, a handover, the lease lost) is endings.ts.
 */
import { type ServerType, serve } from '@hono/node-server';
import type { Acquired, Lease } from '@slideshow/lease';
import { coerceError, type Logger } from '@slideshow/runtime';
import type { ObjectStore } from '@slideshow/storage';
import { hostCheckFor } from '../auth/host-guard.ts';
import type { BackendConfig } from '../config.ts';
import { type Db, openDatabase } from '../db/open-database.ts';
import { createWriterEpochsRepository } from '../db/writer-epochs-repository.ts';
import { HSTS, sendsHsts } from '../hsts.ts';
import { serverOptions } from '../server-options.ts';
import { bounded, createEndings, SHUTDOWN_BUDGET, type WriterState } from './endings.ts';
import { createGate, type FetchHandler, type Gate, readinessDetailFor } from './gate.ts';
import { type Litestream, replicaPathFor } from './litestream.ts';
import { recordEpoch } from './record-epoch.ts';
import { listReplicaEpochs } from './replica-epochs.ts';
import { pruneAfterRestore } from './replica-pruning.ts';
import { type BucketFallback, restoreLatest } from './restore-latest.ts';

/** The app and its workers, built once the database is open (backend.ts `Backend`). */
export interface ServingApp {
  fetch: FetchHandler;
  /** Starts the relay, reaper and sweeper. */
  start(): void;
  /** Stops the reaper and the sweeper (they write on their own schedule). */
  stopPeriodic(): Promise<void>;
  /** Stops the outbox relay, waiting at most `timeoutMs` for a dispatch in flight. */
  stopRelay(timeoutMs: number): Promise<void>;
  /** Closes clients (dispatcher). */
  close(): Promise<void>;
}

/** Options for {@link runSingleWriter}. */
export interface SingleWriterOptions {
  config: BackendConfig;
  logger: Logger;
  lease: Lease;
  owner: string;
  /** Undefined when the database is not replicated (local mode). */
  litestream: Litestream | undefined;
  /**
   * Opens the database bucket, where a ready writer deletes the replicas no one
   * will restore from again (replica-pruning.ts); undefined when not replicated.
   */
  replicaStore?: () => Promise<ObjectStore>;
  /**
   * Builds the backend (backend.ts `createBackend`) on the opened database,
   * once this instance holds the lease and restored; `gate` is the write
   * admission for its fence middleware.
   */
  createBackend(db: Db, gate: Gate): Promise<ServingApp>;
  /** Ends the process (process.exit in main.ts). */
  exit(code: number): void;
}

/** Longest wait for Litestream's first snapshot before the instance gives up (exit 1). */
const FIRST_SYNC_LIMIT_MS = 60_000;
/** `open` once; every call shares the first call's promise. */
function once<T>(open: () => Promise<T>): () => Promise<T> {
  let opened: Promise<T> | undefined;
  return () => {
    opened ??= open();
    return opened;
  };
}

/** Listens with every path behind the gate; resolves with the server and its port. */
async function listen(
  config: BackendConfig,
  gate: Gate,
): Promise<{ server: ServerType; port: number }> {
  let server: ServerType | undefined;
  const port = await new Promise<number>((resolve) => {
    server = serve(
      {
        fetch: (request, env) => gate.fetch(request, env),
        hostname: config.host,
        port: config.port,
        serverOptions: serverOptions(config),
      },
      (info) => resolve(info.port),
    );
  });
  return { server: server as ServerType, port };
}

/** What {@link startWriting} made: the app, ready to serve, and what the start-up log and pruning need. */
interface Started {
  app: ServingApp;
  facts: Awaited<ReturnType<typeof recordEpoch>>;
  db: Db;
  restored: string;
  replicaStore: (() => Promise<ObjectStore>) | undefined;
}

/**
 * With the lease held: restore, open and migrate the database, record the
 * epoch, start replication (waiting for its first snapshot) and build the
 * app. Undefined when replication did not start (the instance is already
 * stopping); throws on any other failure.
 */
async function startWriting(
  options: SingleWriterOptions,
  gate: Gate,
  state: WriterState,
  endings: ReturnType<typeof createEndings>,
  acquired: Acquired,
): Promise<Started | undefined> {
  const { config, logger, lease, litestream, owner } = options;
  gate.setPhase('starting', 'restoring the database', { epoch: acquired.epoch, owner });
  const replicaStore = options.replicaStore && once(options.replicaStore);
  const bucket: BucketFallback | undefined = replicaStore && {
    listEpochs: async () => listReplicaEpochs(await replicaStore()),
    raiseEpochAbove: async (epoch) => {
      if (lease.epoch() <= epoch) await lease.raiseEpoch(epoch + 1);
    },
  };
  const restored = litestream
    ? await restoreLatest(litestream, acquired.previousEpoch, logger, bucket)
    : 'not replicated';
  lease.assertHeld();
  // Refuses (SCHEMA_TOO_NEW) a database a newer release migrated beyond what this one can run
  // on, before writing to it; the caller then releases the lease (releaseAfterFailedStart).
  const db = openDatabase(config.databasePath, {
    assertWritable: () => gate.assertWritable(),
    warn: (message, fields) => logger.warn(message, fields),
  });
  state.db = db;
  const facts = await recordEpoch(options, db, acquired, restored);
  gate.setPhase('starting', 'starting replication and the app', facts);

  if (litestream) {
    const replication = litestream.replicate(replicaPathFor(facts.epoch));
    state.replication = replication;
    void replication.exited.then(({ code, signal }) => endings.replicationExited(code, signal));
    // Not ready before this writer's replica exists: Litestream does not sync on SIGTERM
    // before its first snapshot, so a write acknowledged earlier could be lost on a handover.
    const first = await bounded(replication.firstSync, FIRST_SYNC_LIMIT_MS);
    if (first === 'timeout') {
      logger.error('litestream wrote no snapshot in time; not serving', {
        limitMs: FIRST_SYNC_LIMIT_MS,
      });
      endings.lost('replication did not start');
      return undefined;
    }
  }
  const app = await options.createBackend(db, gate);
  state.app = app;
  return { app, facts, db, restored, replicaStore };
}

/**
 * A start that failed after taking the lease (a database that is locked or
 * read-only, a migration, building the app) never served a write: stop what
 * it started and release the lease, bounded, so the next start takes it at
 * once instead of waiting for it to expire.
 */
async function releaseAfterFailedStart(
  options: SingleWriterOptions,
  state: WriterState,
  reason: string,
): Promise<void> {
  // Another ending (a signal, a lost lease) already stops the process and releases.
  if (state.ending) return;
  // Set first: stopping Litestream below must not read as "stopped unexpectedly".
  state.ending = (async () => {
    await state.replication?.stop('kill').catch(() => undefined);
    try {
      state.db?.close();
    } catch {
      // A database that failed to open or migrate may refuse to close; the release matters more.
    }
    await bounded(options.lease.release(), SHUTDOWN_BUDGET.releaseMs).catch(() => undefined);
    options.logger.warn('released the database lease after a failed start', { reason });
  })();
  await state.ending;
}

/** Waits for the lease (bounded); undefined, logged, when this instance may not start. */
async function acquireLease(
  options: SingleWriterOptions,
): Promise<Awaited<ReturnType<Lease['acquire']>> | undefined> {
  const { config, logger, lease } = options;
  try {
    return await lease.acquire({
      timeoutMs: config.lease.waitMs,
      // Only Cloud Run revisions ask for a handover; a second local process just waits.
      requestHandover: config.lease.revision !== null,
    });
  } catch (error) {
    const e = coerceError(error);
    logger.error('refusing to start: this instance could not get the database lease', {
      code: e.code,
      reason: e.message,
      lease: config.lease.url,
    });
    return undefined;
  }
}

/**
 * The gate for `config`, with the app's policies on its own answers: HSTS in production over
 * HTTPS (hsts.ts), and in local mode the Host rule (auth/host-guard.ts); none in production,
 * where Cloud Run's startup probe reaches `/readyz` with whatever `Host` it sends — and where
 * the answers tell only the phase, not the lease's owner and epochs (readinessDetailFor).
 */
export function createWriterGate(
  config: Pick<BackendConfig, 'mode' | 'publicUrl'>,
  leaseHeld: () => boolean,
): Gate {
  return createGate({
    leaseHeld,
    detail: readinessDetailFor(config.mode),
    headers: sendsHsts(config.mode, config.publicUrl) ? { 'strict-transport-security': HSTS } : {},
    hostCheck: hostCheckFor(config.mode, config.publicUrl),
  });
}

/** Starts the backend as the single writer; resolves once it serves (or exits the process). */
export async function runSingleWriter(options: SingleWriterOptions): Promise<void> {
  const { config, logger, lease, litestream } = options;
  const gate = createWriterGate(config, () => lease.isHeld());
  const state: WriterState = {};
  const { server, port } = await listen(config, gate);
  state.server = server;
  // Not "backend listening" (tests and tools read that line as "ready").
  logger.info('http server up; not ready until this instance holds the database lease', {
    address: `${config.host}:${port}`,
  });
  const endings = createEndings(options, gate, state);
  // SIGHUP too (a closed terminal under `npm start`): Node's default would end the process at
  // once, without the last sync and the lease's release the other two get.
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    process.on(signal, () => void endings.shutdown(signal));
  }
  if (config.stopWhenStdinCloses) {
    // npm start's launcher holds stdin's other end: it is closed once the launcher is gone.
    process.stdin.on('end', () => void endings.shutdown('stdin closed')).resume();
  }

  gate.setPhase('starting', 'waiting for the database lease');
  const acquired = await acquireLease(options);
  if (!acquired) {
    options.exit(1);
    return;
  }
  gate.openWrites();
  lease.startRenewing({
    onLost: (reason) => endings.lost(reason),
    onHandoverRequested: (by) =>
      endings.handOver(`${by.owner} (revision ${by.revision ?? 'none'})`),
  });

  let started: Started | undefined;
  try {
    started = await startWriting(options, gate, state, endings, acquired);
  } catch (error) {
    // Never served: give the lease back at once, or the next start waits out its TTL.
    await releaseAfterFailedStart(options, state, coerceError(error).message);
    throw error;
  }
  if (!started || state.ending) return;
  const { app, facts, db, restored, replicaStore } = started;
  gate.serve(app.fetch, facts);
  app.start();
  // Tells a predecessor watching for a failed start (a deploy's old revision) that this one serves.
  void lease.markServing();
  logger.info('backend listening', {
    url: `http://${config.host}:${port}`,
    mode: config.mode,
    dispatch: config.dispatch,
    callbackAuth: config.callbackAuth,
    database: config.databasePath,
    replicated: litestream !== undefined,
    ...facts,
    waitedForLeaseMs: acquired.waitedMs,
    how: acquired.how,
  });
  // In the background: serving never waits for it, and a failure only leaves garbage behind.
  if (replicaStore) {
    const superseded = createWriterEpochsRepository(db).superseded();
    const from = { path: restored, databaseEpoch: facts.restoredEpoch, superseded };
    void pruneAfterRestore(replicaStore, from, logger);
  }
}

export { SHUTDOWN_BUDGET } from './endings.ts';
