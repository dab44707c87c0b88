/**
 * The processor's calls for a regeneration's generation (routes/processing.ts
 * asks here first): its job spec, `started` (recorded, so the spec can say the
 * image was begun), `complete` — the atomic switch:
 * preset, generation and manifest in one statement, the old set scheduled for
 * deletion — and `failed`, which leaves the old set serving with a
 * failed_tasks row of source `regenerate`. Each answers undefined when the
 * generation is not a regeneration's, or is the image's own, so the image's
 * own lifecycle decides.
 * A dispatch the outbox relay gave up on fails its regenerations the same way.
 * An item of a run the presets superseded is cancelled when it asks for its
 * job spec (superseded.ts).
 */
import type { CompleteBody, FailedBody, JobSpec } from '@slideshow/contracts';
import { presetClosure } from '@slideshow/imaging/presets';
import type { ImageRow } from '../db/images-repository.ts';
import type { OutboxRow } from '../db/outbox-repository.ts';
import type { RegenItemRow } from '../db/regen-repository.ts';
import { variantPrefix } from '../keys.ts';
import type { DispatchFailure } from '../lifecycle.ts';
import { recordCost, resultColumns } from '../transitions/callbacks.ts';
import type { Transition } from '../transitions/context.ts';
import { scheduleDeletion } from './grace-deletion.ts';
import type { RegenContext } from './regen-context.ts';
import { cancelIfSuperseded } from './superseded.ts';

/** Records a failed regeneration: the item, a failed_tasks row (source regenerate), the new prefix to delete. */
export function failItem(
  ctx: RegenContext,
  item: RegenItemRow,
  code: string,
  message: string,
  execution: string | null,
): void {
  ctx.regen.finish(item.id, 'failed', code, null, ctx.now());
  ctx.repos.failedTasks.record({
    imageId: item.image_id,
    code,
    message:
      `regeneration to ${item.preset} (${item.preset_version}) failed; the old variants keep serving: ${message}`.slice(
        0,
        2000,
      ),
    execution,
    source: 'regenerate',
    now: ctx.iso(),
  });
  if (item.generation !== null) {
    scheduleDeletion(
      ctx,
      item.image_id,
      variantPrefix(item.image_id, item.preset, item.generation),
    );
  }
}

/** Switches the image to the set the item made, or discards it when the image moved on. */
function switchTo(
  ctx: RegenContext,
  item: RegenItemRow,
  image: ImageRow | undefined,
  body: CompleteBody,
): Transition {
  const r = body.result;
  const switched =
    image !== undefined &&
    ctx.repos.images.switchVariants(
      image.id,
      image.generation,
      body.generation,
      item.preset,
      // The version is the run's target, not one the result may name.
      { ...resultColumns(r), presetVersion: item.preset_version },
      ctx.iso(),
    );
  if (!image || !switched) {
    ctx.regen.finish(item.id, 'cancelled', 'NOT_PROCESSED', r.timings.cpu ?? null, ctx.now());
    scheduleDeletion(
      ctx,
      item.image_id,
      variantPrefix(item.image_id, item.preset, body.generation),
    );
    return {
      applied: false,
      reason: 'the image is no longer processed; its new variants are discarded',
    };
  }
  scheduleDeletion(ctx, image.id, variantPrefix(image.id, image.preset, image.generation));
  ctx.regen.finish(item.id, 'done', null, r.timings.cpu ?? null, ctx.now());
  recordCost(ctx.repos, image, { ...r, presetVersion: item.preset_version });
  ctx.repos.failedTasks.resolve(image.id, ctx.iso());
  return { applied: true };
}

/**
 * The regeneration a report for `generation` of image `id` is about, unless that is the
 * image's own generation: a switched regeneration's (its reports are the image's now), or one
 * a retry reused before every dispatch took the next generation (docs/architecture.md,
 * "Generations"); the image's lifecycle answers those. A regeneration in flight runs above the
 * image's generation, so its own reports always reach it.
 */
function claimedItem(ctx: RegenContext, id: string, generation: number): RegenItemRow | undefined {
  const item = ctx.regen.itemFor(id, generation);
  if (!item || ctx.repos.images.get(id)?.generation === generation) return undefined;
  return item;
}

