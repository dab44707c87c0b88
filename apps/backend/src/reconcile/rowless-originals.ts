/**
 * The originals listing of the reconcile (docs/operations.md, "After a
 * restore"): objects in the exact layout uploads are stored in
 * (`originals/<image id>`, keys.ts) that no image row names — an upload made
 * after the point a database was restored to. Listed with their size and
 * date, never deleted (nothing proves they are ours any more than an admin's
 * file named like one), so the operator can upload them again. Keys an upload
 * in progress holds (pending_originals, an upload session) are the sweeper's
 * and left out.
 */
import type { ReconcileOriginalsAnswer, RowlessOriginal } from '@slideshow/contracts';
import type { ObjectInfo } from '@slideshow/storage';
import type { Services } from '../context.ts';
import type { ReconcileRepository } from '../db/reconcile-repository.ts';
import { IMAGE_ID_SOURCE } from '../ids.ts';
import { allVariantsPrefix, ORIGINALS_ROOT, parseVariantKey } from '../keys.ts';

/** Most objects one request looks at: a bucket of any size is listed in bounded requests. */
export const MAX_SCANNED_PER_REQUEST = 10_000;

const GENERATED_ORIGINAL = new RegExp(`^${ORIGINALS_ROOT}(${IMAGE_ID_SOURCE})$`);

/** What one call lists. */
export interface OriginalsRequest {
  /** List the keys that sort after this one ('' from the start). */
  after: string;
  limit: number;
}

/** Builds the listing over the app's services and the reconcile's queries. */
export function createRowlessOriginals(services: Services, queries: ReconcileRepository) {
  const { deps, repos } = services;

  /** How many generated variants are stored under `imageId`, whatever their generation. */
  async function variantsUnder(imageId: string): Promise<number> {
    let n = 0;
    for await (const object of deps.store.list(allVariantsPrefix(imageId))) {
      if (parseVariantKey(object.key)?.imageId === imageId) n++;
    }
    return n;
  }

  /** The listing's entry for `object` when it is a row-less original, else undefined. */
  async function rowless(object: ObjectInfo): Promise<RowlessOriginal | undefined> {
    const imageId = GENERATED_ORIGINAL.exec(object.key)?.[1];
    if (!imageId || repos.images.get(imageId) || repos.images.usesSource(object.key)) return;
    if (queries.isReserved(object.key)) return;
    return {
      key: object.key,
      imageId,
      bytes: object.bytes,
      updated: object.updated.toISOString(),
      variants: await variantsUnder(imageId),
    };
  }

  /**
   * One page: up to `limit` row-less originals after `after`, looking at no more than
   * MAX_SCANNED_PER_REQUEST objects. The listing starts after `after` (the previous page's
   * `next`), so a walk over the bucket lists each object once; a page stops as soon as it is
   * full, so its `next` may lead to an empty last page.
   */
  return async (request: OriginalsRequest): Promise<ReconcileOriginalsAnswer> => {
    const originals: RowlessOriginal[] = [];
    let scanned = 0;
    let next: string | null = null;
    for await (const object of deps.store.list(ORIGINALS_ROOT, { startAfter: request.after })) {
      scanned++;
      const original = await rowless(object);
      if (original) originals.push(original);
      if (originals.length === request.limit || scanned === MAX_SCANNED_PER_REQUEST) {
        // Everything up to this key was looked at; the next page starts after it.
        next = object.key;
        break;
      }
    }
    return { originals, scanned, next };
  };
}
