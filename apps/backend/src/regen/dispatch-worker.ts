/**
 * The regenerator's worker: every `intervalMs` one pass that dispatches what
 * the caps allow (caps.ts) through the ingest outbox and deletes replaced
 * sets whose grace period is over. A run the current presets superseded ends
 * at its first pass (superseded.ts). Each step is one transaction over the
 * durable rows, so a backend killed mid-pass resumes from them. Regenerations
 * nothing was heard of are not failed here, by the clock alone: the
 * lost-dispatch check asks where their dispatch is first (lost-dispatches.ts).
 */
import { taskNameFor } from '@slideshow/dispatch';
import { coerceError } from '@slideshow/runtime';
import type { RegenRunRow } from '../db/regen-repository.ts';
import { capVerdict, createRateBucket } from './caps.ts';
import { deleteDue } from './grace-deletion.ts';
import type { RegenContext } from './regen-context.ts';
import { endRun } from './run-control.ts';
import { endIfSuperseded } from './superseded.ts';

/** Sends up to `budget` of the run's pending images to the ingest outbox; returns how many. */
function sendPending(ctx: RegenContext, run: RegenRunRow, budget: number): number {
  const { regen, repos } = ctx;
  const now = ctx.now();
  let sent = 0;
  for (const item of regen.pending(run.id, budget)) {
    const image = repos.images.get(item.image_id);
    if (image?.status !== 'processed') {
      // Deleted, or being processed again: the item has nothing to replace.
      regen.finish(item.id, 'cancelled', image ? 'NOT_PROCESSED' : 'NOT_FOUND', null, now);
      continue;
    }
    // Above the image's generation and every earlier regeneration's (the one rule, which a
    // retry follows too): a new task name, and a late report of any other attempt is stale.
    const generation = repos.images.nextGeneration(image.id) ?? image.generation + 1;
    regen.markDispatched(item.id, generation, now);
    repos.outbox.add({
      imageId: image.id,
      generation,
      queue: 'ingest',
      taskName: taskNameFor(image.id, generation),
      now,
    });
    // Counted with its outbox row, in the same transaction; a pause or an end that withdraws
    // the row before the relay batches it takes the count back (run-control.ts, withdrawUnsent).
    regen.countExecution(run.id, ctx.iso());
    sent++;
  }
  return sent;
}

/** Creates the worker over `ctx` (nothing runs until `start`). */
export function createDispatchWorker(ctx: RegenContext) {
  const { db, regen, settings, logger } = ctx;
  const bucket = createRateBucket(settings, ctx.now());

  /** Dispatches what the rate, the in-flight bound and the caps allow; ends a run that is done or capped. */
  const dispatchStep = db.transaction((): number => {
    const run = regen.active();
    const available = bucket.refill(ctx.now());
    // A run the presets superseded ends at the first pass after a restart, paused or not.
    if (run && endIfSuperseded(ctx, run)) return 0;
    if (run?.status !== 'running') return 0;
    const verdict = capVerdict(ctx, run, available);
    if (verdict.kind === 'end') {
      endRun(ctx, run, 'capped', verdict.reason, verdict.withdraw);
      logger.error(verdict.log, verdict.fields);
      return 0;
    }
    if (verdict.kind === 'done') {
      regen.setStatus(run.id, 'running', 'done', verdict.reason, ctx.iso(), true);
    }
    if (verdict.kind !== 'send') return 0;
    const sent = sendPending(ctx, run, verdict.budget);
    bucket.spend(sent);
    return sent;
  });

  /** One pass of the worker; returns what it did (tests call it directly). */
  const tick = async () => {
    const dispatched = dispatchStep();
    if (dispatched > 0) ctx.onEnqueued?.();
    const deleted = await deleteDue(ctx);
    return { dispatched, deleted };
  };

  let timer: ReturnType<typeof setTimeout> | undefined;
  let running: Promise<unknown> | undefined;
  let stopped = true;
  const loop = () => {
    if (stopped) return;
    running = tick()
      .catch((error: unknown) =>
        logger.error('regeneration pass failed', { error: coerceError(error) }),
      )
      .finally(() => {
        running = undefined;
        if (!stopped) timer = setTimeout(loop, settings.intervalMs);
      });
  };

  return {
    tick,
    /** Starts the periodic passes (idempotent). */
    start() {
      if (!stopped) return;
      stopped = false;
      bucket.restart(ctx.now());
      loop();
    },
    /** Stops the passes, waiting for one in progress. */
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
