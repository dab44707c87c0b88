/**
 * Where one process's lease stands, and the transitions that need no request
 * to the store: the synchronous fence (`isHeld`), adopting a written record,
 * the expiry report, a loss, a handover request noticed, abandoning. The
 * acquisition (acquire.ts) and the holder's writes (holder-writes.ts) share
 * one `LeaseState`; createLease (lease.ts) builds it and hands out the `Lease`.
 */
import { AppError, type Logger } from '@slideshow/runtime';
import type { HolderEvents, LostReason } from './lease.ts';
import { ABSENT, type LeaseRecord, type LeaseStore, type StoredLease } from './lease-store.ts';
import type { LeaseTiming } from './lease-timing.ts';

/** What a lease is built with; it never changes. */
export interface LeaseContext {
  store: LeaseStore;
  owner: string;
  revision: string | null;
  logger: Logger;
  timing: LeaseTiming;
  /** Monotonic milliseconds. */
  now: () => number;
  /** Wall-clock ISO time, for the informational times in the record. */
  wall: () => string;
}

/** Where a lease is in its life; it only moves forward from `idle`. */
export type LeaseStatus = 'idle' | 'held' | 'lost' | 'released';

/** One process's lease: its context and everything that changes. */
export interface LeaseState {
  readonly ctx: LeaseContext;
  status: LeaseStatus;
  /** The generation of the record last written or adopted (what the next write names). */
  generation: string;
  /** The record last written or adopted. */
  record: LeaseRecord | undefined;
  /** Monotonic deadline: `sent + ttl − margin` of the last successful write. */
  validUntil: number;
  events: HolderEvents | undefined;
  renewTimer: ReturnType<typeof setTimeout> | undefined;
  expiryTimer: ReturnType<typeof setTimeout> | undefined;
  /** Handover requesters already reported (each one once). */
  readonly handoverSeen: Set<string>;
  /** Set by markServing: every later write of the held record carries it. */
  servingSince: string | null;
}

/** A lease that holds nothing yet. */
export function createLeaseState(ctx: LeaseContext): LeaseState {
  return {
    ctx,
    status: 'idle',
    generation: ABSENT,
    record: undefined,
    validUntil: Number.NEGATIVE_INFINITY,
    events: undefined,
    renewTimer: undefined,
    expiryTimer: undefined,
    handoverSeen: new Set<string>(),
    servingSince: null,
  };
}

/** The fence: held, and the monotonic deadline not passed. Synchronous, so it holds when timers are late. */
export function isHeld(lease: LeaseState): boolean {
  return lease.status === 'held' && lease.ctx.now() < lease.validUntil;
}

/** Throws a retryable LEASE_NOT_HELD unless {@link isHeld}, saying why. */
export function assertHeld(lease: LeaseState): void {
  if (isHeld(lease)) return;
  throw new AppError(
    'LEASE_NOT_HELD',
    lease.status === 'held'
      ? 'this instance could not renew the database lease in time; writes are refused'
      : `this instance does not hold the database lease (${lease.status}); retry`,
    { retryable: true, context: { state: lease.status, epoch: lease.record?.epoch } },
  );
}

/** Stops everything and reports the loss (once: only from `held`). */
export function markLost(lease: LeaseState, reason: LostReason): void {
  if (lease.status !== 'held') return;
  lease.status = 'lost';
  lease.validUntil = Number.NEGATIVE_INFINITY;
  clearTimeout(lease.renewTimer);
  clearTimeout(lease.expiryTimer);
  lease.ctx.logger.error('database lease lost', {
    reason,
    epoch: lease.record?.epoch,
    owner: lease.ctx.owner,
  });
  lease.events?.onLost(reason);
}

/** (Re)arms the timer that reports the expiry of the held lease. */
export function armExpiry(lease: LeaseState): void {
  const { now } = lease.ctx;
  clearTimeout(lease.expiryTimer);
  // The synchronous checks in isHeld() are the fence; this timer only reports.
  lease.expiryTimer = setTimeout(
    () => {
      if (lease.status === 'held' && now() >= lease.validUntil) markLost(lease, 'expired');
      else if (lease.status === 'held') armExpiry(lease);
    },
    Math.max(0, lease.validUntil - now()) + 1,
  );
  lease.expiryTimer.unref?.();
}

/** Takes `stored` as the held record; a write sent at `sentAt` extends the deadline. */
export function adopt(lease: LeaseState, stored: StoredLease, sentAt: number): void {
  const { timing } = lease.ctx;
  lease.generation = stored.generation;
  lease.record = stored.record;
  lease.validUntil = Math.max(lease.validUntil, sentAt + timing.ttlMs - timing.marginMs);
}

/** Reports a handover request in the held record, once per requester. */
export function noticeHandover(lease: LeaseState): void {
  const { owner, logger } = lease.ctx;
  const request = lease.record?.handover;
  if (!request || request.owner === owner || lease.handoverSeen.has(request.owner)) return;
  lease.handoverSeen.add(request.owner);
  logger.info('handover requested by another revision', {
    requester: request.owner,
    requesterRevision: request.revision,
    epoch: lease.record?.epoch,
  });
  lease.events?.onHandoverRequested({ owner: request.owner, revision: request.revision });
}

/** Stops renewing without writing; a lease never acquired can no longer be. */
export function abandon(lease: LeaseState): void {
  clearTimeout(lease.renewTimer);
  clearTimeout(lease.expiryTimer);
  if (lease.status === 'held' || lease.status === 'idle') lease.status = 'released';
  lease.validUntil = Number.NEGATIVE_INFINITY;
}
