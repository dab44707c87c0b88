/**
 * Regeneration (docs/operations.md, "Presets and regeneration"): re-make the
 * variants of processed images whose served set was made with another preset
 * version than the current one, safely. This file assembles the parts:
 *
 * - run-control.ts — dry run, start, pause, resume, cancel. Durable: a run and
 *   each of its images (regen_items) are SQLite rows and every step is a
 *   transaction, so a backend killed mid-run carries on from the rows.
 * - dispatch-worker.ts — through the ingest queue: each image gets an outbox
 *   row on the `ingest` queue at a generation of its own (above the image's
 *   and every earlier regeneration's), so the relay sends them in batch
 *   executions and a late report of any other attempt is stale.
 * - lost-dispatches.ts — a dispatch the pipeline says is over (task gone,
 *   execution ended or unknown) with no report fails (`STUCK`) after
 *   `lostAfterMs`, not hours later; one still queued or running is left
 *   alone however long it takes (its `stuckAfterMs` counts again from each
 *   look-up that finds it alive).
 * - caps.ts — cannot run away: at most `ratePerMinute` dispatches a minute and
 *   `maxInFlight` at once; a run stops as `capped` at `maxExecutionsPerRun`
 *   dispatches or `maxFailures` failures; no more than `maxExecutionsPerHour`
 *   dispatches in any hour; each (image, preset version) is made once
 *   (selection.ts); only this API starts processing (variants written never
 *   trigger any).
 * - processor-reports.ts — atomic per image: the image keeps serving its old
 *   set while the new one is made under its own prefix; `complete` switches
 *   preset, generation and manifest in one statement. A failure leaves the old
 *   set serving and a failed_tasks row with source `regenerate`.
 * - superseded.ts — a run made for another preset version than the current
 *   one (the preset file edited, the backend restarted) ends as `cancelled`,
 *   and its images already queued are cancelled when they ask for their job
 *   spec, instead of failing with settings that do not hash to their version.
 * - grace-deletion.ts — the old prefix is deleted after `graceMs`.
 * - run-view.ts — progress, ETA, estimate vs measured.
 */

import { createDispatchWorker } from './dispatch-worker.ts';
import { createLostDispatchCheck } from './lost-dispatches.ts';
import { createProcessorReports } from './processor-reports.ts';
import { type RegeneratorDeps, regenContext } from './regen-context.ts';
import { createRunControl } from './run-control.ts';
import { type RunView, viewRun } from './run-view.ts';

export {
  type BackendPresets,
  REGEN_DEFAULTS,
  type RegeneratorDeps,
  type RegenSettings,
} from './regen-context.ts';
export type { RunView } from './run-view.ts';

/** Creates the regenerator over `deps` (its worker is started by `startWorker()`). */
export function createRegenerator(deps: RegeneratorDeps) {
  const ctx = regenContext(deps);
  const control = createRunControl(ctx);
  const reports = createProcessorReports(ctx);
  const worker = createDispatchWorker(ctx);
  const lost = createLostDispatchCheck(ctx);
  return {
    /** The current preset and its version. */
    preset: { name: ctx.current, version: ctx.version },
    dryRun: control.dryRun,
    start: control.start,
    pause: control.pause,
    resume: control.resume,
    cancel: control.cancel,
    view: control.view,
    /** The active run, else the newest, for `/status` and the admin page. */
    latest: (): RunView | null => {
      const run = ctx.regen.active() ?? ctx.regen.latest(1)[0];
      return run ? viewRun(ctx, run) : null;
    },
    list: (limit = 10) => ctx.regen.latest(limit).map((run) => viewRun(ctx, run)),
    pendingDeletions: () => ctx.regen.pendingDeletions(),
    jobSpec: reports.jobSpec,
    started: reports.started,
    complete: reports.complete,
    failed: reports.failed,
    /** Fails the regenerations among rows whose dispatch the relay gave up on; returns their image ids. */
    dispatchFailed: reports.dispatchFailed,
    tick: worker.tick,
    /** One pass of the lost-dispatch check now (lost-dispatches.ts; tests call it directly). */
    checkLostDispatches: lost.runOnce,
    /** Starts the periodic worker and the lost-dispatch check (idempotent). */
    startWorker: () => {
      worker.start();
      lost.start();
    },
    /** Stops the worker and the check together (a shutdown's budget is short), waiting for passes in progress. */
    stop: async () => {
      await Promise.all([worker.stop(), lost.stop()]);
    },
  };
}

/** The regenerator. */
export type Regenerator = ReturnType<typeof createRegenerator>;
