/**
 * What a process acquiring the lease does on each look at the record (see
 * lease.ts for the safety argument): take an absent or released record; take
 * over a record whose generation it has seen unchanged for `ttl + margin` of
 * its own monotonic time; otherwise wait — after asking a holder of another
 * revision to hand over, once, when asked to. It decides; acquire.ts writes.
 */
import { AppError, coerceError, type Logger } from '@slideshow/runtime';
import type { Acquired, LeaseTiming } from './lease.ts';
import { ABSENT, type LeaseRecord, type LeaseStore, type StoredLease } from './lease-store.ts';

/** What a contender works with. */
export interface ContenderContext {
  store: LeaseStore;
  logger: Logger;
  owner: string;
  revision: string | null;
  timing: LeaseTiming;
  /** Monotonic milliseconds. */
  now: () => number;
  /** Wall-clock ISO time, for the informational times in the record. */
  wall: () => string;
  /** A record naming this process as the holder, with `epoch`. */
  newRecord(epoch: number): LeaseRecord;
}

/** Write `take` over generation `ifGeneration`, or wait a poll period and look again. */
export type Move =
  | { take: LeaseRecord; ifGeneration: string; how: Acquired['how'] }
  | { wait: true };

/** One acquisition's contender. */
export interface Contender {
  /** Throws a retryable LEASE_NOT_HELD once the timeout has passed (`last`: the record last read). */
  checkDeadline(last: StoredLease | undefined): void;
  /** What to do about the record just read (undefined: there is none). */
  next(current: StoredLease | undefined): Promise<Move>;
  /** Monotonic ms since the acquisition started. */
  waitedMs(): number;
}

/** The retryable LEASE_NOT_HELD of an acquisition that timed out, naming the holder that kept renewing. */
function gaveUp(last: StoredLease | undefined, waitedMs: number): AppError {
  const holder = last?.record.holder;
  return new AppError(
    'LEASE_NOT_HELD',
    holder
      ? `gave up after ${waitedMs} ms waiting for the database lease held by ${holder.owner} (revision ${holder.revision ?? 'none'}, epoch ${last?.record.epoch}), which kept renewing it: another instance is the writer`
      : `gave up after ${waitedMs} ms waiting for the database lease`,
    { retryable: true, context: { holder: holder?.owner, epoch: last?.record.epoch } },
  );
}

/** Starts one acquisition's bookkeeping: its deadline, the generation seen and since when. */
export function createContender(
  ctx: ContenderContext,
  options: { timeoutMs: number; requestHandover: boolean },
): Contender {
  const { store, logger, owner, revision, timing, now } = ctx;
  const started = now();
  const deadline = started + options.timeoutMs;
  let observed: { generation: string; since: number } | undefined;
  let requested = false;
  let lastLog = Number.NEGATIVE_INFINITY;

  /** Writes a handover request into the holder's record (a lost race is not an error). */
  const askForHandover = async (current: StoredLease): Promise<void> => {
    const request: LeaseRecord = {
      ...current.record,
      handover: { owner, revision, requestedAt: ctx.wall() },
      writtenAt: ctx.wall(),
    };
    try {
      const written = await store.write(request, current.generation);
      requested = true;
      // Our own write changed the generation: restart the expiry clock (conservative).
      observed = { generation: written, since: now() };
      logger.info('asked the holder of the database lease to hand over', {
        holder: current.record.holder?.owner,
        holderRevision: current.record.holder?.revision,
        epoch: current.record.epoch,
      });
    } catch (error) {
      if (coerceError(error).code !== 'CONFLICT') throw error;
    }
  };

  return {
    checkDeadline(last) {
      if (now() > deadline) throw gaveUp(last, Math.round(now() - started));
    },

    async next(current) {
      if (!current) return { take: ctx.newRecord(1), ifGeneration: ABSENT, how: 'created' };
      const holder = current.record.holder;
      if (holder === null) {
        return {
          take: ctx.newRecord(current.record.epoch + 1),
          ifGeneration: current.generation,
          how: 'released',
        };
      }
      if (holder.owner === owner) {
        throw new AppError(
          'CONFLICT',
          `the lease names this process (${owner}) before it acquired it`,
        );
      }
      const seenFor = observed?.generation === current.generation ? now() - observed.since : 0;
      if (observed?.generation !== current.generation) {
        observed = { generation: current.generation, since: now() };
      }
      const expiresAfter = current.record.ttlMs + timing.marginMs;
      if (seenFor >= expiresAfter) {
        logger.warn('taking over an expired database lease', {
          previousOwner: holder.owner,
          previousRevision: holder.revision,
          epoch: current.record.epoch,
          unchangedForMs: Math.round(seenFor),
        });
        return {
          take: ctx.newRecord(current.record.epoch + 1),
          ifGeneration: current.generation,
          how: 'expired',
        };
      }
      if (
        options.requestHandover &&
        !requested &&
        holder.revision !== revision &&
        current.record.handover?.owner !== owner
      ) {
        await askForHandover(current);
      }
      if (now() - lastLog >= 5_000) {
        lastLog = now();
        logger.info('waiting for the database lease', {
          holder: holder.owner,
          holderRevision: holder.revision,
          epoch: current.record.epoch,
          unchangedForMs: Math.round(seenFor),
          takeoverIfUnchangedForMs: expiresAfter,
          waitedMs: Math.round(now() - started),
          giveUpAfterMs: options.timeoutMs,
        });
      }
      return { wait: true };
    },

    waitedMs: () => Math.round(now() - started),
  };
}
