/**
 * Deletes the Litestream replicas whose data provably lives on in the
 * current database, once they are older than Litestream's retention.
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
 * - a superseded path whose newest object is not yet older than
 *   {@link REPLICA_RETENTION_MS}: a point-in-time restore (`litestream restore
 *   -timestamp`) reads one path, and a new path starts with a fresh snapshot,
 *   so the time before the current writer started is only in the older paths
 *   (docs/deploy.md, "Restore by hand");
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
 * first kept one. It reads the objects of the superseded paths up to the first
 * one still within the retention, and nothing of the others.
 */
import { coerceError, type Logger } from '@slideshow/runtime';
import type { ObjectReader, ObjectStore } from '@slideshow/storage';
import { epochOfKey, replicaEpochPaths } from './replica-epochs.ts';

/**
 * Litestream's `retention` (deploy/litestream.yml, 72h): how far back a
 * point-in-time restore may reach. Litestream reads its own value from that
 * file; the backend cannot (the file is Litestream's configuration, and the
 * pruning runs without it), so the value is written here once and
 * test/replica-pruning.test.ts fails when the two differ.
 */
export const REPLICA_RETENTION_MS = 72 * 60 * 60 * 1000;

/** What one pruning did with the paths below the one restored from. */
export interface Pruned {
  /** The epochs whose replica paths were deleted, oldest first. */
  epochs: number[];
  /** How many objects were deleted. */
  objects: number;
  /** Older epoch paths kept because the restored database does not prove them superseded. */
  kept: number[];
  /** Superseded epoch paths kept because they are still within {@link REPLICA_RETENTION_MS}. */
  retained: number[];
}

/** When a superseded path is old enough to delete; tests pass another `now`. */
export interface RetentionOptions {
  /** A superseded path stays until its newest object is older than this. */
  retentionMs?: number;
  /** The time to measure the age against (default: the current time). */
  now?: Date;
}

/** The newest `updated` of the objects under `prefix`, in epoch milliseconds (-Infinity when none). */
async function newestObjectTime(store: ObjectReader, prefix: string): Promise<number> {
  let newest = Number.NEGATIVE_INFINITY;
  for await (const info of store.list(prefix)) newest = Math.max(newest, info.updated.getTime());
  return newest;
}

/**
 * Deletes the replica paths of the epochs below `keepFrom` that are in `superseded`
 * and whose newest object is older than the retention; reports the other
 * superseded ones as retained and the rest below `keepFrom` as kept.
 */
export async function pruneReplicasBefore(
  store: ObjectStore,
  keepFrom: number,
  superseded: ReadonlySet<number>,
  options: RetentionOptions = {},
): Promise<Pruned> {
  const cutoff =
    (options.now ?? new Date()).getTime() - (options.retentionMs ?? REPLICA_RETENTION_MS);
  const epochs: number[] = [];
  const kept: number[] = [];
  const retained: number[] = [];
  let objects = 0;
  for await (const { epoch, prefix } of replicaEpochPaths(store)) {
    if (epoch >= keepFrom) break;
    if (!superseded.has(epoch)) {
      kept.push(epoch);
    } else if (retained.length > 0 || (await newestObjectTime(store, prefix)) >= cutoff) {
      // A superseded path's last object precedes its successor's restore, which precedes every
      // later path's first snapshot: once one is within the retention, so are the later ones,
      // and their (maybe hundreds of thousands of) objects need not be read.
      retained.push(epoch);
    } else {
      objects += await store.deletePrefix(prefix);
      epochs.push(epoch);
    }
  }
  return { epochs, objects, kept, retained };
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
  options: RetentionOptions = {},
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
    const pruned = await pruneReplicasBefore(await openStore(), keepFrom, superseded, options);
    if (pruned.epochs.length > 0) {
      logger.info('deleted the replicas of earlier writers', {
        keptFrom: restored.path,
        epochs: pruned.epochs,
        objects: pruned.objects,
      });
    }
    if (pruned.retained.length > 0) {
      logger.info(
        'kept the replicas of earlier writers within the retention, for restores to a point in time',
        {
          epochs: pruned.retained,
          retentionHours: (options.retentionMs ?? REPLICA_RETENTION_MS) / 3_600_000,
          hint: 'docs/deploy.md "Restore by hand": the next writer after the retention deletes them',
        },
      );
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
