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
 * it may not write yet. main.ts still builds every adapter and passes them in.
 */
import { type ServerType, serve } from '@hono/node-server';
import type { Acquired, Lease } from '@slideshow/lease';
import { coerceError, type Logger } from '@slideshow/runtime';
import type { ObjectStore } from '@slideshow/storage';
import { closeServer } from '../close-server.ts';
import type { BackendConfig } from '../config.ts';
import { type Db, openDatabase } from '../db/open-database.ts';
import { createWriterEpochsRepository } from '../db/writer-epochs-repository.ts';
import { HSTS, sendsHsts } from '../hsts.ts';
import { serverOptions } from '../server-options.ts';
import { createGate, type FetchHandler, type Gate } from './gate.ts';
import { type Litestream, type Replication, replicaPathFor } from './litestream.ts';
import { recordEpoch } from './record-epoch.ts';
import { listReplicaEpochs } from './replica-epochs.ts';
import { pruneAfterRestore } from './replica-pruning.ts';
import { type BucketFallback, restoreLatest } from './restore-latest.ts';
import { watchSuccessor } from './successor-watch.ts';

/** The parts of the shutdown budget after the request grace (Cloud Run: 10 s in all). */
export const SHUTDOWN_BUDGET = {
  relayMs: 1_000,
  finalSyncMs: 2_000,
  releaseMs: 1_000,
  /** A handover waits this long for admitted writes before it cuts them off. */
  handoverDrainMs: 3_000,
} as const;

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

const bounded = async <T>(work: Promise<T>, ms: number): Promise<T | 'timeout'> => {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const result = await Promise.race([
    work,
    new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), ms);
    }),
  ]);
  clearTimeout(timer);
  return result;
};

/** What the sequence has built so far; the endings stop what exists. */
interface WriterState {
  server?: ServerType;
  db?: Db;
  app?: ServingApp;
  replication?: Replication;
  /** Set by the first ending that starts: the others then do nothing. */
  ending?: Promise<void>;
  /** Set once the process is on its way out (a signal, or a retired instance's exit). */
  stopping?: boolean;
}

/** Final sync, then release: the successor restores everything acknowledged. */
async function finalSyncAndRelease(options: SingleWriterOptions, gate: Gate, state: WriterState) {
  gate.closeWrites();
  if (state.replication) {
    const outcome = await state.replication.stop('final-sync', SHUTDOWN_BUDGET.finalSyncMs);
    options.logger.info('litestream stopped', { outcome });
  }
  await bounded(options.lease.release(), SHUTDOWN_BUDGET.releaseMs);
}

/**
 * A retired instance whose successor failed stops serving reads too: exit 1, so the platform
 * starts a fresh instance of this revision (the lease is free by now).
 */
