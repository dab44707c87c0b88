/**
 * The epoch paths of the database bucket: `slideshow.db/epochs/<epoch>/`, one
 * per lease epoch (litestream.ts `replicaPathFor`, ten digits, zero-padded so
 * that key order is epoch order). Read by the restore's fallback
 * (single-writer.ts) and by the pruning of superseded replicas
 * (replica-pruning.ts).
 */
import type { ObjectReader } from '@slideshow/storage';
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
 * The epochs of the epoch paths in the bucket (a common prefix exists while an
 * object lies under it), in the order of {@link ObjectReader.list}. A listing
 * with a delimiter reads one entry per epoch path, not the replica objects
 * under it: after a reset of a busy deployment those are hundreds of
 * thousands of WAL segments, about a minute of listing inside the startup
 * probe's 240 s.
 */
export async function* replicaEpochPaths(
  store: ObjectReader,
): AsyncGenerator<{ epoch: number; prefix: string }> {
  for await (const entry of store.list(EPOCHS_PREFIX, { delimiter: '/' })) {
    if (entry.kind !== 'prefix') continue;
    // Names under epochs/ that are not ten-digit epochs (a `.bak` copy, a README) are no one's.
    const epoch = epochOfKey(entry.prefix);
    if (epoch !== undefined) yield { epoch, prefix: entry.prefix };
  }
}

/** Every epoch with an object under its path, ascending (the restore's fallback). */
export async function listReplicaEpochs(store: ObjectReader): Promise<number[]> {
  const epochs: number[] = [];
  for await (const { epoch } of replicaEpochPaths(store)) epochs.push(epoch);
  return epochs.sort((a, b) => a - b);
}