/** Creates the processor-facing side of the regenerator over `ctx`. */
export function createProcessorReports(ctx: RegenContext) {
  const { db, regen } = ctx;

  const complete = db.transaction((id: string, body: CompleteBody): Transition | undefined => {
    const item = claimedItem(ctx, id, body.generation);
    if (!item) return undefined;
    if (item.state === 'done') return { applied: false, reason: 'regeneration already switched' };
    // Only a dispatched item switches. A failed one (STUCK, or told failed) already counted
    // against the failure cap and had its new prefix scheduled for deletion: switching to
    // that set now could serve objects the grace deletion is about to remove.
    if (item.state !== 'dispatched') {
      return { applied: false, reason: `regeneration is ${item.state}` };
    }
    const version = body.result.presetVersion;
    if (version !== undefined && version !== item.preset_version) {
      const message = `made with preset version ${version}, not ${item.preset_version}`;
      failItem(ctx, item, 'VALIDATION_FAILED', message, body.execution ?? null);
      return { applied: false, reason: 'made with another preset version' };
    }
    return switchTo(ctx, item, ctx.repos.images.get(id), body);
  });

  // Applied while the item is in flight, and recorded (`started_at`): its job spec then says
  // `begun`, so a batch task's retry takes the images of its slice never begun first.
  const started = db.transaction((id: string, generation: number): Transition | undefined => {
    const item = claimedItem(ctx, id, generation);
    if (!item) return undefined;
    if (item.state !== 'dispatched') {
      return { applied: false, reason: `regeneration is ${item.state}` };
    }
    regen.markStarted(item.id, ctx.now());
    return { applied: true };
  });

  const failed = db.transaction((id: string, body: FailedBody): Transition | undefined => {
    const item = claimedItem(ctx, id, body.generation);
    if (!item) return undefined;
    if (item.state !== 'dispatched')
      return { applied: false, reason: `regeneration is already ${item.state}` };
    failItem(ctx, item, body.code, `${body.source}: ${body.message}`, body.execution ?? null);
    return { applied: true };
  });

  // The relay gave up on sending these rows (outbox-relay.ts): a regeneration among them was
  // never made, so it fails now rather than as STUCK hours later, and the old set keeps serving.
  const dispatchFailed = db.transaction(
    (rows: readonly OutboxRow[], failure: DispatchFailure): string[] => {
      const failed: string[] = [];
      for (const row of rows) {
        const item = claimedItem(ctx, row.image_id, row.generation);
        if (item?.state !== 'dispatched') continue;
        failItem(ctx, item, failure.code, `dispatch: ${failure.message}`, null);
        failed.push(row.image_id);
      }
      return failed;
    },
  );

  // An item of a run the current presets superseded is cancelled here, before it is made: the
  // current file's settings do not hash to the run's version (superseded.ts).
  const liveItem = db.transaction((id: string, generation: number): RegenItemRow | undefined => {
    const item = claimedItem(ctx, id, generation);
    if (item?.state !== 'dispatched' || cancelIfSuperseded(ctx, item)) return undefined;
    return item;
  });

  return {
    /**
     * The job spec of a regeneration's generation, or undefined when `generation`
     * is not one in flight (the route then answers the image's own spec, and the
     * task stops: its generation is not the image's).
     */
    jobSpec(row: ImageRow, generation: number): JobSpec | undefined {
      const item = liveItem(row.id, generation);
      if (!item) return undefined;
      const closure = presetClosure(ctx.presets.set, item.preset);
      return {
        imageId: row.id,
        generation,
        sourceKey: row.source_key,
        sha256: row.sha256,
        preset: item.preset,
        presets: closure as unknown as Record<string, Record<string, unknown>>,
        presetVersion: item.preset_version,
        variantPrefix: variantPrefix(row.id, item.preset, generation),
        status: 'regenerating',
        // `regenerating` whether or not an attempt began it: the marker tells them apart.
        begun: item.started_at !== null,
      };
    },
    started,
    complete,
    failed,
    dispatchFailed,
  };
}
