/**
 * The epoch paths of the database bucket: `slideshow.db/epochs/<epoch>/`, one
 * per lease epoch (litestream.ts `replicaPathFor`, ten digits, zero-padded so
 * that key order is epoch order). Read by the restore's fallback
 * (single-writer.ts) and by the pruning of superseded replicas
 * (replica-pruning.ts).
 */
import type { ObjectStore } from '@slideshow/storage';
import { REPLICA_BASE } from './litestream.ts';

/** Where the epoch paths are. */
export const EPOCHS_PREFIX = `${REPLICA_BASE}/epochs/`;

const EPOCH_KEY = new RegExp(`^${EPOCHS_PREFIX.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(\\d{10})/`);

/** The epoch of a replica object's key, or undefined for any other key. */
export function epochOfKey(key: string): number | undefined {
  const digits = EPOCH_KEY.exec(key)?.[1];
  return digits === undefined ? undefined : Number(digits);
}

/**
 * Every epoch with at least one object under its path, ascending. It lists every
 * replica object, so it is for the rare fallback, not for every start.
 */
export async function listReplicaEpochs(store: ObjectStore): Promise<number[]> {
  const epochs = new Set<number>();
  for await (const info of store.list(EPOCHS_PREFIX)) {
    const epoch = epochOfKey(info.key);
    if (epoch !== undefined) epochs.add(epoch);
  }
  return [...epochs].sort((a, b) => a - b);
}
