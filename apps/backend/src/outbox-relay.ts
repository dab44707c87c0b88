/**
 * The outbox relay: takes due outbox rows (oldest first), dispatches them
 * through the TaskDispatcher with bounded concurrency, and deletes a row only
 * once its task exists (ALREADY_EXISTS counts), marking the image `queued`
 * (or its regeneration item) with the key of the dispatch that carries it.
 * Ingested images go in batches
 * (outbox-units.ts); one batch is one task, one workflow execution and one
 * Cloud Run job execution with one task per image (`{file_ids, generations}`);
 * the images still live and fail on their own.
 *
 * The relay is the one owner of what happens after a failed dispatch
 * (dispatch-verdict.ts, docs/reliability.md "Who retries what"):
 *
 * - a retryable failure (the dispatcher's `retryable`: unavailable, deadline,
 *   quota, network) stays in the table with attempts + 1 and
 *   next_attempt_at = now + min(maxDelay, initialDelay · 2^attempts) · jitter
 *   (a batch's rows together), so a restart resumes where it stopped;
 * - a refusal the service will repeat (PERMISSION_DENIED, a deleted queue,
 *   an invalid request: not retryable), or the `maxAttempts`-th failure, fails
 *   each waiting image with source `dispatch` (DISPATCH_REFUSED or
 *   DISPATCH_FAILED), and each regeneration with source `regenerate` (its old
 *   set serving), and removes its row: no dispatch is retried forever, and
 *   every accepted image still ends processed or with a failed_tasks row.
 *
 * An image deleted while its dispatch is in flight takes its outbox row with
 * it, but the task is created all the same: once every image of a dispatched
 * unit is gone, the relay removes its task again through `queuedTasks`
 * (library/queued-tasks.ts), best effort, as a delete does for a task created
 * before it.
 *
 * The loop wakes on `notify()` (after an insert) or every `pollIntervalMs`.
 */
import {
  imageLogFields,
  QUEUES,
  type QueueName,
  type TaskDispatcher,
  toDispatchError,
} from '@slideshow/dispatch';
import { coerceError, type Logger } from '@slideshow/runtime';
import type { Db } from './db/open-database.ts';
import { judgeFailedDispatch, type RetryPolicy } from './dispatch-verdict.ts';
import type { QueuedTasks } from './library/queued-tasks.ts';
import type { Lifecycle } from './lifecycle.ts';
import { type DispatchUnit, dueUnits, formBatches } from './outbox-units.ts';
import type { Regenerator } from './regen/regenerator.ts';
import type { Repositories } from './repositories.ts';

export { backoffMs } from './dispatch-verdict.ts';

/** The relay's policy in one place. */
export const RELAY_DEFAULTS = {
  /** Most outbox rows one pass reads. */
  rowsPerPass: 200,
  /** Dispatches in flight at once. */
  concurrency: 32,
  pollIntervalMs: 1_000,
  /** Backoff before the second attempt; it doubles with each failure… */
  initialDelayMs: 1_000,
  /** …up to this. */
  maxDelayMs: 5 * 60_000,
  /**
   * Attempts before the relay gives up on a dispatch that keeps failing with
   * retryable errors and fails its images (DISPATCH_FAILED): with the delays
   * above, 9 attempts take ~8.5 min and the rest come every ~5 min, so 300
   * attempts are about 24 hours of outage (docs/reliability.md).
   */
  maxAttempts: 300,
  /**
   * Interactive uploads go one per execution (no wait for companions); ingests
   * go 100 per execution, which multiplies what the ingest queue's job-run
   * budget carries (docs/operations.md, "Quotas and queue rates").
   */
  imagesPerExecution: { uploads: 1, ingest: 100 } as Readonly<Record<QueueName, number>>,
  /** Longest wait of a row for its batch to fill before a partial batch goes. */
  batchWindowMs: 10_000,
} as const;

/** Most images per execution a configuration may ask for (Cloud Run allows 10,000 tasks; the argument limit allows ~900 ids). */
export const MAX_IMAGES_PER_EXECUTION = 1000;

/** The relay's tunable settings; defaults in {@link RELAY_DEFAULTS}. */
export interface RelaySettings {
  rowsPerPass: number;
  concurrency: number;
  pollIntervalMs: number;
  initialDelayMs: number;
  maxDelayMs: number;
  maxAttempts: number;
  /** Images per workflow execution, per queue (1: each image alone). */
  imagesPerExecution: Partial<Record<QueueName, number>>;
  batchWindowMs: number;
}

/** Options for {@link createOutboxRelay}. */
export interface OutboxRelayOptions extends Partial<RelaySettings> {
  db: Db;
  repos: Repositories;
  /** The state machine: images whose dispatch the relay gives up on are failed through it. */
  lifecycle: Pick<Lifecycle, 'dispatchFailed'>;
  /** The regenerator: regenerations whose dispatch the relay gives up on are failed through it. */
  regen: Pick<Regenerator, 'dispatchFailed'>;
  dispatcher: TaskDispatcher;
  /** Removes the task of a unit whose images were all deleted while it was created. */
  queuedTasks?: Pick<QueuedTasks, 'cancel'>;
  logger: Logger;
  now?: () => number;
}

