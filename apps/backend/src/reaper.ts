/**
 * The reaper (docs/operations.md, "The reaper"): every `intervalMs` it looks
 * at images in `queued`/`processing` that nothing has touched for
 * `stuckAfterMs` (no callback, no pending dispatch in the outbox), and asks
 * the pipeline where their dispatch is before acting:
 *
 * - its Cloud Tasks task still exists (`tasks.get`): it has not created its
 *   execution yet — waiting its turn in a throttled queue (`dispatchCount`
 *   0), scheduled for later, or being retried by Cloud Tasks. Not stuck: the
 *   deadline starts again now, so "stuck" is measured from when the task
 *   actually ran, not from when it was queued;
 * - the task is gone and the workflow execution it created (found by its
 *   `dispatch_key` label) is ACTIVE or QUEUED: a batch still working through
 *   its later tasks, or a long retry. Not stuck either;
 * - the execution ended (SUCCEEDED, FAILED, CANCELLED) without settling the
 *   image, or nothing is known of it (dropped by Cloud Tasks, lost by an
 *   emulator): the image is
 *   stuck: re-dispatched once with a new generation — Cloud Tasks refuses a
 *   task name reused within about an hour, and a late report from the stuck
 *   attempt must be stale — and failed with `source = 'reaper'`, code STUCK,
 *   when it is stuck again.
 *
 * A lookup that fails (Cloud Tasks or the Executions API unreachable, a
 * missing permission), or an execution in another state (UNAVAILABLE), leaves
 * the image alone for this pass and is logged at ERROR: acting without
 * knowing would fail images that are only waiting (dispatch-whereabouts.ts).
 * The look-up itself is dispatch-whereabouts.ts, shared with the
 * regenerator's check of lost dispatches (regen/lost-dispatches.ts).
 */
import { taskNameFor } from '@slideshow/dispatch';
import type { Logger } from '@slideshow/runtime';
import type { ImageRow } from './db/images-repository.ts';
import { type DispatchLookups, type PassLookups, passLookups } from './dispatch-whereabouts.ts';
import { type Lifecycle, queueFor } from './lifecycle.ts';
import { createPeriodicPass } from './periodic-pass.ts';

/** The reaper's policy in one place (REAPER_INTERVAL_MS and STUCK_AFTER_MS override the first two). */
export const REAPER_DEFAULTS = {
  /** How often a pass runs. */
  intervalMs: 60_000,
  /** How long an image may sit untouched (and not seen alive) before it is looked at. */
  stuckAfterMs: 60 * 60_000,
  /** Candidates per pass. */
  limit: 100,
} as const;

/**
 * Most ids of each kind the pass's INFO line names: enough to look a few up
 * ("Is image X stuck or slow?" in docs/operations.md), few enough that a
 * backlog of thousands keeps the line short. The counts are always whole.
 */
export const REAPER_LOGGED_IDS = 20;

/** The reaper's tunable settings; defaults in {@link REAPER_DEFAULTS}. */
export interface ReaperSettings {
  intervalMs: number;
  stuckAfterMs: number;
  /** Candidates per pass. */
  limit?: number;
}

/** Options for {@link createReaper}. */
export interface ReaperOptions extends ReaperSettings {
  lifecycle: Lifecycle;
  /** Where dispatches are looked up; without `taskState`/`executionState` every candidate counts as stuck. */
  dispatcher: DispatchLookups;
  logger: Logger;
}

/** What one pass did, by image id. */
export interface ReaperPass {
  redispatched: string[];
  failed: string[];
  /** Their task is still in its queue: deadline restarted. */
  waiting: string[];
  /** Their execution is still running: deadline restarted. */
  running: string[];
  /** The lookup failed: left alone until the next pass. */
  unknown: string[];
}

/** The running reaper. */
export interface Reaper {
  /** One pass now. */
  runOnce(): Promise<ReaperPass>;
  start(): void;
  /** Stops the timer and waits for a pass in progress. */
  stop(): Promise<void>;
}

/** The dispatch key of a row: recorded when dispatched, or (older rows) its single-image task name. */
export function dispatchKeyOf(row: Pick<ImageRow, 'id' | 'generation' | 'dispatch_key'>): string {
  return row.dispatch_key ?? taskNameFor(row.id, row.generation);
}

/** The pass's summary: one ERROR for failed look-ups, one WARN when it acted, else INFO for overdue images still alive. */
async function logPass(logger: Logger, out: ReaperPass, lookups: PassLookups): Promise<void> {
  if (out.unknown.length > 0) {
    logger.error('reaper could not look up dispatches; those images wait for the next pass', {
      images: out.unknown.length,
      errors: await lookups.errors(),
    });
  }
  if (out.redispatched.length > 0 || out.failed.length > 0) {
    logger.warn('reaper acted on stuck images', {
      redispatched: out.redispatched,
      failed: out.failed,
      waiting: out.waiting.length,
      running: out.running.length,
    });
  } else if (out.waiting.length > 0 || out.running.length > 0) {
    logger.info('reaper: overdue images are still waiting or running', {
      waiting: out.waiting.length,
      running: out.running.length,
      waitingIds: out.waiting.slice(0, REAPER_LOGGED_IDS),
      runningIds: out.running.slice(0, REAPER_LOGGED_IDS),
    });
  }
}

/** Creates the reaper (not started). */
export function createReaper(options: ReaperOptions): Reaper {
  const { lifecycle, dispatcher, logger } = options;

  async function pass(signal: AbortSignal): Promise<ReaperPass> {
    const out: ReaperPass = { redispatched: [], failed: [], waiting: [], running: [], unknown: [] };
    // The images of one batch share a dispatch: one lookup each per pass.
    const lookups = passLookups(dispatcher);
    for (const row of lifecycle.stuckCandidates(
      options.stuckAfterMs,
      options.limit ?? REAPER_DEFAULTS.limit,
    )) {
      // Stopping (a shutdown): the images not looked at wait for the next pass.
      if (signal.aborted) break;
      const key = dispatchKeyOf(row);
      const where = await lookups.locate(key, queueFor(row));
      const log = logger.child({ imageId: row.id, generation: row.generation, dispatchKey: key });
      if (where.kind === 'waiting' || where.kind === 'running') {
        if (lifecycle.keepAlive(row)) out[where.kind].push(row.id);
        log.debug(
          where.kind === 'waiting'
            ? 'task still in its queue; not stuck'
            : 'execution still running; not stuck',
          where.kind === 'waiting'
            ? { dispatchCount: where.dispatchCount }
            : { execution: where.execution.name, state: where.execution.state },
        );
        continue;
      }
      if (where.kind === 'unknown') {
        out.unknown.push(row.id);
        continue;
      }
      const outcome = lifecycle.reapStuck(row);
      if (outcome !== 'skipped') {
        out[outcome].push(row.id);
        log.warn(outcome === 'failed' ? 'stuck image failed' : 'stuck image re-dispatched', {
          status: row.status,
          execution: where.execution?.name,
          executionState: where.execution?.state,
        });
      }
    }
    await logPass(logger, out, lookups);
    return out;
  }

  return createPeriodicPass(pass, {
    intervalMs: options.intervalMs,
    logger,
    failure: 'reaper pass failed',
  });
}
