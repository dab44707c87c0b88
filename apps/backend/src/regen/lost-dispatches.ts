/**
 * The regenerator's check of lost dispatches (docs/operations.md, "Presets
 * and regeneration"): a regeneration whose dispatch is over without a report
 * for its image and generation — its Cloud Tasks task gone and its workflow
 * execution ended (SUCCEEDED, FAILED, CANCELLED) or unknown — would otherwise
 * stay `dispatched`, holding its run open, until `stuckAfterMs` (6 h).
 *
 * Every `lostCheckEveryMs` (at most `lostAfterMs`) one pass takes up to
 * {@link LOST_CHECK_LIMIT} items dispatched more than `lostAfterMs` ago whose
 * dispatch the relay sent (`regen_items.dispatch_key`, migration 012) and
 * asks the pipeline where each dispatch is, as the reaper does for uploads
 * (dispatch-whereabouts.ts; one look-up per dispatch key, a batch's items
 * share one):
 *
 * - task still in its queue, or execution ACTIVE/QUEUED: left alone — a
 *   healthy item, however long it waits for its turn or runs, is never failed
 *   here (only the `stuckAfterMs` timeout ends it);
 * - task gone and execution ended or unknown: the item fails `STUCK` (source
 *   `regenerate`, the old set still serving) with the execution's state in
 *   its message and a WARNING line; the transaction first re-reads the item,
 *   so a report that arrived during the look-up wins;
 * - a look-up that throws: left alone until the next pass (one ERROR line a
 *   pass), since acting without knowing could fail an item that is waiting.
 *
 * Passes go through the candidates by id and start over after the last, so
 * items that stay alive do not hide the ones after them.
 */
import type { ExecutionState } from '@slideshow/dispatch';
import type { RegenItemRow } from '../db/regen-repository.ts';
import { passLookups } from '../dispatch-whereabouts.ts';
import { createPeriodicPass, type PeriodicPass } from '../periodic-pass.ts';
import { failItem } from './processor-reports.ts';
import type { RegenContext } from './regen-context.ts';

/** Items looked at per pass. */
export const LOST_CHECK_LIMIT = 100;

/** What one pass did, by image id. */
export interface LostDispatchPass {
  /** Their dispatch ended without a report: failed `STUCK`. */
  failed: string[];
  /** Their task is still in its queue. */
  waiting: string[];
  /** Their execution is still running. */
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

/** Creates the check over `ctx` (not started). */
export function createLostDispatchCheck(ctx: RegenContext): PeriodicPass<LostDispatchPass> {
  const { db, regen, settings, dispatcher, logger } = ctx;
  // Where the next pass starts: after the last item of a full page, else from the start.
  let afterId = 0;

  /** Fails the item unless a report (or anything else) moved it on during the look-up. */
  const failLost = db.transaction(
    (item: RegenItemRow, key: string, execution: ExecutionState | undefined): boolean => {
      if (item.generation === null) return false;
      const current = regen.itemFor(item.image_id, item.generation);
      if (
        current?.id !== item.id ||
        current.state !== 'dispatched' ||
        current.dispatch_key !== key
      ) {
        return false;
      }
      failItem(ctx, current, 'STUCK', endedMessage(execution), execution?.name ?? null);
      return true;
    },
  );

  async function pass(signal: AbortSignal): Promise<LostDispatchPass> {
    const out: LostDispatchPass = { failed: [], waiting: [], running: [], unknown: [] };
    const items = regen.sentBefore(afterId, ctx.now() - settings.lostAfterMs, LOST_CHECK_LIMIT);
    afterId = items.length < LOST_CHECK_LIMIT ? 0 : (items.at(-1)?.id ?? 0);
    const lookups = passLookups(dispatcher);
    for (const item of items) {
      // Stopping (a shutdown): the items not looked at wait for the next instance's pass.
      if (signal.aborted) break;
      const key = item.dispatch_key;
      if (key === null) continue;
      // Regenerations go through the ingest queue (dispatch-worker.ts).
      const where = await lookups.locate(key, 'ingest');
      if (where.kind !== 'gone') {
        out[where.kind].push(item.image_id);
        continue;
      }
      if (!failLost(item, key, where.execution)) continue;
      out.failed.push(item.image_id);
      logger.warn('regeneration dispatch ended without a report', {
        imageId: item.image_id,
        generation: item.generation,
        dispatchKey: key,
        executionState: where.execution?.state ?? null,
        execution: where.execution?.name ?? null,
        runId: item.run_id,
      });
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
    // A check rarer than the threshold would leave a lost item up to twice as long.
    intervalMs: Math.min(settings.lostCheckEveryMs, settings.lostAfterMs),
    logger,
    failure: 'regeneration lost-dispatch pass failed',
  });
}
