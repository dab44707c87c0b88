/**
 * Replaced and abandoned variant sets are deleted after a grace period
 * (`graceMs`, deferred_deletions): pages and caches that named the old set
 * keep working until then. The set an image serves is never deleted, even if
 * it was scheduled (a prefix is scheduled once, whatever happened after).
 */
import { variantPrefix } from '../keys.ts';
import type { RegenContext } from './regen-context.ts';

/** Schedules `prefix` (a variant set of `imageId`) for deletion once the grace period is over. */
export function scheduleDeletion(ctx: RegenContext, imageId: string, prefix: string): void {
  const now = ctx.now();
  ctx.regen.addDeletion(prefix, imageId, now + ctx.settings.graceMs, now);
}

/** Deletes the sets whose grace period is over (at most 50 a pass); returns how many rows it settled. */
export async function deleteDue(ctx: RegenContext): Promise<number> {
  let deleted = 0;
  for (const due of ctx.regen.dueDeletions(ctx.now(), 50)) {
    const image = ctx.repos.images.get(due.image_id);
    const serving = image ? variantPrefix(image.id, image.preset, image.generation) : undefined;
    if (serving !== due.prefix) await ctx.store.deletePrefix(due.prefix);
    ctx.regen.removeDeletion(due.id);
    deleted++;
  }
  return deleted;
}
