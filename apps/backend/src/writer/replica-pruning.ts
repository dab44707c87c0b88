/**
 * Deletes the Litestream replicas whose data provably lives on in the
 * current database.
 *
 * Each lease epoch replicates to its own path, `slideshow.db/epochs/<epoch>/`
 * (litestream.ts `replicaPathFor`), and a path keeps its last snapshot after
 * its writer stops: one snapshot per deploy, restart or takeover. A writer
 * that serves deletes an older path only when the database it restored proves
 * all of the path's data flowed into it: the path's epoch is a recorded
 * writer (`writer_epochs`) whose direct successor took the lease after a
 * release and restored that path (writer-epochs-repository.ts `superseded`),
 * so the path was final before it was restored. Everything else stays:
 *
 * - the path it restored from and every newer one;
 * - a path the lineage does not vouch for: a writer taken over after its lease
 *   expired (its Litestream may have uploaded writes after the takeover), a
 *   replica found stale, a path no recorded writer restored, writers recorded
 *   before migration 011 — an operator may restore those by hand;
 * - the pre-lease single path (`slideshow.db/` outside `epochs/`) and any name
 *   under `epochs/` that is not an epoch path.
 *
 * It runs only after a sound restore from an epoch path (the restored
 * database's highest epoch is that path's). It lists the epoch paths with a
 * delimiter, one entry per path (replica-epochs.ts `replicaEpochPaths`); they
 * are zero-padded, so the old epochs come first and the listing stops at the
 * first kept one. It reads the objects of the paths it deletes, and nothing
 * of the others.
 */
import { coerceError, type Logger } from '@slideshow/runtime';
import type { ObjectStore } from '@slideshow/storage';
import { epochOfKey, replicaEpochPaths } from './replica-epochs.ts';

/** What one pruning did with the paths below the one restored from. */
export interface Pruned {
  /** The epochs whose replica paths were deleted, oldest first. */
  epochs: number[];
  /** How many objects were deleted. */
  objects: number;
  /** Older epoch paths kept because the restored database does not prove them superseded. */
  kept: number[];
}

/**
 * Deletes the replica paths of the epochs below `keepFrom` that are in `superseded`;
 * reports the others below it as kept.
 */
export async function pruneReplicasBefore(
  store: ObjectStore,
  keepFrom: number,
  superseded: ReadonlySet<number>,
): Promise<Pruned> {
  const epochs: number[] = [];
  const kept: number[] = [];
  let objects = 0;
  for await (const { epoch, prefix } of replicaEpochPaths(store)) {
    if (epoch >= keepFrom) break;
    if (superseded.has(epoch)) {
      objects += await store.deletePrefix(prefix);
      epochs.push(epoch);
    } else {
      kept.push(epoch);
    }
  }
  return { epochs, objects, kept };
}

/** The restore a writer started from (single-writer.ts `recordEpoch`). */
export interface RestoredFrom {
  /** The replica path it restored, `slideshow.db`, or a note that there was none. */
  path: string;
  /** The highest epoch recorded in the restored database, null when it has none. */
  databaseEpoch: number | null;
  /** The restored database's superseded writers (writer-epochs-repository.ts `superseded`). */
  superseded: readonly number[];
}

/**
 * Runs {@link pruneReplicasBefore} for a writer that started from `restored`, and
 * logs the result. It prunes only after a sound restore from an epoch path: the
 * restored database's own highest epoch is that path's. A restore from the
 * pre-lease path or from nothing within the look-back, or a stale replica,
 * deletes nothing. Never throws: a failure is logged and the next writer tries
 * again.
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
    const superseded = new Set(restored.superseded);
    const pruned = await pruneReplicasBefore(await openStore(), keepFrom, superseded);
    if (pruned.epochs.length > 0) {
      logger.info('deleted the replicas of earlier writers', {
        keptFrom: restored.path,
        epochs: pruned.epochs,
        objects: pruned.objects,
      });
    }
    if (pruned.kept.length > 0) {
      logger.info('kept older replicas this database does not descend from', {
        epochs: pruned.kept,
        hint: 'docs/deploy.md "Other facts": restore one by hand, or delete it once not needed',
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
