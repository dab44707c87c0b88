/**
 * What the holder writes over its own record: renewals (on a timer), a raised
 * epoch, the release. Renewals and raises go through `writeHeld`, which keeps
 * two crossing writes of one holder from undoing each other.
 */
import { AppError, coerceError } from '@slideshow/runtime';
import type { HolderEvents, Lease } from './lease.ts';
import {
  adopt,
  armExpiry,
  isHeld,
  type LeaseState,
  markLost,
  noticeHandover,
} from './lease-state.ts';
import type { LeaseRecord } from './lease-store.ts';

/**
 * Writes `build(held record)` over the held record. On a conflict it re-reads, and if the
 * record is still ours (a handover request was added, our own write landed and its reply was
 * lost, or a renewal and a raise of ours crossed) it builds again from that record: a write
 * built from the record it raced would undo the other (a renewal undoing a raised epoch).
 */
export async function writeHeld(
  lease: LeaseState,
  build: (held: LeaseRecord) => LeaseRecord,
): Promise<'ok' | 'superseded'> {
  const { store, owner, now } = lease.ctx;
  for (let attempt = 0; attempt < 3 && lease.record; attempt++) {
    const next = build(lease.record);
    const sentAt = now();
    try {
      const written = await store.write(next, lease.generation);
      adopt(lease, { record: next, generation: written }, sentAt);
      return 'ok';
    } catch (error) {
      const e = coerceError(error);
      if (e.code !== 'CONFLICT') throw e;
      const current = await store.read();
      const ours =
        current?.record.holder?.owner === owner && current.record.epoch === lease.record?.epoch;
      if (!current || !ours) return 'superseded';
      lease.generation = current.generation;
      lease.record = current.record;
    }
  }
  return 'superseded';
}

/** One renewal, then the next one scheduled (sooner after a failure) while the lease is held. */
async function renew(lease: LeaseState): Promise<void> {
  const { timing, logger, now, wall } = lease.ctx;
  if (lease.status !== 'held' || !lease.record) return;
  let retryInMs = timing.renewEveryMs;
  try {
    const outcome = await writeHeld(lease, (held) => ({
      ...held,
      ttlMs: timing.ttlMs,
      // Kept even when the record was rewritten by a version that drops the field.
      ...(lease.servingSince ? { servingSince: lease.servingSince } : {}),
      writtenAt: wall(),
    }));
    if (outcome === 'superseded') {
      markLost(lease, 'superseded');
      return;
    }
    armExpiry(lease);
    noticeHandover(lease);
  } catch (error) {
    retryInMs = Math.min(1_000, timing.renewEveryMs);
    logger.warn('database lease renewal failed; retrying', {
      error: coerceError(error),
      validForMs: Math.round(lease.validUntil - now()),
    });
  }
  if (lease.status === 'held') {
    lease.renewTimer = setTimeout(() => void renew(lease), retryInMs);
  }
}

/** {@link Lease.startRenewing}: arms the expiry report and the first renewal. */
export function startRenewing(lease: LeaseState, handlers: HolderEvents): void {
  if (lease.status !== 'held') throw new AppError('LEASE_NOT_HELD', 'startRenewing before acquire');
  lease.events = handlers;
  armExpiry(lease);
  noticeHandover(lease);
  lease.renewTimer = setTimeout(() => void renew(lease), lease.ctx.timing.renewEveryMs);
}

/** {@link Lease.raiseEpoch}: re-writes the held record with an epoch of at least `atLeast`. */
export async function raiseEpoch(lease: LeaseState, atLeast: number): Promise<number> {
  const { logger, wall } = lease.ctx;
  if (!isHeld(lease) || !lease.record)
    throw new AppError('LEASE_NOT_HELD', 'raiseEpoch without the lease');
  if (lease.record.epoch >= atLeast) return lease.record.epoch;
  const outcome = await writeHeld(lease, (held) => ({
    ...held,
    epoch: Math.max(held.epoch, atLeast),
    writtenAt: wall(),
  }));
  if (outcome === 'superseded') {
    markLost(lease, 'superseded');
    throw new AppError('LEASE_NOT_HELD', 'lost the lease while raising its epoch', {
      retryable: true,
    });
  }
  logger.warn('raised the lease epoch above the one recorded in the database', {
    epoch: lease.record.epoch,
  });
  return lease.record.epoch;
}

/**
 * {@link Lease.markServing}: writes into the held record that this holder serves, for a retired
 * holder watching its successor (successor-watch.ts). Never throws: a failed write is logged and
 * the next renewal carries the mark.
 */
export async function markServing(lease: LeaseState): Promise<void> {
  const { logger, wall } = lease.ctx;
  if (!isHeld(lease)) return;
  const since = wall();
  lease.servingSince ??= since;
  try {
    const outcome = await writeHeld(lease, (held) => ({
      ...held,
      servingSince: lease.servingSince ?? since,
      writtenAt: wall(),
    }));
    if (outcome === 'superseded') markLost(lease, 'superseded');
  } catch (error) {
    logger.warn('could not mark the database lease as serving; the next renewal will', {
      error: coerceError(error),
    });
  }
}

/**
 * {@link Lease.release}: stops renewing and writes the record with no holder (epoch kept).
 * Never throws a store failure. Without the lease it calls `self.abandon()` — `self` is the
 * `Lease` the method was called on, as the method's own `this.abandon()` always was.
 */
export async function release(lease: LeaseState, self: Pick<Lease, 'abandon'>): Promise<void> {
  const { store, logger, owner, wall } = lease.ctx;
  if (lease.status !== 'held' || !lease.record) {
    self.abandon();
    return;
  }
  clearTimeout(lease.renewTimer);
  clearTimeout(lease.expiryTimer);
  lease.status = 'released';
  lease.validUntil = Number.NEGATIVE_INFINITY;
  const released: LeaseRecord = {
    ...lease.record,
    holder: null,
    handover: null,
    servingSince: null,
    writtenAt: wall(),
  };
  try {
    const written = await store.write(released, lease.generation);
    lease.generation = written;
    lease.record = released;
    logger.info('database lease released', { epoch: released.epoch, owner });
  } catch (error) {
    // Not fatal: the record expires after its TTL and the next instance takes over.
    logger.warn('releasing the database lease failed; it will expire instead', {
      error: coerceError(error),
      epoch: released.epoch,
    });
  }
}
