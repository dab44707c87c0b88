/**
 * The acquisition: read the record every poll period, let the contender
 * (contender.ts) decide, and write what it decided to take — recognising our
 * own write whose reply was lost — until the lease is ours or the contender
 * gives up.
 */
import { AppError, coerceError } from '@slideshow/runtime';
import { createContender } from './contender.ts';
import type { Acquired, AcquireOptions } from './lease.ts';
import { adopt, type LeaseContext, type LeaseState } from './lease-state.ts';
import type { LeaseRecord, StoredLease } from './lease-store.ts';

/** Waits `ms`, or rejects with the signal's reason once it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
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
}

/** Reads the record; a retryable failure is logged and waited out (a poll period): `again`. */
export async function readRecord(
  ctx: LeaseContext,
  signal?: AbortSignal,
): Promise<StoredLease | undefined | 'again'> {
  try {
    return await ctx.store.read();
  } catch (error) {
    const e = coerceError(error);
    if (!e.retryable) throw e;
    ctx.logger.warn('reading the database lease failed; retrying', { error: e });
    await sleep(ctx.timing.pollEveryMs, signal);
    return 'again';
  }
}

/** A record naming this process as the holder, with `epoch`. */
function newRecord(ctx: LeaseContext, epoch: number): LeaseRecord {
  const { owner, revision, timing, wall } = ctx;
  return {
    version: 1,
    epoch,
    ttlMs: timing.ttlMs,
    holder: { owner, revision, since: wall() },
    handover: null,
    servingSince: null,
    writtenAt: wall(),
  };
}

/** Writes `next` over `ifGeneration`; a conflict is ours only if our write landed with its reply lost. */
async function take(
  lease: LeaseState,
  next: LeaseRecord,
  ifGeneration: string,
): Promise<'held' | 'conflict'> {
  const { store, owner, now } = lease.ctx;
  const sentAt = now();
  try {
    const written = await store.write(next, ifGeneration);
    adopt(lease, { record: next, generation: written }, sentAt);
    return 'held';
  } catch (error) {
    const e = coerceError(error);
    if (e.code !== 'CONFLICT') throw e;
    // Our write may have landed with its reply lost (the client retried and got 412).
    const current = await store.read();
    if (current?.record.holder?.owner === owner && current.record.epoch === next.epoch) {
      adopt(lease, current, sentAt);
      return 'held';
    }
    return 'conflict';
  }
}

/** {@link Lease.acquire}: polls until the lease is ours (or the timeout, or the signal). */
export async function acquire(
  lease: LeaseState,
  { timeoutMs, requestHandover, signal }: AcquireOptions,
): Promise<Acquired> {
  const { ctx } = lease;
  const { store, logger, owner, revision, timing, now, wall } = ctx;
  if (lease.status !== 'idle') {
    throw new AppError('CONFLICT', `lease is ${lease.status}; acquire once`);
  }
  const contender = createContender(
    {
      store,
      logger,
      owner,
      revision,
      timing,
      now,
      wall,
      newRecord: (epoch) => newRecord(ctx, epoch),
    },
    { timeoutMs, requestHandover },
  );
  let last: StoredLease | undefined;
  while (true) {
    signal?.throwIfAborted();
    contender.checkDeadline(last);
    const current = await readRecord(ctx, signal);
    if (current === 'again') continue;
    last = current;
    const move = await contender.next(current);
    if ('wait' in move) {
      await sleep(timing.pollEveryMs, signal);
      continue;
    }
    // A conflict (another contender wrote first) looks again at once.
    if ((await take(lease, move.take, move.ifGeneration)) === 'held' && lease.record) {
      lease.status = 'held';
      const acquired: Acquired = {
        epoch: lease.record.epoch,
        previousEpoch: current?.record.epoch ?? 0,
        how: move.how,
        waitedMs: contender.waitedMs(),
      };
      logger.info('database lease acquired', { owner, revision, ...acquired });
      return acquired;
    }
  }
}
