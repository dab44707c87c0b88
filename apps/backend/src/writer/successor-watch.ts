/**
 * What a retired instance does after it handed the lease over, until SIGTERM:
 * watch the successor (`Lease.watchSuccessor`, packages/lease
 * successor-watch.ts). The handover is asked for before the successor is
 * ready, and a successor can still fail after taking the lease (a migration,
 * replication, memory, a restore past the startup probe); then Cloud Run keeps
 * the traffic here. Serving reads only would refuse every write for good —
 * nothing replaces an instance that answers its requests — so a successor that
 * let go of the lease or stopped renewing before it served makes this instance
 * stop. Cloud Run then starts a fresh instance of this revision, which takes
 * the lease and restores from the replica (with whatever the successor
 * replicated), never from this instance's file.
 */
import type { Lease, SuccessorOutcome } from '@slideshow/lease';
import { coerceError, type Logger } from '@slideshow/runtime';

/** What {@link watchSuccessor} works with. */
export interface SuccessorWatch {
  lease: Lease;
  logger: Logger;
  /** Who asked for the handover (for the logs). */
  requester: string;
  /** Aborted on SIGTERM: the watch then ends quietly. */
  signal: AbortSignal;
  /** Stops this instance with an ERROR `message` (exit 1). */
  stop(message: string, fields: Record<string, unknown>): void;
}

const FAILED: Record<Exclude<SuccessorOutcome, { outcome: 'served' }>['how'], string> = {
  released: 'took the database lease and released it',
  expired: 'took the database lease and stopped renewing it',
  'not-taken': 'never took the database lease',
};

/** Watches until the successor serves (logged), fails (`stop`), or the signal aborts. */
export async function watchSuccessor(watch: SuccessorWatch): Promise<void> {
  const { lease, logger, requester, signal, stop } = watch;
  let outcome: SuccessorOutcome;
  try {
    outcome = await lease.watchSuccessor({ signal });
  } catch (error) {
    if (signal.aborted) return;
    // The lease store refuses reads for good: a fresh instance says so louder than a watch could.
    stop('watching the successor for the database lease failed; exiting', {
      successor: requester,
      error: coerceError(error),
    });
    return;
  }
  if (outcome.outcome === 'served') {
    logger.info('the successor serves; serving reads only until SIGTERM', { ...outcome });
    return;
  }
  stop(
    `the successor ${FAILED[outcome.how]} before it served; exiting so that a fresh instance takes the lease and restores from the replica`,
    { successor: requester, ...outcome },
  );
}