/** The running relay. */
export interface OutboxRelay {
  /** Starts the loop (idempotent). */
  start(): void;
  /** Wakes the loop now (a row was just added). */
  notify(): void;
  /** Runs passes until nothing is due; for tests and shutdown drains. Returns rows dispatched. */
  drain(): Promise<number>;
  /** Stops the loop and waits for in-flight dispatches to settle. */
  stop(): Promise<void>;
}

/** The images each queue's executions take, checked against {@link MAX_IMAGES_PER_EXECUTION}. */
function imagesPerExecution(
  asked: Partial<Record<QueueName, number>> | undefined,
): Record<QueueName, number> {
  const sizes: Record<QueueName, number> = {
    ...RELAY_DEFAULTS.imagesPerExecution,
    ...stripUndefined(asked ?? {}),
  };
  for (const queue of QUEUES) {
    const n = sizes[queue];
    if (!Number.isInteger(n) || n < 1 || n > MAX_IMAGES_PER_EXECUTION) {
      throw new TypeError(
        `Expected an integer from 1 to ${MAX_IMAGES_PER_EXECUTION} for imagesPerExecution.${queue} but received ${String(n)} of type ${typeof n}`,
      );
    }
  }
  return sizes;
}

/** Creates the relay (not started). */
export function createOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  const o = { ...RELAY_DEFAULTS, ...stripUndefined(options) };
  const sizes = imagesPerExecution(options.imagesPerExecution);
  const batchedQueues = QUEUES.filter((q) => sizes[q] > 1);
  const batchPlan = {
    repos: options.repos,
    sizes: Object.fromEntries(batchedQueues.map((q) => [q, sizes[q]])),
    rowsPerPass: o.rowsPerPass,
    batchWindowMs: o.batchWindowMs,
    logger: options.logger,
  };
  const now = options.now ?? Date.now;
  const { repos, dispatcher, logger } = options;

  const { finish, settleFailure } = createOutcomeWriter({ ...options, now, policy: o });

  const dispatchUnit = async (unit: DispatchUnit, done: DispatchUnit[]): Promise<boolean> => {
    // The images by the field names of every line on their way (imageId, or a batch's imageIds),
    // and the dispatch key that names the task and labels the execution: an operator follows
    // the image from here to its task's lines by it (docs/operations.md, "Monitoring").
    const context = {
      dispatchKey: unit.key,
      queue: unit.queue,
      images: unit.rows.length,
      ...imageLogFields(unit.argument),
    };
    try {
      const result = await dispatcher.dispatch({
        key: unit.key,
        queue: unit.queue,
        // The workflow passes each generation to the processor and names it in its failure
        // reports, so a late report from this attempt cannot touch a newer generation.
        argument: unit.argument,
      });
      done.push(unit);
      // INFO: the one line between an image's acceptance and its workflow execution.
      logger.info('dispatched', {
        ...context,
        taskName: result.taskName,
        alreadyExisted: result.alreadyExisted,
      });
      return true;
    } catch (error) {
      settleFailure(unit, error, context);
      return false;
    }
  };

  // Tasks created for images deleted meanwhile: each of their outbox rows went with its image.
  // One at a time, so that each cancellation's line names the images of its task.
  const cancelOrphans = async (orphans: DispatchUnit[]) => {
    const { queuedTasks } = options;
    if (queuedTasks === undefined) return;
    for (const unit of orphans) {
      await queuedTasks.cancel([{ key: unit.key, queue: unit.queue }], {
        reason: 'image deleted while its task was created',
        ...imageLogFields(unit.argument),
      });
    }
  };

  const runPass = async (): Promise<number> => {
    formBatches(batchPlan, now());
    const { units, rows } = dueUnits(repos, now(), o.rowsPerPass, batchedQueues);
    let next = 0;
    let ok = 0;
    const done: DispatchUnit[] = [];
    const orphans: DispatchUnit[] = [];
    let doneRows = 0;
    const worker = async () => {
      while (next < units.length) {
        const unit = units[next++];
        if (unit && (await dispatchUnit(unit, done))) {
          ok += unit.rows.length;
          doneRows += unit.rows.length;
        }
        // Commit in chunks so a slow straggler does not hold back finished rows.
        if (doneRows >= 50) {
          doneRows = 0;
          orphans.push(...finish(done.splice(0)));
        }
      }
    };
    try {
      await Promise.all(Array.from({ length: Math.min(o.concurrency, units.length) }, worker));
    } finally {
      orphans.push(...finish(done.splice(0)));
    }
    await cancelOrphans(orphans);
    return rows === 0 ? -1 : ok;
  };

  return createRelayLoop({
    runPass,
    pollIntervalMs: o.pollIntervalMs,
    rowsPerPass: o.rowsPerPass,
    logger,
  });
}

