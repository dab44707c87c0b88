/**
 * What a holder that handed the lease over keeps doing: watch its successor.
 * A handover is asked for before the successor is ready (Cloud Run keeps the
 * old revision serving until the new one passes its startup probe), so the
 * successor can still fail after it took the lease — and then nobody writes.
 *
 * The watch reads the record every poll period and ends once with:
 *
 * - `served`: a holder other than this process marked the record serving
 *   (`Lease.markServing`): the successor started; nothing more to watch.
 * - `abandoned`, `released`: the record has no holder and an epoch above this
 *   process's: a successor took the lease and let go before it served.
 * - `abandoned`, `expired`: the record named a holder that never served and
 *   stood unchanged for its TTL + margin of this process's monotonic time —
 *   the rule a contender takes over by (lease.ts), so a successor that is
 *   alive, however slow its restore, renews and is never reported. The watch
 *   first releases that record (compare-and-swap over the generation it saw,
 *   epoch kept), so the next instance takes it at once instead of waiting
 *   out the TTL again.
 * - `abandoned`, `not-taken`: the record this process released (or none)
 *   stood unchanged as long: the requester never took the lease.
 *
 * A record that still names this process as holder (its release at the
 * handover met a concurrent write and did not land) is released again, not
 * mistaken for a successor that stopped renewing.
 */
import { AppError, coerceError } from '@slideshow/runtime';
import { readRecord, sleep } from './acquire.ts';
import type { LeaseState } from './lease-state.ts';
import { ABSENT, type LeaseRecord, type StoredLease } from './lease-store.ts';

/** How a watch of the successor ended. */
export type SuccessorOutcome =
  | { outcome: 'served'; holder: string; revision: string | null; epoch: number }
  | {
      outcome: 'abandoned';
      how: 'released' | 'expired' | 'not-taken';
      /** The holder last seen (null: none was seen since the release). */
      holder: string | null;
      epoch: number;
    };

/**
 * Releases the record over `seen` (a successor's that stopped renewing, or this process's
 * own when its release did not land); false when someone wrote first.
 */
async function releaseSeen(lease: LeaseState, seen: StoredLease): Promise<boolean> {
  const { store, logger, wall } = lease.ctx;
  const released: LeaseRecord = {
    ...seen.record,
    holder: null,
    handover: null,
    servingSince: null,
    writtenAt: wall(),
  };
  try {
    await store.write(released, seen.generation);
    const own = seen.record.holder?.owner === lease.ctx.owner;
    logger.warn(
      own
        ? 'released the database lease again: the release at the handover did not land'
        : 'released the database lease of a successor that stopped renewing',
      { holder: seen.record.holder?.owner, epoch: seen.record.epoch },
    );
    return true;
  } catch (error) {
    const e = coerceError(error);
    if (e.code === 'CONFLICT') return false;
    // Not fatal: the next instance takes the record over after its TTL instead.
    logger.warn('releasing the expired database lease failed; it stays until its TTL', {
      error: e,
    });
    return true;
  }
}

/** {@link Lease.watchSuccessor}: see the file comment. Rejects when `signal` aborts. */
export async function watchSuccessor(
  lease: LeaseState,
  { signal }: { signal?: AbortSignal } = {},
): Promise<SuccessorOutcome> {
  const { owner, timing, now } = lease.ctx;
  if (lease.status !== 'released' && lease.status !== 'lost') {
    throw new AppError('CONFLICT', `watchSuccessor on a lease that is ${lease.status}`);
  }
  const ownEpoch = lease.record?.epoch ?? 0;
  let observed: { generation: string; since: number } | undefined;
  let lastHolder: string | null = null;
  while (true) {
    signal?.throwIfAborted();
    const current = await readRecord(lease.ctx, signal);
    if (current === 'again') continue;
    const record = current?.record;
    const holder = record?.holder ?? null;
    const epoch = record?.epoch ?? 0;
    if (holder && holder.owner !== owner) {
      lastHolder = holder.owner;
      if (record?.servingSince) {
        return { outcome: 'served', holder: holder.owner, revision: holder.revision, epoch };
      }
    }
    if (!holder && epoch > ownEpoch) {
      return { outcome: 'abandoned', how: 'released', holder: lastHolder, epoch };
    }
    if (current && holder?.owner === owner) {
      // This process's own release did not land (a write raced it, e.g. a second handover
      // request): it is not a successor that stopped renewing. Release again over what is
      // there now, then watch as after any release.
      if (await releaseSeen(lease, current)) observed = undefined;
      await sleep(timing.pollEveryMs, signal);
      continue;
    }
    const generation = current?.generation ?? ABSENT;
    if (observed?.generation !== generation) {
      observed = { generation, since: now() };
    } else if (now() - observed.since >= (record?.ttlMs ?? timing.ttlMs) + timing.marginMs) {
      if (current && holder) {
        if (await releaseSeen(lease, current)) {
          return { outcome: 'abandoned', how: 'expired', holder: holder.owner, epoch };
        }
      } else {
        return { outcome: 'abandoned', how: 'not-taken', holder: null, epoch };
      }
    }
    await sleep(timing.pollEveryMs, signal);
  }
}
