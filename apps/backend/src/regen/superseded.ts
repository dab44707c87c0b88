/**
 * A run made for another preset than the one the backend now runs with
 * (docs/operations.md, "Presets and regeneration": the preset file edited, or
 * IMAGE_PRESET changed, and the backend restarted) cannot finish: its items
 * would be made with the current file's settings stamped with the run's
 * version, which the processor refuses (VALIDATION_FAILED). Such a run ends
 * as `cancelled` with a reason naming the version that superseded it, its
 * undispatched items withdrawn; an item of it already in the queue is
 * cancelled when its task asks for its job spec, so it is neither processed
 * nor counted as a failure.
 */
import type { RegenItemRow, RegenRunRow } from '../db/regen-repository.ts';
import { variantPrefix } from '../keys.ts';
import { scheduleDeletion } from './grace-deletion.ts';
import type { RegenContext } from './regen-context.ts';
import { endRun } from './run-control.ts';

/** True when `run` was made for another preset, or another version of it, than the current one. */
export function isSuperseded(
  ctx: RegenContext,
  run: Pick<RegenRunRow, 'preset' | 'preset_version'>,
) {
  return run.preset !== ctx.current || run.preset_version !== ctx.version;
}

/** Why a superseded run ended, as its status shows it. */
function supersededReason(ctx: RegenContext, run: RegenRunRow): string {
  return (
    `superseded: the presets changed (${run.preset} ${run.preset_version} → ${ctx.current} ${ctx.version}); ` +
    'images it made keep serving, the rest were not made: start a new run'
  );
}

/**
 * Ends `run` as cancelled when it is active and superseded (call inside a
 * transaction); true when it did.
 */
export function endIfSuperseded(ctx: RegenContext, run: RegenRunRow): boolean {
  if (run.status !== 'running' && run.status !== 'paused') return false;
  if (!isSuperseded(ctx, run)) return false;
  if (!endRun(ctx, run, 'cancelled', supersededReason(ctx, run), true)) return false;
  ctx.logger.warn('regeneration superseded: the presets changed', {
    runId: run.id,
    preset: run.preset,
    presetVersion: run.preset_version,
    currentPreset: ctx.current,
    currentVersion: ctx.version,
  });
  return true;
}

/**
 * Cancels a dispatched item of a superseded run whose task asks for its job
 * spec (call inside a transaction), ending its run first if still active;
 * false when the item's run is the current preset's. A set an earlier attempt
 * began under its prefix goes after the grace period.
 */
export function cancelIfSuperseded(ctx: RegenContext, item: RegenItemRow): boolean {
  if (!isSuperseded(ctx, item)) return false;
  const run = ctx.regen.run(item.run_id);
  if (run) endIfSuperseded(ctx, run);
  ctx.regen.finish(item.id, 'cancelled', 'SUPERSEDED', null, ctx.now());
  if (item.started_at !== null && item.generation !== null) {
    scheduleDeletion(
      ctx,
      item.image_id,
      variantPrefix(item.image_id, item.preset, item.generation),
    );
  }
  return true;
}
