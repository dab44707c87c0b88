/**
 * Where a new writer's database comes from: the newest replica in the
 * database bucket that restores, looked for from the lease's previous epoch
 * down (single-writer.ts calls it once it holds the lease).
 */
import { AppError, type Logger } from '@slideshow/runtime';
import { type Litestream, REPLICA_BASE, replicaPathFor } from './litestream.ts';

/** How many earlier epochs a restore looks back for a replica (writers that died before their first snapshot). */
const RESTORE_LOOKBACK = 20;

/**
 * Restores the newest replica: the previous epoch's path, else the one
 * before (a writer that died before its first snapshot never served a
 * write), up to RESTORE_LOOKBACK epochs back; else, when the bucket can be
 * listed, the newest epoch path it holds (the lease object was deleted or
 * reset by hand, so the lease's previous epoch says nothing, or more writers
 * than the look-back died in a row); else the single path used before the
 * lease existed. Starting from an empty database while the bucket holds a
 * replica would lose it all, and the orphan sweeper would then delete the
 * originals the lost rows named.
 */
export async function restoreLatest(
  litestream: Litestream,
  previousEpoch: number,
  logger: Logger,
  bucket: BucketFallback | undefined,
): Promise<string> {
  const last = Math.max(1, previousEpoch - RESTORE_LOOKBACK);
  for (let epoch = previousEpoch; epoch >= last && epoch > 0; epoch--) {
    const path = replicaPathFor(epoch);
    if ((await litestream.restore(path)) === 'restored') {
      if (epoch !== previousEpoch) {
        logger.warn('the previous writer left no replica; restored an earlier one', {
          previousEpoch,
          restoredFrom: path,
        });
      }
      return path;
    }
  }
  const listed = (await bucket?.listEpochs()) ?? [];
  if (bucket && listed.length > 0) {
    const untried = listed.filter((epoch) => epoch > previousEpoch || epoch < last);
    return restoreNewestListed(litestream, logger, { previousEpoch, listed, untried }, bucket);
  }
  if ((await litestream.restore(REPLICA_BASE)) === 'restored') return REPLICA_BASE;
  return 'no replica';
}

/** What the restore's fallback needs of the database bucket and the lease. */
export interface BucketFallback {
  /** The epochs that have a path in the bucket (replica-epochs.ts). */
  listEpochs(): Promise<number[]>;
  /** Raises the lease's epoch above `epoch` (a no-op when it is above already). */
  raiseEpochAbove(epoch: number): Promise<void>;
}

/**
 * The fallback of {@link restoreLatest}: the newest of the bucket's epoch paths
 * the look-back did not try. The lease's epoch is first raised above every path
 * listed, so this writer never replicates into a path that holds data, and a
 * writer that dies before recording its epoch leaves a lease whose look-back
 * finds the newest path. A bucket that holds epoch paths none of which
 * restores is refused: starting empty would lose them.
 */
async function restoreNewestListed(
  litestream: Litestream,
  logger: Logger,
  found: { previousEpoch: number; listed: number[]; untried: number[] },
  bucket: BucketFallback,
): Promise<string> {
  const { previousEpoch, listed } = found;
  await bucket.raiseEpochAbove(Math.max(...listed));
  const untried = [...found.untried].sort((a, b) => b - a).slice(0, RESTORE_LOOKBACK);
  for (const epoch of untried) {
    const path = replicaPathFor(epoch);
    if ((await litestream.restore(path)) === 'restored') {
      logger.warn(
        'the lease named no epoch with a replica; restored the newest one in the bucket',
        {
          previousEpoch,
          restoredFrom: path,
          hint: 'docs/deploy.md "Recover from a lost lease"',
        },
      );
      return path;
    }
  }
  throw new AppError(
    'INTERNAL',
    `the database bucket holds replica paths (epochs ${untried.join(', ')}) but none could be restored; refusing to start with an empty database`,
    { context: { previousEpoch, listed: listed.length }, retryable: false },
  );
}