/**
 * What the relay writes after an attempt: dispatched units leave the outbox
 * and their images are marked queued; a failed one is rescheduled or, on the
 * verdict's give-up (dispatch-verdict.ts), its images are failed.
 */
function createOutcomeWriter(w: {
  db: Db;
  repos: Repositories;
  lifecycle: Pick<Lifecycle, 'dispatchFailed'>;
  regen: Pick<Regenerator, 'dispatchFailed'>;
  logger: Logger;
  now: () => number;
  policy: RetryPolicy;
}) {
  const { repos, logger, now } = w;

  // Dispatched rows are deleted in one transaction per chunk (one commit, not one per row). A
  // crash before that commit re-dispatches them, which ALREADY_EXISTS makes harmless. Returns
  // the units none of whose images exist any more: deleted while their task was created.
  const finish = (units: DispatchUnit[]): DispatchUnit[] => {
    if (units.length === 0) return [];
    const at = new Date(now()).toISOString();
    w.db.transaction(() => {
      for (const unit of units) {
        for (const row of unit.rows) {
          repos.outbox.remove(row.id);
          repos.images.markDispatched(row.image_id, row.generation, unit.key, at);
          // A regeneration's row (its own generation, the image's untouched): the same key lets
          // the regenerator ask where its dispatch is (regen/lost-dispatches.ts).
          repos.regen.recordDispatchKey(row.image_id, row.generation, unit.key);
        }
      }
    })();
    return units.filter((unit) => unit.rows.every((row) => !repos.images.get(row.image_id)));
  };

  /** After a failed attempt: reschedule the unit's rows, or give up and fail its images. */
  const settleFailure = (unit: DispatchUnit, error: unknown, context: Record<string, unknown>) => {
    const e = toDispatchError(error);
    const attempts = Math.max(...unit.rows.map((r) => r.attempts)) + 1;
    const verdict = judgeFailedDispatch(e, attempts, w.policy);
    if (verdict.kind === 'give-up') {
      // Regenerations first (they read the rows), then the images waiting on it (the state
      // machine removes the rows), in one transaction.
      const { regenerations, failed } = w.db.transaction(() => ({
        regenerations: w.regen.dispatchFailed(unit.rows, verdict.failure),
        failed: w.lifecycle.dispatchFailed(unit.rows, verdict.failure),
      }))();
      logger.error('dispatch given up; its images and regenerations failed', {
        ...context,
        attempts,
        failed,
        regenerations,
        code: verdict.failure.code,
        error: e,
      });
      return;
    }
    const message = `${e.code}: ${e.message}`.slice(0, 1000);
    w.db.transaction(() => {
      for (const row of unit.rows)
        repos.outbox.reschedule(row.id, now() + verdict.delayMs, message);
    })();
    const log = attempts > 3 ? logger.error : logger.warn;
    log('dispatch failed; will retry', {
      ...context,
      attempts,
      retryInMs: verdict.delayMs,
      error: e,
    });
  };

  return { finish, settleFailure };
}

/**
 * The relay's loop around one pass: a pass at a time; a full pass (or a
 * `notify()` during one) goes again at once; otherwise it sleeps until woken
 * or `pollIntervalMs` passed.
 */
function createRelayLoop(loop: {
  runPass: () => Promise<number>;
  pollIntervalMs: number;
  rowsPerPass: number;
  logger: Logger;
}): OutboxRelay {
  let running = false;
  let wake: (() => void) | undefined;
  let looping: Promise<void> | undefined;
  let pass: Promise<number> | undefined;

  const onePass = (): Promise<number> => {
    pass ??= loop.runPass().finally(() => {
      pass = undefined;
    });
    return pass;
  };

  const sleepUntilWoken = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        wake = undefined;
        resolve();
      }
      wake = done;
    });

  // Set by notify() while a pass runs: a row may have been added after its SELECT.
  let dirty = false;
  const run = async () => {
    while (running) {
      dirty = false;
      let dispatched = -1;
      try {
        dispatched = await onePass();
      } catch (error) {
        loop.logger.error('outbox pass failed', { error: coerceError(error) });
      }
      if (!running) break;
      // A full pass means more may be due: go again at once; otherwise wait.
      if (dirty || dispatched >= loop.rowsPerPass) continue;
      await sleepUntilWoken(loop.pollIntervalMs);
    }
  };

  let notified = false;
  return {
    start() {
      if (running) return;
      running = true;
      looping = run();
    },
    notify() {
      if (notified) return;
      notified = true;
      queueMicrotask(() => {
        notified = false;
        if (wake) wake();
        else dirty = true;
      });
    },
    async drain() {
      let total = 0;
      for (let i = 0; i < 10_000; i++) {
        const n = await onePass();
        if (n <= 0) break;
        total += n;
      }
      return total;
    },
    async stop() {
      running = false;
      wake?.();
      await looping;
      await pass;
    },
  };
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
