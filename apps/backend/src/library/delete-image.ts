/**
 * Deleting an image, the one way every caller does it (the DELETE route, bulk
 * delete, a cancelled upload's rollback): objects first — every variant
 * generation, then the source — and the rows last, so if storage fails the
 * rows stay and the delete can be repeated.
 */
import { AppError } from '@slideshow/runtime';
import type { Services } from '../context.ts';
import { allVariantsPrefix } from '../keys.ts';

/** What one delete removed. */
export interface Deleted {
  id: string;
  variantsRemoved: number;
}

/** Deletes the image's objects and rows; NOT_FOUND when there is no such image. */
export async function deleteImage(services: Services, id: string): Promise<Deleted> {
  const row = services.repos.images.get(id);
  if (!row) throw new AppError('NOT_FOUND', `no image ${id}`, { context: { imageId: id } });
  const variantsRemoved = await services.deps.store.deletePrefix(allVariantsPrefix(id));
  await services.deps.store.delete(row.source_key);
  services.repos.images.delete(id);
  return { id, variantsRemoved };
}
