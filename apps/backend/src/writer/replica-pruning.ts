/**
 * Deletes the Litestream replicas that no writer will restore from again.
 *
 * Each lease epoch replicates to its own path, `slideshow.db/epochs/<epoch>/`
 * (litestream.ts `replicaPathFor`), and a path keeps its last snapshot after
 * its writer stops: one snapshot per deploy, restart or takeover. Once a
 * writer's own first snapshot exists, a later writer restores from that
 * writer's path (or, if it died before its first snapshot, from the path this
 * writer restored from: single-writer.ts `restoreLatest` looks back), so every
 * path older than the one this writer restored from is dead weight. This
 * removes those, and only those: the path it restored from and every newer one
 * stay, as do the pre-lease single path (`slideshow.db/` outside `epochs/`)
 * and any name under `epochs/` that is not an epoch path.
 *
 * Epoch paths are zero-padded, so a key-ordered listing meets the old epochs
 * first and stops at the first kept one: the listing reads the old objects
 * and nothing of the live replica.
 */
import type { Logger } from '@slideshow/runtime';
import { coerceError } from '@slideshow/runtime';
import type { ObjectStore } from '@slideshow/storage';
import { REPLICA_BASE, replicaPathFor } from './litestream.ts';

const EPOCHS_PREFIX = `${REPLICA_BASE}/epochs/`;
const EPOCH_KEY = /^slideshow\.db\/epochs\/(\d{10})\//;

/** What one pruning removed. */
export interface Pruned {
  /** The epochs whose replica paths were deleted, oldest first. */
  epochs: number[];
  /** How many objects were deleted. */
  objects: number;
}

/** The epoch of a replica object's key, or undefined for any other key. */
export function epochOfKey(key: string): number | undefined {
  const digits = EPOCH_KEY.exec(key)?.[1];
  return digits === undefined ? undefined : Number(digits);
}

/** Deletes the replica paths of every epoch below `keepFrom` from the database bucket. */
export async function pruneReplicasBefore(store: ObjectStore, keepFrom: number): Promise<Pruned> {
  const epochs: number[] = [];
  let objects = 0;
  for await (const info of store.list(EPOCHS_PREFIX)) {
    const epoch = epochOfKey(info.key);
    // Not an epoch path, or one already deleted (the rest of its listed page).
    if (epoch === undefined || epochs.includes(epoch)) continue;
    if (epoch >= keepFrom) break;
    objects += await store.deletePrefix(`${replicaPathFor(epoch)}/`);
    epochs.push(epoch);
  }
  return { epochs, objects };
}

/** The restore a writer started from (single-writer.ts `recordEpoch`). */
export interface RestoredFrom {
  /** The replica path it restored, `slideshow.db`, or a note that there was none. */
  path: string;
  /** The highest epoch recorded in the restored database, null when it has none. */
  databaseEpoch: number | null;
}

/**
 * Runs {@link pruneReplicasBefore} for a writer that started from `restored`, and
 * logs the result. It prunes only after a sound restore from an epoch path: the
 * restored database's own highest epoch is that path's. A restore from the
 * pre-lease path or from nothing within the look-back, or a stale replica (the
 * writer logged "the restored replica misses its own writer"), deletes nothing:
 * the older paths may be what an operator restores by hand. Never throws: a
 * failure is logged and the next writer tries again.
 */
export async function pruneAfterRestore(
  openStore: () => Promise<ObjectStore>,
  restored: RestoredFrom,
  logger: Logger,
): Promise<Pruned | undefined> {
  const keepFrom = epochOfKey(`${restored.path}/`);
  if (keepFrom === undefined) return undefined;
  if (restored.databaseEpoch !== keepFrom) {
    logger.info('kept the replicas of earlier writers: the restored replica is not sound', {
      restoredFrom: restored.path,
      restoredEpoch: restored.databaseEpoch,
    });
    return undefined;
  }
  try {
    const pruned = await pruneReplicasBefore(await openStore(), keepFrom);
    if (pruned.epochs.length > 0) {
      logger.info('deleted the replicas of earlier writers', {
        keptFrom: restored.path,
        ...pruned,
      });
    }
    return pruned;
  } catch (error) {
    logger.warn('could not delete the replicas of earlier writers; the next writer tries again', {
      keptFrom: restored.path,
      error: coerceError(error),
    });
    return undefined;
  }
}
