/**
 * The variant check of the reconcile (docs/operations.md, "After a restore"):
 * a database restored to an earlier point still lists as processed the images
 * deleted since, whose variants (and upload originals) the delete removed, so
 * the slideshow serves URLs whose files are gone and nothing retries them. One
 * batch of processed images, in id order, is checked against the store per
 * call; each image whose current set is incomplete is failed like any other
 * failure (a failed_tasks row, source `reaper`: the backend's own verdict), so
 * the slideshow drops it and a retry — the console's, or scripts/requeue-failed
 * — makes the set again: `VARIANTS_MISSING` while the original exists,
 * `NOT_FOUND` (the processor's verdict for a missing original) when it does
 * not, and the image is only good for a delete.
 */
import type { ReconcileFinding, ReconcileVariantsAnswer } from '@slideshow/contracts';
import { mapLimit } from '@slideshow/runtime';
import type { ObjectReader } from '@slideshow/storage';
import type { Services } from '../context.ts';
import type { ImageRow } from '../db/images-repository.ts';
import type { ReconcileRepository } from '../db/reconcile-repository.ts';
import { variantKey, variantsOf } from '../image-view.ts';
import { variantPrefix } from '../keys.ts';

/** Images whose sets are looked up at once: a batch is a few hundred store calls, not thousands in flight. */
const CHECK_CONCURRENCY = 8;

/** What one call checks. */
export interface VariantCheckRequest {
  dryRun: boolean;
  /** Check the processed images whose id sorts after this one ('' from the start). */
  after: string;
  limit: number;
}

/** What the check found about one image, before anything is written. */
interface Checked {
  row: ImageRow;
  variants: number;
  missing: number;
  originalExists: boolean;
}

/**
 * Looks up one image's current set: one listing of its generation's prefix
 * (one call per image, where a stat per variant would be fifteen), then a
 * stat of the original only when a variant is missing.
 */
async function checkOne(store: ObjectReader, row: ImageRow): Promise<Checked> {
  const expected = variantsOf(row).map((v) => variantKey(row, v));
  const stored = new Set<string>();
  for await (const object of store.list(variantPrefix(row.id, row.preset, row.generation))) {
    stored.add(object.key);
  }
  const missing = expected.filter((key) => !stored.has(key)).length;
  const originalExists = missing === 0 || (await store.stat(row.source_key)) !== undefined;
  return { row, variants: expected.length, missing, originalExists };
}

/** Builds the check over the app's services and the reconcile's queries. */
export function createVariantCheck(services: Services, queries: ReconcileRepository) {
  const { deps, repos } = services;
  const iso = () => new Date(services.now()).toISOString();

  /** Fails one checked image in one transaction; false when it moved on while the store was read. */
  const fail = deps.db.transaction((found: Checked, code: ReconcileFinding['code']): boolean => {
    const { row } = found;
    if (!queries.failProcessed(row.id, row.generation, code, iso())) return false;
    const what = `${found.missing} of ${found.variants} variants of generation ${row.generation} are missing from the store`;
    repos.failedTasks.record({
      imageId: row.id,
      code,
      message: found.originalExists
        ? `reconcile: ${what}; a retry makes them again`
        : `reconcile: ${what}, and so is the original ${row.source_key}; only a delete is left`,
      execution: null,
      source: 'reaper',
      now: iso(),
    });
    return true;
  });

  /** One batch: checks up to `limit` processed images after `after`, fails the incomplete ones unless a dry run. */
  return async (request: VariantCheckRequest): Promise<ReconcileVariantsAnswer> => {
    const rows = queries.processedAfter(request.after, request.limit);
    const checked = await mapLimit(rows, CHECK_CONCURRENCY, (row) => checkOne(deps.store, row));
    const findings: ReconcileFinding[] = [];
    for (const found of checked) {
      if (found.missing === 0) continue;
      const code = found.originalExists ? 'VARIANTS_MISSING' : 'NOT_FOUND';
      findings.push({
        imageId: found.row.id,
        originalName: found.row.original_name,
        code,
        variants: found.variants,
        missing: found.missing,
        failed: !request.dryRun && fail(found, code),
      });
    }
    const last = rows.at(-1);
    return {
      dryRun: request.dryRun,
      checked: rows.length,
      findings,
      failed: findings.filter((f) => f.failed).length,
      next: rows.length === request.limit && last ? last.id : null,
    };
  };
}
