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
 * holder sees it at its next renewal and decides when to release.
 */
import { AppError, coerceError, type Logger } from '@slideshow/runtime';
import { createContender } from './contender.ts';
import { ABSENT, type LeaseRecord, type LeaseStore, type StoredLease } from './lease-store.ts';

export { ABSENT, type LeaseRecord, type LeaseStore, type StoredLease } from './lease-store.ts';

/** Timing of the lease. */
export interface LeaseTiming {
  /** How long a holder's write keeps the lease. */
  ttlMs: number;
  /** Safety margin on both sides (holder stops early, contender waits longer). */
  marginMs: number;
  /** Renewal period; well inside the TTL so a failed renewal is retried in time. */
  renewEveryMs: number;
  /** How often a contender reads the record. */
  pollEveryMs: number;
}

/** Defaults: 15 s TTL, renewed every 5 s; takeover of a dead holder after ≥ 17 s. */
export const DEFAULT_LEASE_TIMING: LeaseTiming = {
  ttlMs: 15_000,
  marginMs: 2_000,
  renewEveryMs: 5_000,
  pollEveryMs: 500,
};

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
}

type State = 'idle' | 'held' | 'lost' | 'released';

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/** Creates the lease of one process. */
export function createLease(options: LeaseOptions): Lease {
  const timing: LeaseTiming = { ...DEFAULT_LEASE_TIMING, ...options.timing };
  if (timing.renewEveryMs + timing.marginMs >= timing.ttlMs - timing.marginMs) {
    throw new AppError(
      'VALIDATION_FAILED',
      `lease timing leaves no room to retry a renewal: renewEveryMs (${timing.renewEveryMs}) + marginMs (${timing.marginMs}) must be below ttlMs (${timing.ttlMs}) − marginMs`,
    );
  }
  const now = options.now ?? (() => performance.now());
  const wall = () => (options.wallClock?.() ?? new Date()).toISOString();
  const { store, owner, revision, logger } = options;

  let state: State = 'idle';
  let generation = ABSENT;
  let record: LeaseRecord | undefined;
  let validUntil = Number.NEGATIVE_INFINITY;
  let events: HolderEvents | undefined;
  let renewTimer: ReturnType<typeof setTimeout> | undefined;
  let expiryTimer: ReturnType<typeof setTimeout> | undefined;
  const handoverSeen = new Set<string>();

  const isHeld = () => state === 'held' && now() < validUntil;

  const markLost = (reason: LostReason) => {
    if (state !== 'held') return;
    state = 'lost';
    validUntil = Number.NEGATIVE_INFINITY;
    clearTimeout(renewTimer);
    clearTimeout(expiryTimer);
    logger.error('database lease lost', { reason, epoch: record?.epoch, owner });
    events?.onLost(reason);
  };

  const armExpiry = () => {
    clearTimeout(expiryTimer);
    // The synchronous checks in isHeld() are the fence; this timer only reports.
    expiryTimer = setTimeout(
      () => {
        if (state === 'held' && now() >= validUntil) markLost('expired');
        else if (state === 'held') armExpiry();
      },
      Math.max(0, validUntil - now()) + 1,
    );
    expiryTimer.unref?.();
  };

  const adopt = (stored: StoredLease, sentAt: number) => {
    generation = stored.generation;
    record = stored.record;
    validUntil = Math.max(validUntil, sentAt + timing.ttlMs - timing.marginMs);
  };

  const noticeHandover = () => {
    const request = record?.handover;
    if (!request || request.owner === owner || handoverSeen.has(request.owner)) return;
    handoverSeen.add(request.owner);
    logger.info('handover requested by another revision', {
      requester: request.owner,
      requesterRevision: request.revision,
      epoch: record?.epoch,
    });
    events?.onHandoverRequested({ owner: request.owner, revision: request.revision });
  };

  /**
   * Writes `build(held record)` over the held record. On a conflict it re-reads, and if the
   * record is still ours (a handover request was added, our own write landed and its reply was
   * lost, or a renewal and a raise of ours crossed) it builds again from that record: a write
   * built from the record it raced would undo the other (a renewal undoing a raised epoch).
   */
  const writeHeld = async (
    build: (held: LeaseRecord) => LeaseRecord,
  ): Promise<'ok' | 'superseded'> => {
    for (let attempt = 0; attempt < 3 && record; attempt++) {
      const next = build(record);
      const sentAt = now();
      try {
        const written = await store.write(next, generation);
        adopt({ record: next, generation: written }, sentAt);
        return 'ok';
      } catch (error) {
        const e = coerceError(error);
        if (e.code !== 'CONFLICT') throw e;
        const current = await store.read();
        const ours =
          current?.record.holder?.owner === owner && current.record.epoch === record?.epoch;
        if (!current || !ours) return 'superseded';
        generation = current.generation;
        record = current.record;
      }
    }
    return 'superseded';
  };

  const renew = async () => {
    if (state !== 'held' || !record) return;
    let retryInMs = timing.renewEveryMs;
    try {
      const outcome = await writeHeld((held) => ({
        ...held,
        ttlMs: timing.ttlMs,
        writtenAt: wall(),
      }));
      if (outcome === 'superseded') {
        markLost('superseded');
        return;
      }
      armExpiry();
      noticeHandover();
    } catch (error) {
      retryInMs = Math.min(1_000, timing.renewEveryMs);
      logger.warn('database lease renewal failed; retrying', {
        error: coerceError(error),
        validForMs: Math.round(validUntil - now()),
      });
    }
    if (state === 'held') {
      renewTimer = setTimeout(() => void renew(), retryInMs);
    }
  };

  const take = async (next: LeaseRecord, ifGeneration: string): Promise<'held' | 'conflict'> => {
    const sentAt = now();
    try {
      const written = await store.write(next, ifGeneration);
      adopt({ record: next, generation: written }, sentAt);
      return 'held';
    } catch (error) {
      const e = coerceError(error);
      if (e.code !== 'CONFLICT') throw e;
      // Our write may have landed with its reply lost (the client retried and got 412).
      const current = await store.read();
      if (current?.record.holder?.owner === owner && current.record.epoch === next.epoch) {
        adopt(current, sentAt);
        return 'held';
      }
      return 'conflict';
    }
  };

  const newRecord = (epoch: number): LeaseRecord => ({
    version: 1,
    epoch,
    ttlMs: timing.ttlMs,
    holder: { owner, revision, since: wall() },
    handover: null,
    writtenAt: wall(),
  });

  return {
    async acquire({ timeoutMs, requestHandover, signal }) {
      if (state !== 'idle') throw new AppError('CONFLICT', `lease is ${state}; acquire once`);
      const contender = createContender(
        { store, logger, owner, revision, timing, now, wall, newRecord },
        { timeoutMs, requestHandover },
      );
      let last: StoredLease | undefined;
      while (true) {
        signal?.throwIfAborted();
        contender.checkDeadline(last);
        let current: StoredLease | undefined;
        try {
          current = await store.read();
        } catch (error) {
          const e = coerceError(error);
          if (!e.retryable) throw e;
          logger.warn('reading the database lease failed; retrying', { error: e });
          await sleep(timing.pollEveryMs, signal);
          continue;
        }
        last = current;
        const move = await contender.next(current);
        if ('wait' in move) {
          await sleep(timing.pollEveryMs, signal);
          continue;
        }
        // A conflict (another contender wrote first) looks again at once.
        if ((await take(move.take, move.ifGeneration)) === 'held' && record) {
          state = 'held';
          const acquired: Acquired = {
            epoch: record.epoch,
            previousEpoch: current?.record.epoch ?? 0,
            how: move.how,
            waitedMs: contender.waitedMs(),
          };
          logger.info('database lease acquired', { owner, revision, ...acquired });
          return acquired;
        }
      }
    },

    startRenewing(handlers) {
      if (state !== 'held') throw new AppError('LEASE_NOT_HELD', 'startRenewing before acquire');
      events = handlers;
      armExpiry();
      noticeHandover();
      renewTimer = setTimeout(() => void renew(), timing.renewEveryMs);
    },

    isHeld,

    assertHeld() {
      if (isHeld()) return;
      throw new AppError(
        'LEASE_NOT_HELD',
        state === 'held'
          ? 'this instance could not renew the database lease in time; writes are refused'
          : `this instance does not hold the database lease (${state}); retry`,
        { retryable: true, context: { state, epoch: record?.epoch } },
      );
    },

    epoch: () => record?.epoch ?? 0,

    async raiseEpoch(atLeast) {
      if (!isHeld() || !record)
        throw new AppError('LEASE_NOT_HELD', 'raiseEpoch without the lease');
      if (record.epoch >= atLeast) return record.epoch;
      const outcome = await writeHeld((held) => ({
        ...held,
        epoch: Math.max(held.epoch, atLeast),
        writtenAt: wall(),
      }));
      if (outcome === 'superseded') {
        markLost('superseded');
        throw new AppError('LEASE_NOT_HELD', 'lost the lease while raising its epoch', {
          retryable: true,
        });
      }
      logger.warn('raised the lease epoch above the one recorded in the database', {
        epoch: record.epoch,
      });
      return record.epoch;
    },

    async release() {
      if (state !== 'held' || !record) {
        this.abandon();
        return;
      }
      clearTimeout(renewTimer);
      clearTimeout(expiryTimer);
      state = 'released';
      validUntil = Number.NEGATIVE_INFINITY;
      const released: LeaseRecord = { ...record, holder: null, handover: null, writtenAt: wall() };
      try {
        const written = await store.write(released, generation);
        generation = written;
        record = released;
        logger.info('database lease released', { epoch: released.epoch, owner });
      } catch (error) {
        // Not fatal: the record expires after its TTL and the next instance takes over.
        logger.warn('releasing the database lease failed; it will expire instead', {
          error: coerceError(error),
          epoch: released.epoch,
        });
      }
    },

    abandon() {
      clearTimeout(renewTimer);
      clearTimeout(expiryTimer);
      if (state === 'held' || state === 'idle') state = 'released';
      validUntil = Number.NEGATIVE_INFINITY;
    },
  };
}

/**
 * Timing derived from one TTL: renew every third of it (two renewals can fail
 * before the holder stops), a margin of 2/15 (2 s of 15 s) on both sides.
 */
export function leaseTimingFor(ttlMs: number): LeaseTiming {
  return {
    ttlMs,
    renewEveryMs: Math.round(ttlMs / 3),
    marginMs: Math.round((ttlMs * 2) / 15),
    pollEveryMs: Math.min(DEFAULT_LEASE_TIMING.pollEveryMs, Math.round(ttlMs / 10)),
  };
}
