/**
 * Records a new writer's epoch in `writer_epochs` once its database is
 * restored and open (single-writer.ts), and reports a restore that misses
 * the previous writer.
 */
import type { Acquired, Lease } from '@slideshow/lease';
import type { Logger } from '@slideshow/runtime';
import type { BackendConfig } from '../config.ts';
import type { Db } from '../db/open-database.ts';
import { createWriterEpochsRepository } from '../db/writer-epochs-repository.ts';
import { replicaPathFor } from './litestream.ts';

/** What {@link recordEpoch} needs of the writer's options. */
export interface EpochOptions {
  config: BackendConfig;
  logger: Logger;
  lease: Lease;
  owner: string;
}

/**
 * This writer's epoch, checked against the restored database (a lease reset
 * by hand must not make epochs go back, and a restored database older than
 * the previous writer is reported), recorded in `writer_epochs`; returns the
 * facts the start-up logs carry.
 */
export async function recordEpoch(
  options: EpochOptions,
  db: Db,
  acquired: Pick<Acquired, 'previousEpoch' | 'how'>,
  restored: string,
) {
  const { config, logger, lease, owner } = options;
  const epochs = createWriterEpochsRepository(db);
  const restoredEpoch = epochs.highest();
  // The lease's own epoch: the restore's bucket fallback may have raised it since acquiring.
  let epoch = lease.epoch();
  if (restoredEpoch !== null && restoredEpoch >= epoch) {
    // The lease object was deleted or reset by hand: keep epochs growing.
    epoch = await lease.raiseEpoch(restoredEpoch + 1);
  }
  if (acquired.previousEpoch > 0 && (restoredEpoch ?? 0) < acquired.previousEpoch) {
    // From the previous writer's own replica this cannot happen unless that replica is
    // stale; from an earlier one it means the previous writer never got to serve.
    const fromPrevious = restored === replicaPathFor(acquired.previousEpoch);
    const log = (message: string, fields: Record<string, unknown>) =>
      fromPrevious ? logger.error(message, fields) : logger.warn(message, fields);
    log(
      fromPrevious
        ? 'the restored replica misses its own writer: it is stale'
        : 'the previous writer left no replica (it never became ready)',
      {
        restoredEpoch,
        previousEpoch: acquired.previousEpoch,
        restoredFrom: restored,
        hint: 'docs/deploy.md "Recover from a lost lease"',
      },
    );
  }
  epochs.record({
    epoch,
    owner,
    revision: config.lease.revision,
    restoredEpoch,
    previousEpoch: acquired.previousEpoch,
    startedAt: new Date().toISOString(),
    acquired: acquired.how,
  });
  return { epoch, owner, restoredEpoch, previousEpoch: acquired.previousEpoch, restore: restored };
}
