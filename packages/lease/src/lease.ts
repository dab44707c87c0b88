/**
 * The single-writer lease with fencing, on any LeaseStore (lease-store.ts).
 *
 * Safety never depends on comparing wall clocks across machines. Each side
 * reasons on its own monotonic clock (`performance.now()`):
 *
 * - the holder counts its lease valid until `start + ttl − margin`, where
 *   `start` is when it *sent* its last successful write; `isHeld()` /
 *   `assertHeld()` compare against that deadline synchronously, so a write
 *   fence built on them holds even when the event loop stalls and no timer
 *   fires;
 * - a contender may take over only a record whose generation it has seen
 *   unchanged for `ttl + margin` of its own time. The holder's last write
 *   landed before the contender first saw it, so the holder's deadline passed
 *   at least `2 × margin` before the takeover (minus clock-rate drift, which
 *   is parts per million).
 *
 * Epochs: every acquisition writes `epoch + 1`; release keeps the record (with
 * no holder) so the epoch survives. A contender of another revision (a deploy
 * or rollback on Cloud Run, where the new revision must become ready before
 * the old one is stopped) writes a handover request into the record; the
 * holder sees it at its next renewal and decides when to release. The request
 * comes before the requester is ready, so the holder that released watches it
 * (successor-watch.ts) until it marks the record serving, and learns when it
 * let go or stopped renewing first.
 *
 * The pieces: lease-timing.ts (the timing policy), lease-state.ts (where the
 * lease stands and the fence), acquire.ts with contender.ts (getting the
 * lease), holder-writes.ts (renewals, raiseEpoch, markServing, release),
 * successor-watch.ts (after a handover).
 */

import type { Logger } from '@slideshow/runtime';
import { acquire } from './acquire.ts';
import { markServing, raiseEpoch, release, startRenewing } from './holder-writes.ts';
import { abandon, assertHeld, createLeaseState, isHeld } from './lease-state.ts';
import type { LeaseStore } from './lease-store.ts';
import { type LeaseTiming, resolveLeaseTiming } from './lease-timing.ts';
import { type SuccessorOutcome, watchSuccessor } from './successor-watch.ts';

export { ABSENT, type LeaseRecord, type LeaseStore, type StoredLease } from './lease-store.ts';
export { DEFAULT_LEASE_TIMING, type LeaseTiming, leaseTimingFor } from './lease-timing.ts';
export type { SuccessorOutcome } from './successor-watch.ts';

/** Options for {@link createLease}. */
export interface LeaseOptions {
  store: LeaseStore;
  /** Unique per process incarnation (e.g. revision + random id). */
  owner: string;
  /** Deployment identity (Cloud Run's K_REVISION); null when none. */
  revision: string | null;
  timing?: Partial<LeaseTiming>;
  logger: Logger;
  /** Monotonic milliseconds (default `performance.now`); injectable for tests. */
  now?: () => number;
  /** Wall clock, only for the informational times in the record. */
  wallClock?: () => Date;
}

/** Options for {@link Lease.acquire}. */
export interface AcquireOptions {
  /** Give up (LEASE_NOT_HELD) after this long. */
  timeoutMs: number;
  /** Ask a holder of another revision to hand over (Cloud Run deploys and rollbacks). */
  requestHandover: boolean;
  signal?: AbortSignal;
}

/** What an acquisition found. */
export interface Acquired {
  epoch: number;
  /** The epoch of the record before ours (0 when there was no record). */
  previousEpoch: number;
  /** How the lease was obtained. */
  how: 'created' | 'released' | 'expired';
  /** Monotonic ms spent waiting. */
  waitedMs: number;
}

/** Why a held lease ended without a release. */
export type LostReason = 'expired' | 'superseded';

/** Callbacks of a holder. */
export interface HolderEvents {
  /** The lease is no longer valid: stop writing at once. Called once. */
  onLost(reason: LostReason): void;
  /** A contender of another revision asks for the lease. Called once per requester. */
  onHandoverRequested(by: { owner: string; revision: string | null }): void;
}

/** A lease for one process. */
export interface Lease {
  acquire(options: AcquireOptions): Promise<Acquired>;
  /** Starts the renewal loop (after acquire). */
  startRenewing(events: HolderEvents): void;
  /** True while the lease is held and its deadline (monotonic) has not passed. */
  isHeld(): boolean;
  /** Throws a retryable LEASE_NOT_HELD unless {@link isHeld}. */
  assertHeld(): void;
  /** The epoch held (0 before acquiring). */
  epoch(): number;
  /** Re-writes the held record with an epoch of at least `atLeast` (repairs a reset lease object). */
  raiseEpoch(atLeast: number): Promise<number>;
  /** Stops renewing and writes the record with no holder (epoch kept). Never throws. */
  release(): Promise<void>;
  /** Stops renewing without writing (after a loss, or when the process is about to die). */
  abandon(): void;
  /** Marks the held record serving (a watching predecessor stops watching). Never throws. */
  markServing(): Promise<void>;
  /**
   * After a handover: resolves once the successor served, or once it let go of the lease (or
   * stopped renewing) before it did (successor-watch.ts). Rejects when `signal` aborts.
   */
  watchSuccessor(options?: { signal?: AbortSignal }): Promise<SuccessorOutcome>;
}

/** Creates the lease of one process. */
export function createLease(options: LeaseOptions): Lease {
  const timing = resolveLeaseTiming(options.timing);
  const now = options.now ?? (() => performance.now());
  const wall = () => (options.wallClock?.() ?? new Date()).toISOString();
  const { store, owner, revision, logger } = options;
  const lease = createLeaseState({ store, owner, revision, logger, timing, now, wall });

  return {
    acquire: (acquireOptions) => acquire(lease, acquireOptions),
    startRenewing: (handlers) => startRenewing(lease, handlers),
    isHeld: () => isHeld(lease),
    assertHeld: () => assertHeld(lease),
    epoch: () => lease.record?.epoch ?? 0,
    raiseEpoch: (atLeast) => raiseEpoch(lease, atLeast),
    release() {
      // `this`, as before: a release without the lease calls the object's own abandon().
      return release(lease, this);
    },
    abandon: () => abandon(lease),
    markServing: () => markServing(lease),
    watchSuccessor: (watchOptions) => watchSuccessor(lease, watchOptions),
  };
}
