/**
 * Deleting an image, the one way every caller does it (the DELETE route, bulk
 * delete, a cancelled upload's rollback): objects first, the rows last, so if
 * storage fails the rows stay and the delete can be repeated. Only what the
 * pipeline wrote goes (docs/security.md): the variants in the processor's
 * layout (every generation) and the original when the upload stored it. An
 * ingested image's source is the admin's own object and stays in the bucket,
 * as does anything else under the image's prefix. Last, a task of the image's
 * still waiting in its queue is removed, best effort (queued-tasks.ts); one
 * already sent to the outbox relay but not yet created is the relay's to
 * remove (outbox-relay.ts), and an outbox row never sent goes with the image.
 */
import { AppError } from '@slideshow/runtime';
import type { Services } from '../context.ts';
import { allVariantsPrefix, originalKey } from '../keys.ts';
import { deleteGeneratedVariants } from '../orphan-sweeper.ts';

/** What one delete removed. */
export interface Deleted {
  id: string;
  /** How many variant objects were deleted. */
  variantsRemoved: number;
  /** Whether the source object went too (an upload's original; never an ingested source). */
  sourceDeleted: boolean;
}

/** Deletes the image's objects and rows; NOT_FOUND when there is no such image. */
export async function deleteImage(services: Services, id: string): Promise<Deleted> {
  const row = services.repos.images.get(id);
  if (!row) throw new AppError('NOT_FOUND', `no image ${id}`, { context: { imageId: id } });
  const variantsRemoved = (await deleteGeneratedVariants(services.deps.store, id)).length;
  const sourceDeleted = row.source_key === originalKey(id);
  if (sourceDeleted) await services.deps.store.delete(row.source_key);
  // Every set of the image is gone now, those scheduled for a later deletion included (a
  // regeneration's replaced set during its grace period): their deferred_deletions rows, which
  // have no foreign key to the image, go with the row, or /status would count them for a day.
  // The waiting tasks are read with the delete, after the awaits above: the relay may have
  // created the image's task meanwhile (and marked it), and cannot from now on.
  const waiting = services.deps.db.transaction(() => {
    const tasks = services.queuedTasks.waitingOnlyFor(id);
    services.repos.regen.removeDeletionsUnder(allVariantsPrefix(id));
    services.repos.images.delete(id);
    return tasks;
  })();
  await services.queuedTasks.cancel(waiting, { imageId: id });
  return { id, variantsRemoved, sourceDeleted };
}