function stopRetired(
  options: SingleWriterOptions,
  gate: Gate,
  state: WriterState,
  message: string,
  fields: Record<string, unknown>,
): void {
  const { logger } = options;
  if (state.stopping) return;
  state.stopping = true;
  logger.error(message, { ...fields, hint: 'docs/reliability.md "A failed deploy"' });
  gate.setPhase('stopping', message);
  state.ending = (async () => {
    if (state.server) await closeServer(state.server, 1_000, logger);
    state.db?.close();
    options.exit(1);
  })();
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

/**
 * The ways this instance stops writing: the lease lost, a handover to
 * another revision, a signal, Litestream exiting on its own. Each stops what
 * `state` holds at that moment; the first one under way wins.
 */
function createEndings(options: SingleWriterOptions, gate: Gate, state: WriterState) {
  const { config, logger, lease } = options;

  /** The lease is gone: no sync, no release, no more writes; exit 1 so the platform restarts us. */
  const lost = (reason: string) => {
    if (state.ending) return;
    gate.closeWrites();
    gate.setPhase('stopping', `lost the database lease (${reason})`);
    state.ending = (async () => {
      await state.replication?.stop('kill');
      await state.app?.stopPeriodic().catch(() => undefined);
      if (state.server) await closeServer(state.server, 1_000, logger);
      logger.error('stopped after losing the database lease', { reason, epoch: lease.epoch() });
      options.exit(1);
    })();
  };

  const syncAndRelease = () => finalSyncAndRelease(options, gate, state);
  const watch = new AbortController();

  const handOver = (requester: string) => {
    if (state.ending) return;
    gate.setPhase('handing-over', `handing the database lease over to ${requester}`);
    state.ending = (async () => {
      const still = await gate.drainWrites(SHUTDOWN_BUDGET.handoverDrainMs);
      if (still > 0) logger.warn('handover cut off writes still running', { writes: still });
      await state.app?.stopPeriodic();
      await state.app?.stopRelay(SHUTDOWN_BUDGET.relayMs);
      await syncAndRelease();
      gate.setPhase(
        'retired',
        `handed the database lease over to ${requester}; serving reads until stopped`,
      );
      logger.info('handed over; serving reads only until SIGTERM', { to: requester });
      void watchSuccessor({
        lease,
        logger,
        requester,
        signal: watch.signal,
        stop: (message, fields) => stopRetired(options, gate, state, message, fields),
      });
    })();
  };

  /** Writes from now on would not reach the replica: stop taking them, hand the lease on. */
  const replicationExited = (code: number | null, signal: string | null) => {
    if (state.ending) return;
    logger.error('litestream stopped unexpectedly; no longer accepting writes', { code, signal });
    gate.closeWrites();
    gate.setPhase('stopping', 'replication stopped');
    state.ending = (async () => {
      await state.app?.stopPeriodic().catch(() => undefined);
      await bounded(lease.release(), SHUTDOWN_BUDGET.releaseMs);
      if (state.server) await closeServer(state.server, 1_000, logger);
      options.exit(1);
    })();
  };

  const shutdown = async (signal: string) => {
    // A handover under way finishes first (then this instance is retired).
    if (state.ending && gate.phase() === 'handing-over') await state.ending;
    if (state.stopping || (state.ending && gate.phase() !== 'retired')) return;
    state.stopping = true;
    watch.abort();
    logger.info('shutting down', { signal, phase: gate.phase() });
    if (gate.phase() === 'retired' || gate.phase() === 'starting') {
      // Nothing to drain: a retired instance released already; a starting one serves nothing yet.
      if (lease.isHeld()) await syncAndRelease();
      else lease.abandon();
      gate.setPhase('stopping', `stopping (${signal})`);
      if (state.server) await closeServer(state.server, 1_000, logger);
      state.db?.close();
      logger.info('stopped', { signal });
      options.exit(0);
      return;
    }
    state.ending = (async () => {
      // No new connection from now on (close() runs before the first await); requests already
      // running may still write while the periodic workers stop (the shutdown test relies on it).
      const closing = state.server
        ? closeServer(state.server, config.shutdownGraceMs, logger)
        : Promise.resolve();
      await state.app?.stopPeriodic();
      await closing;
      // The relay still deletes the outbox rows of what it dispatched: writes stay open until it stops.
      await state.app?.stopRelay(SHUTDOWN_BUDGET.relayMs);
      gate.setPhase('stopping', `stopping (${signal})`);
      await state.app?.close();
      await syncAndRelease();
      state.db?.close();
      logger.info('stopped', { signal });
      options.exit(0);
    })();
  };

  return { lost, handOver, replicationExited, shutdown };
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

/** Starts the backend as the single writer; resolves once it serves (or exits the process). */
export async function runSingleWriter(options: SingleWriterOptions): Promise<void> {
  const { config, logger, lease, litestream } = options;
  const gate = createGate({
    leaseHeld: () => lease.isHeld(),
    headers: sendsHsts(config.mode, config.publicUrl) ? { 'strict-transport-security': HSTS } : {},
  });
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
