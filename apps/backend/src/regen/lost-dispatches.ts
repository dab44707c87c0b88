/**
 * The regenerator's check of lost dispatches (docs/operations.md, "Presets
 * and regeneration"): a regeneration whose dispatch is over without a report
 * for its image and generation — its Cloud Tasks task gone and its workflow
 * execution ended (SUCCEEDED, FAILED, CANCELLED) or unknown — would otherwise
 * stay `dispatched`, holding its run open. The same look-up is the stuck
 * timeout: nothing fails for waiting, however long.
 *
 * Every `lostCheckEveryMs` (at most `lostAfterMs` and `stuckAfterMs`) one
 * pass takes up to {@link LOST_CHECK_LIMIT} dispatched items — those the relay
 * sent (`regen_items.dispatch_key`, migration 012) more than `lostAfterMs`
 * ago, and those nothing was heard of for `stuckAfterMs` (no report, and not
 * found alive since: `alive_at`, migration 027) — and asks the pipeline where
 * each dispatch is, as the reaper does for uploads (dispatch-whereabouts.ts;
 * one look-up per dispatch key, a batch's items share one):
 *
 * - task still in its queue (a paused or backed-up queue included), outbox
 *   row not sent yet, or execution ACTIVE/QUEUED: left alone, and its
 *   `alive_at` set, so `stuckAfterMs` counts again from now — a healthy item,
 *   however long it waits for its turn or runs, is never failed here;
 * - task gone and execution ended or unknown: the item fails `STUCK` (source
 *   `regenerate`, the old set still serving) with the execution's state in
 *   its message and a WARNING line; the transaction first re-reads the item,
 *   so a report that arrived during the look-up wins. An item without a key
 *   and without an outbox row (sent before migration 012) has nothing to look
 *   up: it fails the same way once `stuckAfterMs` passed;
 * - a look-up that throws: left alone until the next pass (one ERROR line a
 *   pass), since acting without knowing could fail an item that is waiting.
 *
 * Passes go through the candidates by id and start over after the last, so
 * items that stay alive do not hide the ones after them.
 */
import type { ExecutionState } from '@slideshow/dispatch';
import type { RegenItemRow } from '../db/regen-repository.ts';
import { type PassLookups, passLookups, type Whereabouts } from '../dispatch-whereabouts.ts';
import { createPeriodicPass, type PeriodicPass } from '../periodic-pass.ts';
import { failItem } from './processor-reports.ts';
import type { RegenContext } from './regen-context.ts';

/** Items looked at per pass. */
export const LOST_CHECK_LIMIT = 100;

/** What one pass did, by image id. */
export interface LostDispatchPass {
  /** Their dispatch ended without a report (or there is none to look up): failed `STUCK`. */
  failed: string[];
  /** Their task is still in its queue, or their outbox row not sent yet: clock restarted. */
  waiting: string[];
  /** Their execution is still running: clock restarted. */
  running: string[];
  /** The look-up failed: left alone until the next pass. */
  unknown: string[];
}

/** The failure message of an item whose dispatch ended with `execution` (or none known). */
function endedMessage(execution: ExecutionState | undefined): string {
  const state =
    execution === undefined
      ? 'no workflow execution found'
      : `workflow execution ${execution.state}`;
  return `its dispatch ended (${state}) without a report`;
}

/** The failure message of an item sent before dispatch keys were recorded (migration 012). */
function unkeyedMessage(stuckAfterMs: number): string {
  return `no report ${Math.round(stuckAfterMs / 1000)} s after dispatch, and no dispatch key to look it up by`;
}

/**
 * Where the item's dispatch is: looked up by its key; one the relay has not sent yet waits in
 * the outbox (the relay fails it itself if it gives up); one without either cannot be found.
 */
function locateItem(
  ctx: RegenContext,
  lookups: PassLookups,
  item: RegenItemRow,
): Whereabouts | Promise<Whereabouts> {
  // Regenerations go through the ingest queue (dispatch-worker.ts).
  if (item.dispatch_key !== null) return lookups.locate(item.dispatch_key, 'ingest');
  if (item.generation !== null && ctx.regen.inOutbox(item.image_id, item.generation)) {
    return { kind: 'waiting', dispatchCount: 0 };
  }
  return { kind: 'gone' };
}

/** Creates the check over `ctx` (not started). */
export function createLostDispatchCheck(ctx: RegenContext): PeriodicPass<LostDispatchPass> {
  const { db, regen, settings, dispatcher, logger } = ctx;
  // Where the next pass starts: after the last item of a full page, else from the start.
  let afterId = 0;

  /** Fails the item unless a report (or anything else, a send by the relay) moved it on during the look-up. */
  const failLost = db.transaction(
    (item: RegenItemRow, message: string, execution: string | null) => {
      if (item.generation === null) return false;
      const current = regen.itemFor(item.image_id, item.generation);
      if (
        current?.id !== item.id ||
        current.state !== 'dispatched' ||
        current.dispatch_key !== item.dispatch_key
      ) {
        return false;
      }
      failItem(ctx, current, 'STUCK', message, execution);
      return true;
    },
  );

  /** Fails the item whose dispatch is gone, with its WARNING line; false when it moved on. */
  function failGone(item: RegenItemRow, execution: ExecutionState | undefined): boolean {
    const message =
      item.dispatch_key === null ? unkeyedMessage(settings.stuckAfterMs) : endedMessage(execution);
    if (!failLost(item, message, execution?.name ?? null)) return false;
    logger.warn('regeneration dispatch ended without a report', {
      imageId: item.image_id,
      generation: item.generation,
      dispatchKey: item.dispatch_key,
      executionState: execution?.state ?? null,
      execution: execution?.name ?? null,
      runId: item.run_id,
    });
    return true;
  }

  async function pass(signal: AbortSignal): Promise<LostDispatchPass> {
    const out: LostDispatchPass = { failed: [], waiting: [], running: [], unknown: [] };
    const now = ctx.now();
    const items = regen.overdue(
      afterId,
      now - settings.lostAfterMs,
      now - settings.stuckAfterMs,
      LOST_CHECK_LIMIT,
    );
    afterId = items.length < LOST_CHECK_LIMIT ? 0 : (items.at(-1)?.id ?? 0);
    const lookups = passLookups(dispatcher);
    for (const item of items) {
      // Stopping (a shutdown): the items not looked at wait for the next instance's pass.
      if (signal.aborted) break;
      const where = await locateItem(ctx, lookups, item);
      if (where.kind === 'waiting' || where.kind === 'running') {
        // Alive: the stuck timeout counts from now (the same generation only: a report or a new
        // dispatch may have come during the look-up).
        if (item.generation !== null) regen.markAlive(item.id, item.generation, ctx.now());
        out[where.kind].push(item.image_id);
      } else if (where.kind === 'unknown') {
        out.unknown.push(item.image_id);
      } else if (failGone(item, where.execution)) {
        out.failed.push(item.image_id);
      }
    }
    if (out.unknown.length > 0) {
      logger.error('regenerator could not look up dispatches; those items wait for the next pass', {
        items: out.unknown.length,
        errors: await lookups.errors(),
      });
    }
    return out;
  }

  return createPeriodicPass(pass, {
    // A check rarer than a threshold would leave a lost item up to twice as long.
    intervalMs: Math.min(settings.lostCheckEveryMs, settings.lostAfterMs, settings.stuckAfterMs),
    logger,
    failure: 'regeneration lost-dispatch pass failed',
  });
}
