/**
 * The ways a writing instance stops (single-writer.ts runs the start): the lease lost, a
 * handover to another revision, a signal, Litestream exiting on its own — each within its
 * share of Cloud Run's 10 s before SIGKILL ({@link SHUTDOWN_BUDGET}), stopping what the
 * sequence has built so far ({@link WriterState}); the first one under way wins.
 */
import type { ServerType } from '@hono/node-server';
import { closeServer } from '../close-server.ts';
import type { Db } from '../db/open-database.ts';
import type { Gate } from './gate.ts';
import type { Replication } from './litestream.ts';
import type { ServingApp, SingleWriterOptions } from './single-writer.ts';
import { watchSuccessor } from './successor-watch.ts';

/** The parts of the shutdown budget after the request grace (Cloud Run: 10 s in all). */
export const SHUTDOWN_BUDGET = {
  relayMs: 1_000,
  finalSyncMs: 2_000,
  releaseMs: 1_000,
  /** A handover waits this long for admitted writes before it cuts them off. */
  handoverDrainMs: 3_000,
} as const;

export const bounded = async <T>(work: Promise<T>, ms: number): Promise<T | 'timeout'> => {
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
export interface WriterState {
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

/**
 * The ways this instance stops writing: the lease lost, a handover to
 * another revision, a signal, Litestream exiting on its own. Each stops what
 * `state` holds at that moment; the first one under way wins.
 */
export function createEndings(options: SingleWriterOptions, gate: Gate, state: WriterState) {
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
